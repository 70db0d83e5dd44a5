// The hash chain. A record's line is the JSON text of
//   { v: 1, seq, at, type, ...event fields, prev, hash }
// where `hash` is the sha256 (hex) of that same text without its final
// `,"hash":"…"` member (the "body"), and `prev` is the previous record's hash.
// The body is hashed byte for byte as written, so any edit to a line, even
// whitespace, changes its hash; no re-serialisation is needed to verify.
import * as crypto from 'node:crypto';
import type { AuditEvent, AuditRecord } from './types.ts';
import { RecordBytes } from './record-bytes.ts';

export const GENESIS = '0'.repeat(64);

export interface ChainHead {
  /** seq of the last record (0 before the first). */
  seq: number;
  /** hash of the last record (GENESIS before the first). */
  hash: string;
}

/** One record, serialised and hashed once, shared by every sink that writes it. */
export class SealedRecord {
  private text: string | undefined;

  constructor(
    readonly seq: number,
    readonly hash: string,
    /** The line in UTF-8, newline included: what a file or stream receives. */
    readonly bytes: Buffer,
  ) {}

  /** The JSON line, without a trailing newline (decoded when a sink asks for text). */
  get line(): string {
    return (this.text ??= this.bytes.toString('utf8', 0, this.bytes.length - 1));
  }
}

// crypto.hash (Node ≥ 20.12) is the one-shot digest, about twice as fast for short lines.
const oneShot = (crypto as { hash?: (algorithm: string, data: string | Buffer, encoding: 'hex') => string }).hash;

export function sha256Hex(data: string | Buffer): string {
  return oneShot ? oneShot('sha256', data, 'hex') : crypto.createHash('sha256').update(data).digest('hex');
}

/** `,"hash":"` + 64 hex digits + `"}` + newline. */
const HASH_TAIL = 9 + 64 + 3;

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

  /** Where records are written: one slab after another, each record a view of it. */
  private readonly writer = new RecordBytes();

  /**
   * Give the event the next seq, link it to the previous record and hash it:
   * the body is written once, as UTF-8 bytes, and one sha256 covers them.
   */
  seal(event: AuditEvent): SealedRecord {
    const seq = this.seq + 1;
    const w = this.writer;
    const n = w.writeOpen(event, seq, this.hash);
    w.reserve(HASH_TAIL);
    const start = w.offset;
    const buf = w.bytes;
    buf[start + n] = 0x7d; // }
    const hash = sha256Hex(buf.subarray(start, start + n + 1));
    w.member64('hash', hash);
    w.ascii('}\n');
    const bytes = w.take();
    this.seq = seq;
    this.hash = hash;
    return new SealedRecord(seq, hash, bytes);
  }
}

/**
 * The lines of records in order, as one buffer: a view of their slab when
 * they were sealed one after another (the usual batch), a copy otherwise.
 */
export function joinRecords(records: readonly SealedRecord[]): Buffer {
  if (records.length === 0) return Buffer.alloc(0);
  if (records.length === 1) return records[0].bytes;
  const first = records[0].bytes;
  let end = first.byteOffset + first.length;
  let bytes = first.length;
  let contiguous = true;
  for (let i = 1; i < records.length; i++) {
    const b = records[i].bytes;
    bytes += b.length;
    if (contiguous && (b.buffer !== first.buffer || b.byteOffset !== end)) contiguous = false;
    end = b.byteOffset + b.length;
  }
  if (contiguous) return Buffer.from(first.buffer, first.byteOffset, bytes);
  const out = Buffer.allocUnsafe(bytes);
  let at = 0;
  for (const r of records) at += r.bytes.copy(out, at);
  return out;
}

/**
 * The record body as text: { v, seq, at, type, ...the event's other fields
 * in their order, prev }, exactly as JSON.stringify would write it (undefined
 * members left out). Sealing writes the same bytes without this string.
 */
export function serialise(event: AuditEvent, seq: number, prev: string): string {
  const w = new RecordBytes();
  const n = w.writeOpen(event, seq, prev);
  return `${w.bytes.toString('utf8', 0, n)}}`;
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
