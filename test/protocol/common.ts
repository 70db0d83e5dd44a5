// Shared pieces of the wire-level corpus: result records, scoring (policy.md §6
// through test/corpus/score.ts), leak scans over raw bytes and decoded fields,
// session probes, and byte builders for messages the codec cannot express.
import { findLeak } from '../../src/masking/leak-forms.ts';
import { encodeQuery, encodeSync } from '../../src/protocol/index.ts';
import type { Case } from '../corpus/cases.ts';
import { scoreRun } from '../corpus/score.ts';
import type { Outcome } from '../corpus/transports.ts';
import { decodedText, firstError, type Exchange, type Received, type WireClient } from './wire-client.ts';

export type Section = 'A' | 'B' | 'C' | 'D';

/**
 * leak, bypass (a denied statement had a side effect) and crash fail the suite
 * unconditionally; the others fail it unless listed in known-gaps.json.
 * forwarded: a denied statement reached PostgreSQL (which rejected it, no effect).
 * check: a protocol-level expectation of protocol-cases.md was not met.
 */
export type FailClass = 'leak' | 'bypass' | 'crash' | 'forwarded' | 'over-blocking' | 'soft-fail' | 'broken' | 'check';
export const HARD_CLASSES: readonly FailClass[] = ['leak', 'bypass', 'crash'];

export interface Fail {
  cls: FailClass;
  reason: string;
}

export interface ProtoResult {
  section: Section;
  /** Variant or item, e.g. `A2-binary`, `B1`, `D2.7`. */
  variant: string;
  /** The case id for §A, else a short item id. */
  id: string;
  pass: boolean;
  classes: FailClass[];
  reason: string;
  /** Why a pass is special (e.g. a refusal that the variant allows), or n/a. */
  note?: string;
  ms: number;
}

export class Results {
  readonly list: ProtoResult[] = [];
  log?: (line: string) => void;

  add(section: Section, variant: string, id: string, fails: Fail[], ms: number, note?: string): ProtoResult {
    const classes = [...new Set(fails.map((f) => f.cls))];
    const r: ProtoResult = {
      section, variant, id, pass: fails.length === 0, classes,
      reason: fails.map((f) => `[${f.cls}] ${f.reason}`).join('; ') || 'ok', note, ms,
    };
    this.list.push(r);
    this.log?.(`${r.pass ? 'pass' : 'FAIL'} ${variant.padEnd(22)} ${id}${r.pass ? '' : ` ${r.reason}`}`);
    return r;
  }

  /** Runs one check; an exception is a `broken` failure. */
  async check(section: Section, variant: string, id: string, fn: () => Promise<Fail[]>, note?: string): Promise<ProtoResult> {
    const started = Date.now();
    let fails: Fail[];
    try {
      fails = await fn();
    } catch (e) {
      fails = [{ cls: 'broken', reason: `exception: ${(e as Error).stack?.split('\n').slice(0, 3).join(' | ') ?? String(e)}` }];
    }
    return this.add(section, variant, id, fails, Date.now() - started, note);
  }
}

// ------------------------------------------------------------ outcomes and scoring

export function allMessages(exs: readonly Exchange[]): Received[] {
  return exs.flatMap((e) => e.messages);
}

export function allBytes(exs: readonly Exchange[]): Buffer {
  return Buffer.concat(exs.map((e) => e.bytes));
}

