// Writes a record body straight into bytes: the JSON text of the record
// (what JSON.stringify writes for it), without building it as a string
// first. Concatenated strings must be flattened and encoded again before they
// can be hashed or written, which cost more than the serialisation itself.
import type { AuditEvent } from './types.ts';
import { RanStatementEvent } from './ran-statement.ts';

const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** Members whose values repeat from event to event (ids, names, verdicts, tags): their JSON bytes are kept. */
const REPEATING = new Set(['type', 'session', 'identity', 'upstream', 'fingerprint', 'verdict', 'tag']);
const SKIPPED = new Set(['at', 'type', 'v', 'seq', 'prev', 'hash']);
/** Fingerprints whose statement members are kept (see statementPart): at most about 1 MB of them. */
const MAX_REMEMBERED_STATEMENTS = 256;
const MAX_REMEMBERED_SQL = 1024;

interface StatementSlot {
  /** The text whose members are in bytes. */
  sql: string;
  masked: string[] | undefined;
  bytes: Buffer | null;
  /** The text last written under this fingerprint: kept once it comes again. */
  last: string;
}

/** What writing a member needs to know about its key, looked up once per member. */
interface KeyInfo {
  /** `,"key":` in UTF-8. */
  bytes: Buffer;
  repeating: boolean;
  skipped: boolean;
}

/**
 * Records are written one after another into a slab and handed out as views
 * of it (see take), so sealing a record neither allocates nor copies its
 * bytes, and a batch of consecutive records is written as one range.
 */
const SLAB_BYTES = 64 * 1024;
/** A slab with less room than this left is retired at take(): the next record starts a new one. */
const SLAB_TAIL = 2 * 1024;

export class RecordBytes {
  private buf = Buffer.allocUnsafe(SLAB_BYTES);
  /** Where the record being written begins in buf (records before it were taken). */
  private start = 0;
  private pos = 0;
  private readonly keys = new Map<string, KeyInfo>();
  private readonly quoted = new Map<string, Buffer>();

  /** The body without its closing brace, from offset 0; returns its length. */
  writeOpen(event: AuditEvent, seq: number, prev: string): number {
    if (event instanceof RanStatementEvent) return this.writeRanStatement(event, seq, prev);
    const fields = event as unknown as Record<string, unknown>;
    this.pos = this.start;
    this.ascii(`{"v":1,"seq":${seq}`);
    if (fields.at !== undefined) this.member('at', fields.at);
    if (fields.type !== undefined) this.member('type', fields.type);
    for (const key in fields) {
      const value = fields[key];
      if (value === undefined || typeof value === 'function' || typeof value === 'symbol') continue;
      const info = this.keyInfo(key);
      if (!info.skipped) this.value(info, value);
    }
    this.member64('prev', prev);
    return this.pos - this.start;
  }

  /** Members of the key information used by writeRanStatement, looked up once. */
  private ran: Record<keyof RanStatementEvent, KeyInfo> | null = null;

  /**
   * The same text writeOpen's enumeration gives for this event (its members
   * in declaration order, undefined ones left out), with each member read
   * by name rather than enumerated and looked up.
   */
  private writeRanStatement(e: RanStatementEvent, seq: number, prev: string): number {
    const k = (this.ran ??= {
      at: this.keyInfo('at'), type: this.keyInfo('type'), session: this.keyInfo('session'), identity: this.keyInfo('identity'),
      upstream: this.keyInfo('upstream'), sql: this.keyInfo('sql'), fingerprint: this.keyInfo('fingerprint'), verdict: this.keyInfo('verdict'),
      masked: this.keyInfo('masked'), durationMs: this.keyInfo('durationMs'), rows: this.keyInfo('rows'), tag: this.keyInfo('tag'),
      error: this.keyInfo('error'), result: this.keyInfo('result'),
    });
    this.pos = this.start;
    this.ascii('{"v":1,"seq":');
    this.digits(seq);
    this.atMember(e.at);
    const prefix = this.sessionPrefix(e);
    if (prefix) this.copy(prefix);
    else {
      this.opt(k.type, e.type);
      this.opt(k.session, e.session);
      this.opt(k.identity, e.identity);
      this.opt(k.upstream, e.upstream);
    }
    const statement = this.statementPart(e);
    if (statement) this.copy(statement);
    else this.statementMembers(e);
    this.count(k.durationMs, e.durationMs);
    this.count(k.rows, e.rows);
    this.opt(k.tag, e.tag);
    this.opt(k.error, e.error);
    this.opt(k.result, e.result);
    this.member64('prev', prev);
    return this.pos - this.start;
  }

