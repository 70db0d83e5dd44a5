// The hash chain. A record's line is the JSON text of
//   { v: 1, seq, at, type, ...event fields, prev, hash }
// where `hash` is the sha256 (hex) of that same text without its final
// `,"hash":"…"` member (the "body"), and `prev` is the previous record's hash.
// The body is hashed byte for byte as written, so any edit to a line, even
// whitespace, changes its hash; no re-serialisation is needed to verify.
import * as crypto from 'node:crypto';
import type { AuditEvent, AuditRecord } from './types.ts';

export const GENESIS = '0'.repeat(64);

export interface ChainHead {
  /** seq of the last record (0 before the first). */
  seq: number;
  /** hash of the last record (GENESIS before the first). */
  hash: string;
}

/** One record, serialised and hashed once, shared by every sink that writes it. */
export class SealedRecord {
  constructor(
    readonly seq: number,
    readonly hash: string,
    /** The JSON line, without a trailing newline. */
    readonly line: string,
  ) {}
}

// crypto.hash (Node ≥ 20.12) is the one-shot digest, about twice as fast for short lines.
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

export function sha256Hex(text: string): string {
  return oneShot ? oneShot('sha256', text, 'hex') : crypto.createHash('sha256').update(text, 'utf8').digest('hex');
}

export class HashChain {
  private seq: number;
  private hash: string;

  constructor(head: ChainHead = { seq: 0, hash: GENESIS }) {
    this.seq = head.seq;
    this.hash = head.hash;
  }

  get head(): ChainHead {
    return { seq: this.seq, hash: this.hash };
  }

  /** Give the event the next seq, link it to the previous record and hash it: one stringify, one sha256. */
  seal(event: AuditEvent): SealedRecord {
    const seq = this.seq + 1;
    // v, seq, at, type first for readers; the event's own key order after; prev last (hash is appended).
    const fields: Record<string, unknown> = { v: 1, seq, at: event.at, type: event.type };
    Object.assign(fields, event);
    fields.prev = this.hash;
    const body = JSON.stringify(fields);
    const hash = sha256Hex(body);
    this.seq = seq;
    this.hash = hash;
    return new SealedRecord(seq, hash, `${body.slice(0, -1)},"hash":"${hash}"}`);
  }
}

const HASH_SUFFIX = /,"hash":"([0-9a-f]{64})"\}$/;

export type LineCheck =
  | { ok: true; record: AuditRecord }
  | { ok: false; problem: 'malformed'; detail: string }
  | { ok: false; problem: 'edited'; record: AuditRecord; detail: string };

/** Parse one line and check its own hash (not its link to the previous line). */
export function checkLine(line: string): LineCheck {
  let record: AuditRecord;
  try {
    record = JSON.parse(line) as AuditRecord;
  } catch {
    return { ok: false, problem: 'malformed', detail: 'not JSON' };
  }
  if (
    record === null || typeof record !== 'object' || record.v !== 1 || !Number.isSafeInteger(record.seq) || record.seq < 1 ||
    typeof record.prev !== 'string' || typeof record.hash !== 'string' || typeof record.type !== 'string'
  ) {
    return { ok: false, problem: 'malformed', detail: 'not an audit record (v, seq, prev, hash, type)' };
  }
  const m = HASH_SUFFIX.exec(line);
  if (!m) return { ok: false, problem: 'edited', record, detail: 'hash is not the last member of the line' };
  const body = line.slice(0, m.index) + '}';
  if (sha256Hex(body) !== m[1]) return { ok: false, problem: 'edited', record, detail: 'hash does not match the line' };
  return { ok: true, record };
}