/** An Outcome (test/corpus/transports.ts) from raw exchanges: the first error decides. */
export function outcomeOf(exs: readonly Exchange[]): Outcome {
  const msgs = allMessages(exs);
  const err = firstError(msgs);
  const base = {
    transport: 'pg' as const, notices: [], output: allBytes(exs), sessionChanges: [],
    ms: exs.reduce((s, e) => s + e.ms, 0),
  };
  if (err) {
    const status = err.S === 'FATAL' || err.S === 'PANIC' ? 'failed' : 'error';
    return { ...base, status, sqlstate: err.C, message: err.M, detail: `${err.S} ${err.C}: ${err.M}` };
  }
  if (exs.some((e) => e.timedOut)) return { ...base, status: 'timeout', detail: 'no answer in time' };
  if (exs.some((e) => e.closed) && !msgs.some((m) => m.type === 'Z')) return { ...base, status: 'failed', detail: 'connection closed' };
  const tags = msgs.flatMap((m) => (m.msg?.type === 'CommandComplete' ? [m.msg.tag] : []));
  return { ...base, status: 'ok', detail: tags.slice(-1)[0] ?? 'ok' };
}

/** A raw value in the bytes or in the text of any decoded field, or null. */
export function scanLeak(exs: readonly Exchange[], watched: string[]): string | null {
  if (watched.length === 0) return null;
  return findLeak(allBytes(exs), watched) ?? findLeak(decodedText(allMessages(exs)), watched);
}

/**
 * Scores one case run per policy.md §6 (test/corpus/score.ts) and maps the
 * classes: a `bypass` without a side effect is `forwarded`. `refusalOk`: the
 * variant allows the gateway to refuse even an allowed case (binary results of
 * masked columns, protocol-cases.md A2).
 */
export function scoreCase(c: Case, outcome: Outcome, effects: string[], leak: string | null, refusalOk = false): { fails: Fail[]; note?: string } {
  const s = scoreRun(c, { outcome, effects, leak });
  const fails: Fail[] = [];
  let note: string | undefined;
  for (const cls of s.classes) {
    if (cls === 'bypass') fails.push({ cls: effects.length > 0 ? 'bypass' : 'forwarded', reason: s.reason });
    else if (cls === 'over-blocking' && refusalOk && outcome.status === 'error' && (outcome.message ?? '').startsWith('scopegate:')) {
      note = `refused (acceptable for this variant): ${outcome.message}`;
    } else fails.push({ cls: cls as FailClass, reason: s.reason });
  }
  return { fails: dedupe(fails), note };
}