  /** A member whose value is 64 ASCII characters (a hex digest), copied in a loop (cheaper than a native write for 64 bytes). */
  member64(key: 'prev' | 'hash', value: string): void {
    this.copy(this.keyInfo(key).bytes);
    if (value.length !== 64) throw new Error(`audit: ${key} is not a sha256 digest`);
    this.reserve(66);
    const buf = this.buf;
    let p = this.pos;
    buf[p++] = 0x22;
    for (let i = 0; i < 64; i++) buf[p++] = value.charCodeAt(i);
    buf[p++] = 0x22;
    this.pos = p;
  }

  /** The buffer written into: the record being written is bytes[offset, offset + length), valid until the next write. */
  get bytes(): Buffer {
    return this.buf;
  }

  /** Where the record being written begins in bytes. */
  get offset(): number {
    return this.start;
  }

  /**
   * Hands out the record written so far as a view of the slab and starts the
   * next record after it: the view's bytes are never written again.
   */
  take(): Buffer {
    const record = this.buf.subarray(this.start, this.pos);
    this.start = this.pos;
    if (this.buf.length - this.start < SLAB_TAIL) {
      this.buf = Buffer.allocUnsafe(SLAB_BYTES);
      this.start = this.pos = 0;
    }
    return record;
  }

  /** Makes room for n more bytes; the record written so far is kept (moved to a new slab when this one is full). */
  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const written = this.pos - this.start;
    const grown = Buffer.allocUnsafe(Math.max(written + n, SLAB_BYTES, 2 * written));
    this.buf.copy(grown, 0, this.start, this.pos);
    this.buf = grown;
    this.start = 0;
    this.pos = written;
  }

  /** Per session id: the type, session, identity and upstream members as written, which stay the same for all its statements. */
  private readonly prefixes = new Map<string, { identity: string; upstream: string; bytes: Buffer }>();

  private sessionPrefix(e: RanStatementEvent): Buffer | null {
    const { session, identity, upstream } = e;
    if (typeof session !== 'string' || typeof identity !== 'string' || typeof upstream !== 'string') return null;
    const hit = this.prefixes.get(session);
    if (hit && hit.identity === identity && hit.upstream === upstream) return hit.bytes;
    const k = this.ran!;
    const bytes = Buffer.concat([
      k.type.bytes, this.quotedBytes('statement'), k.session.bytes, this.quotedBytes(session),
      k.identity.bytes, this.quotedBytes(identity), k.upstream.bytes, this.quotedBytes(upstream),
    ]);
    if (this.prefixes.size >= 4096) this.prefixes.clear();
    this.prefixes.set(session, { identity, upstream, bytes });
    return bytes;
  }

  /**
   * Per fingerprint, the sql, fingerprint, verdict and masked members as
   * last written for a text seen twice in a row under it: they repeat for
   * every run of the same statement (a pgbench -M extended record is written
   * in 397 ns with them copied, 592 ns without). Texts with their values
   * written inline (pgbench -M simple, interpolating clients) share a
   * fingerprint and never repeat: they cost a map lookup and two string
   * comparisons (697 ns per record against 650) and are written in place.
   * A hit needs the same text and masked columns,
   * compared by content (a list changed in place must not be written as it
   * was); the verdict of a RanStatementEvent is always allow.
   */
  private readonly statements = new Map<string, StatementSlot>();

  private statementPart(e: RanStatementEvent): Buffer | null {
    const { sql, fingerprint, masked } = e;
    if (typeof sql !== 'string' || sql.length > MAX_REMEMBERED_SQL || typeof fingerprint !== 'string') return null;
    const slot = this.statements.get(fingerprint);
    if (slot === undefined) {
      if (this.statements.size >= MAX_REMEMBERED_STATEMENTS) this.statements.clear();
      this.statements.set(fingerprint, { sql: '', masked: undefined, bytes: null, last: sql });
      return null;
    }
    if (slot.bytes !== null && slot.sql === sql && sameList(slot.masked, masked)) return slot.bytes;
    if (slot.last !== sql) {
      slot.last = sql;
      return null;
    }
    const from = this.pos - this.start;
    this.statementMembers(e);
    const bytes = Buffer.from(this.buf.subarray(this.start + from, this.pos));
    this.pos = this.start + from;
    slot.sql = sql;
    slot.masked = masked && [...masked];
    slot.bytes = bytes;
    return bytes;
  }

  private statementMembers(e: RanStatementEvent): void {
    const k = this.ran!;
    this.opt(k.sql, e.sql);
    this.opt(k.fingerprint, e.fingerprint);
    this.opt(k.verdict, e.verdict);
    this.opt(k.masked, e.masked);
  }

  /** The `at` member as last written: statements finishing in the same millisecond share it (see isoTime). */
  private lastAt: unknown = undefined;
  private lastAtBytes: Buffer | null = null;

  private atMember(at: unknown): void {
    if (at === this.lastAt && this.lastAtBytes !== null) return this.copy(this.lastAtBytes);
    const from = this.pos - this.start;
    this.opt(this.ran!.at, at);
    this.lastAt = at;
    this.lastAtBytes = Buffer.from(this.buf.subarray(this.start + from, this.pos));
  }

  /** A member holding a count or a duration: small whole numbers are written as digits, without a string. */
  private count(key: KeyInfo, value: unknown): void {
    if (typeof value === 'number' && value >= 0 && value <= 0x7fffffff && Number.isInteger(value)) {
      this.copy(key.bytes);
      this.digits(value);
    } else this.opt(key, value);
  }

  /** A whole number in 0 … 2^31-1 (larger ones through String). */
  private digits(n: number): void {
    if (n > 0x7fffffff) return this.ascii(String(n));
    this.reserve(10);
    const buf = this.buf;
    let len = 1;
    for (let x = n; x >= 10; x = (x / 10) | 0) len++;
    let p = this.pos + len;
    this.pos = p;
    let x = n | 0;
    do {
      buf[--p] = 0x30 + (x % 10);
      x = (x / 10) | 0;
    } while (x > 0);
  }

  /** A member, left out when undefined (as enumeration leaves it out). */
  private opt(key: KeyInfo, value: unknown): void {
    if (value !== undefined) this.value(key, value);
  }

  private member(key: string, value: unknown): void {
    this.value(this.keyInfo(key), value);
  }

  private value(key: KeyInfo, value: unknown): void {
    this.copy(key.bytes);
    if (typeof value === 'string') {
      if (key.repeating) return this.copy(this.quotedBytes(value));
      if (!this.plainString(value)) this.text(JSON.stringify(value));
      return;
    }
    if (typeof value === 'number') return this.ascii(Number.isFinite(value) ? String(value) : 'null');
    this.text(JSON.stringify(value));
  }

  /**
   * A string of printable ASCII other than `"` and `\`, quoted, in one pass
   * (most SQL text is): false, with nothing written, for anything else.
   */
  private plainString(s: string): boolean {
    const n = s.length;
    this.reserve(n + 2);
    const buf = this.buf;
    let p = this.pos;
    buf[p++] = 0x22;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return false;
      buf[p++] = c;
    }
    buf[p++] = 0x22;
    this.pos = p;
    return true;
  }

  private keyInfo(key: string): KeyInfo {
    let info = this.keys.get(key);
    if (info === undefined) {
      info = { bytes: Buffer.from(`,${JSON.stringify(key)}:`, 'utf8'), repeating: REPEATING.has(key), skipped: SKIPPED.has(key) };
      if (this.keys.size < 256) this.keys.set(key, info);
    }
    return info;
  }

  private quotedBytes(text: string): Buffer {
    let b = this.quoted.get(text);
    if (b === undefined) {
      if (this.quoted.size >= 4096) this.quoted.clear();
      b = Buffer.from(NEEDS_ESCAPE.test(text) ? JSON.stringify(text) : `"${text}"`, 'utf8');
      this.quoted.set(text, b);
    }
    return b;
  }

  private copy(b: Buffer): void {
    const n = b.length;
    this.reserve(n);
    if (n > 32) {
      this.buf.set(b, this.pos);
      this.pos += n;
      return;
    }
    // Keys and short repeated values: a loop costs less than set()'s call.
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) buf[p++] = b[i];
    this.pos = p;
  }

  /** Text known to be ASCII (numbers, hex, fixed punctuation). */
  ascii(s: string): void {
    this.reserve(s.length);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < s.length; i++) buf[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  /** Any well-formed text, in UTF-8 (at most 3 bytes per UTF-16 unit). */
  private text(s: string): void {
    this.reserve(3 * s.length);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** Length of the record written so far. */
  get length(): number {
    return this.pos - this.start;
  }
}

function sameList(a: string[] | undefined, b: unknown): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (!Array.isArray(b) || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