function dedupe(fails: Fail[]): Fail[] {
  const seen = new Set<string>();
  return fails.filter((f) => {
    const k = `${f.cls}\0${f.reason}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export function isRefusal(fields: Record<string, string> | undefined): boolean {
  return !!fields && fields.C === '42501' && (fields.M ?? '').startsWith('scopegate:');
}

export function summary(msgs: readonly Received[], max = 12): string {
  const parts = msgs.map((m) => {
    const x = m.msg;
    if (x?.type === 'ErrorResponse' || x?.type === 'NoticeResponse') return `${m.type}(${x.fields.S} ${x.fields.C} ${(x.fields.M ?? '').slice(0, 80)})`;
    if (x?.type === 'CommandComplete') return `C(${x.tag})`;
    if (x?.type === 'ReadyForQuery') return `Z(${x.status})`;
    return m.type;
  });
  return parts.length > max ? `${parts.slice(0, max).join(' ')} …(+${parts.length - max})` : parts.join(' ');
}

/** Brings a session back to idle: Sync, then ROLLBACK if a transaction is open. Returns the exchanges. */
export async function settle(client: WireClient): Promise<Exchange[]> {
  if (client.closed) return [];
  const out: Exchange[] = [];
  const s = await client.exchange(encodeSync(), { timeoutMs: 5_000 });
  out.push(s);
  const z = [...s.messages].reverse().find((m) => m.msg?.type === 'ReadyForQuery');
  if (z?.msg?.type === 'ReadyForQuery' && z.msg.status !== 'I') out.push(await client.exchange(encodeQuery('ROLLBACK'), { timeoutMs: 5_000 }));
  return out;
}

export const PROBED = ['search_path', 'role', 'session_authorization', 'row_security', 'session_replication_role', 'default_transaction_read_only', 'client_encoding', 'statement_timeout'];

/** The security-relevant session settings, read with SHOW through the gateway (null if that fails). */
export async function probeSession(client: WireClient): Promise<Record<string, string> | null> {
  if (client.closed) return null;
  const ex = await client.exchange(encodeQuery(PROBED.map((p) => `SHOW ${p}`).join('; ')), { timeoutMs: 5_000 });
  const rows = ex.messages.flatMap((m) => (m.msg?.type === 'DataRow' ? [m.msg.values[0]?.toString('utf8') ?? 'NULL'] : []));
  if (rows.length !== PROBED.length) return null;
  return Object.fromEntries(PROBED.map((p, i) => [p, rows[i]]));
}

export function diffSession(base: Record<string, string> | null, now: Record<string, string> | null): string[] {
  if (!base || !now) return [];
  return PROBED.filter((p) => base[p] !== now[p]).map((p) => `session ${p}: ${base[p]} → ${now[p]}`);
}

// ------------------------------------------------------------ byte builders

export function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n | 0);
  return b;
}

export function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

export function int16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
}

export function cstr(s: string | Buffer): Buffer {
  return Buffer.concat([typeof s === 'string' ? Buffer.from(s, 'utf8') : s, Buffer.from([0])]);
}

/** A typed message with the correct length word. */
export function msg(type: string | number, body: Buffer): Buffer {
  const t = typeof type === 'string' ? type.charCodeAt(0) : type;
  return Buffer.concat([Buffer.from([t]), int32(body.length + 4), body]);
}

/** A typed message whose length word says `len`, whatever the body. */
export function msgWithLength(type: string | number, len: number, body: Buffer): Buffer {
  const t = typeof type === 'string' ? type.charCodeAt(0) : type;
  return Buffer.concat([Buffer.from([t]), int32(len), body]);
}

/** A startup packet from an ordered key/value list (duplicates and odd lists allowed). */
export function startupPacket(pairs: ReadonlyArray<string | Buffer>, version = 196608, terminate = true): Buffer {
  const body = Buffer.concat([int32(version), ...pairs.map(cstr), terminate ? Buffer.from([0]) : Buffer.alloc(0)]);
  return Buffer.concat([int32(body.length + 4), body]);
}

/** Query message from raw bytes (for invalid UTF-8, NULs, …). */
export function rawQuery(sql: Buffer): Buffer {
  return msg('Q', cstr(sql));
}

/** Bind with arbitrary format codes and raw parameter lengths. */
export function rawBind(opts: {
  portal?: string; statement?: string; paramFormats?: number[]; params?: Array<Buffer | null | { len: number; data: Buffer }>; resultFormats?: number[];
}): Buffer {
  const parts: Buffer[] = [cstr(opts.portal ?? ''), cstr(opts.statement ?? ''), int16(opts.paramFormats?.length ?? 0)];
  for (const f of opts.paramFormats ?? []) parts.push(int16(f));
  parts.push(int16(opts.params?.length ?? 0));
  for (const p of opts.params ?? []) {
    if (p === null) parts.push(int32(-1));
    else if (Buffer.isBuffer(p)) parts.push(int32(p.length), p);
    else parts.push(int32(p.len), p.data);
  }
  parts.push(int16(opts.resultFormats?.length ?? 0));
  for (const f of opts.resultFormats ?? []) parts.push(int16(f));
  return msg('B', Buffer.concat(parts));
}

/** FunctionCall with text arguments (null = SQL NULL), text result. */
export function functionCall(oid: number, args: Array<string | null>, argFormats: number[] = [0], resultFormat = 0): Buffer {
  const parts: Buffer[] = [uint32(oid), int16(argFormats.length), ...argFormats.map(int16), int16(args.length)];
  for (const a of args) {
    if (a === null) parts.push(int32(-1));
    else {
      const b = Buffer.from(a, 'utf8');
      parts.push(int32(b.length), b);
    }
  }
  parts.push(int16(resultFormat));
  return msg('F', Buffer.concat(parts));
}
