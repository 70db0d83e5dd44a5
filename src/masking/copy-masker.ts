// COPY TO STDOUT: masks the CopyData stream one payload at a time.
//
// Text and csv: Postgres sends one row per CopyData, but rows are framed here
// by their line terminator anyway, so split or merged rows are still masked.
// Binary: the 19-byte header (+ extension area), then tuples (int16 count,
// int32 length + bytes per field), then the int16 -1 trailer; tuples may span
// CopyData messages, so partial tuples are buffered.

import { maskField, type MaskRule } from './strategies.ts';
import type { ColumnMask } from './row-masker.ts';
import { DelimitedRowMasker, findRowEnd, type DelimitedDialect } from './copy-text.ts';
import { MessageSlab, type EmitRange } from './message-slab.ts';
import type { SlabLedger } from './slab-pool.ts';

export interface CopyOptions {
  format: 'text' | 'csv' | 'binary';
  delimiter: string;
  null: string;
  quote: string;
  escape: string;
  header: boolean;
}

const COPY_DATA = 0x64; // 'd'
const LF = 0x0a;
const CR = 0x0d;
const BINARY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const BINARY_HEADER_LENGTH = 19; // signature (11) + flags (4) + extension length (4)
const END_OF_DATA = Buffer.from('\\.', 'latin1');

interface Delimited {
  dialect: DelimitedDialect;
  rows: DelimitedRowMasker;
}

export class CopyMasker {
  private readonly active: boolean;
  private readonly strategies: (MaskRule | null)[];
  /** Text and csv only (null for binary): how rows are framed and masked. */
  private readonly delimited: Delimited | null = null;
  private headerPending: boolean;
  /** Bytes received but not yet forwarded (a partial row or tuple). */
  private pending: Buffer[] = [];
  private pendingLength = 0;
  /** Binary: how many pending bytes the next parse attempt needs at least. */
  private need = 0;
  private stage: 'header' | 'tuples' | 'done' = 'header';
  private readonly out: MessageSlab;

  constructor(
    opts: CopyOptions,
    masks: (ColumnMask | null)[],
    private readonly columnTypeOids: number[],
    private readonly hashKey: Buffer,
    ledger: SlabLedger | null = null,
  ) {
    this.out = new MessageSlab(ledger);
    if (masks.length !== columnTypeOids.length) {
      throw new Error(`masking: ${masks.length} column masks for ${columnTypeOids.length} COPY columns`);
    }
    this.strategies = masks.map((m) => (m === null ? null : m.strategy));
    this.active = this.strategies.some((s) => s !== null);
    this.headerPending = opts.header && opts.format !== 'binary';
    if (opts.format !== 'binary') {
      const csv = opts.format === 'csv';
      const dialect: DelimitedDialect = {
        csv,
        delimiter: singleByte('delimiter', opts.delimiter),
        quote: csv ? singleByte('quote', opts.quote) : 0x22,
        escape: csv ? singleByte('escape', opts.escape) : 0x22,
        nullString: Buffer.from(opts.null, 'utf8'),
      };
      if (dialect.delimiter === LF || dialect.delimiter === CR || (!csv && dialect.delimiter === 0x5c)) {
        throw new Error('masking: unsupported COPY delimiter');
      }
      this.delimited = { dialect, rows: new DelimitedRowMasker(dialect, this.strategies, columnTypeOids, hashKey) };
    }
  }

  /**
   * Masks one CopyData payload; returns the payloads to forward (none while a
   * row is incomplete). A buffered `data` is kept by reference: do not reuse it.
   */
  maskChunk(data: Buffer): Buffer[] {
    if (!this.active) return data.length > 0 ? [data] : [];
    return this.delimited === null ? this.binaryChunk(data) : this.delimitedChunk(data, this.delimited);
  }

  /**
   * Masks the CopyData messages lying back to back in source[start, end) and
   * hands the rewritten messages to `emit` in as few slices as the slabs allow.
   * Text and csv rows that arrive whole (as Postgres sends them, one per
   * message) are written straight into the slab; anything else (a header
   * line, a row split across messages, binary) goes through maskChunk.
   */
  maskRun(source: Buffer, start: number, end: number, emit: EmitRange): void {
    const out = this.out;
    out.beginRun(emit);
    try {
      for (let pos = start; pos < end; ) {
        if (source[pos] !== COPY_DATA || pos + 5 > end) throw new Error('masking: not a CopyData message');
        const next = pos + 1 + source.readInt32BE(pos + 1);
        if (next > end || next < pos + 5) throw new Error('masking: CopyData overruns its batch');
        const wholeRows = this.active && this.delimited !== null && this.pendingLength === 0 && !this.headerPending;
        if (wholeRows) this.writeRows(source, pos + 5, next, this.delimited!);
        else for (const part of this.maskChunk(source.subarray(pos + 5, next))) this.writeMessage(part);
        pos = next;
      }
    } catch (err) {
      out.abandonRun();
      throw err;
    }
    out.endRun();
  }

  /** Each complete row of data[from, to) as one CopyData message; an incomplete last row waits in pending. */
  private writeRows(data: Buffer, from: number, to: number, { dialect, rows }: Delimited): void {
    const out = this.out;
    let p = from;
    while (p < to) {
      const lf = findRowEnd(data, p, dialect, to);
      if (lf === -1) {
        this.stash(Buffer.from(data.subarray(p, to)));
        return;
      }
      let bodyEnd = lf;
      if (bodyEnd > p && data[bodyEnd - 1] === CR) bodyEnd--;
      out.beginMessage(lf + 1 - p);
      if (!dialect.csv && bodyEnd - p === END_OF_DATA.length && data.compare(END_OF_DATA, 0, 2, p, bodyEnd) === 0) out.copy(data, p, lf + 1);
      else rows.writeRow(data, p, bodyEnd, lf + 1, out);
      out.endMessage(COPY_DATA);
      p = lf + 1;
    }
  }

  private writeMessage(payload: Buffer): void {
    this.out.beginMessage(payload.length);
    this.out.copy(payload, 0, payload.length);
    this.out.endMessage(COPY_DATA);
  }

  /** Done with this COPY: the slab goes to the ledger once what it holds is handed over. */
  close(): void {
    this.out.close();
  }

  /** Call at CopyDone: flushes a last row without terminator; throws on a truncated binary tuple. */
  finish(): Buffer[] {
    if (!this.active || this.pendingLength === 0) return [];
    const rest = this.takePending();
    if (this.delimited === null) throw new Error('masking: COPY binary data ends inside a tuple');
    return [this.maskLine(rest, 0, rest.length, this.delimited)];
  }

  // ---------------------------------------------------------------- text / csv

  private delimitedChunk(data: Buffer, delimited: Delimited): Buffer[] {
    if (this.pendingLength > 0 && data.indexOf(LF) === -1) {
      this.stash(data); // no row can end in this chunk
      return [];
    }
    const buf = this.pendingLength > 0 ? Buffer.concat([this.takePending(), data]) : data;
    const out: Buffer[] = [];
    let pos = 0;
    while (pos < buf.length) {
      const lf = findRowEnd(buf, pos, delimited.dialect);
      if (lf === -1) break;
      out.push(this.maskLine(buf, pos, lf + 1, delimited));
      pos = lf + 1;
    }
    if (pos < buf.length) this.stash(Buffer.from(buf.subarray(pos)));
    return out;
  }

  /** Masks the row buf[start, end) (which may end with LF or CRLF), keeping its terminator. */
  private maskLine(buf: Buffer, start: number, end: number, { dialect, rows }: Delimited): Buffer {
    const row = buf.subarray(start, end);
    let bodyEnd = row.length;
    if (bodyEnd > 0 && row[bodyEnd - 1] === LF) bodyEnd--;
    if (bodyEnd > 0 && row[bodyEnd - 1] === CR) bodyEnd--;
    if (this.headerPending) {
      this.headerPending = false; // column names only
      return row;
    }
    if (!dialect.csv && bodyEnd === END_OF_DATA.length && row.compare(END_OF_DATA, 0, 2, 0, 2) === 0) return row;
    return rows.maskRow(row, bodyEnd);
  }

  // ---------------------------------------------------------------- binary

  private binaryChunk(data: Buffer): Buffer[] {
    if (this.stage === 'done') {
      if (data.length > 0) throw new Error('masking: COPY binary data after the trailer');
      return [];
    }
    this.stash(data);
    if (this.pendingLength < this.need) return [];
    const buf = this.takePending();
    const pieces: Buffer[] = [];
    let pos = 0;
    let copyFrom = 0; // start of the bytes not yet added to pieces
    this.need = 0;

    if (this.stage === 'header') {
      const headerEnd = parseBinaryHeader(buf);
      if (headerEnd < 0) {
        this.need = -headerEnd;
        this.stash(buf);
        return [];
      }
      pos = headerEnd;
      this.stage = 'tuples';
    }

    const columnCount = this.strategies.length;
    while (this.stage === 'tuples') {
      if (pos + 2 > buf.length) {
        this.need = 2;
        break;
      }
      const count = buf.readInt16BE(pos);
      if (count === -1) {
        pos += 2;
        this.stage = 'done';
        if (pos !== buf.length) throw new Error('masking: COPY binary data after the trailer');
        break;
      }
      if (count !== columnCount) throw new Error(`masking: COPY tuple has ${count} fields, expected ${columnCount}`);
      const tupleEnd = this.binaryTupleEnd(buf, pos, columnCount);
      if (tupleEnd < 0) {
        this.need = -tupleEnd - pos;
        break;
      }
      // The tuple is complete: replace its masked fields.
      let p = pos + 2;
      for (let col = 0; col < columnCount; col++) {
        const len = buf.readInt32BE(p);
        const size = len > 0 ? len : 0;
        const strategy = this.strategies[col];
        if (strategy !== null && len !== -1) {
          const masked = maskField(strategy, buf.subarray(p + 4, p + 4 + size), this.columnTypeOids[col], 1, this.hashKey);
          pieces.push(buf.subarray(copyFrom, p), lengthWord(masked));
          if (masked !== null) pieces.push(masked);
          copyFrom = p + 4 + size;
        }
        p += 4 + size;
      }
      pos = tupleEnd;
    }
    pieces.push(buf.subarray(copyFrom, pos));
    if (pos < buf.length) this.stash(Buffer.from(buf.subarray(pos)));
    const out = Buffer.concat(pieces);
    return out.length > 0 ? [out] : [];
  }

  /** End of the tuple at `pos`, or -(bytes needed from the buffer start) if it is incomplete. */
  private binaryTupleEnd(buf: Buffer, pos: number, columnCount: number): number {
    let p = pos + 2;
    for (let col = 0; col < columnCount; col++) {
      if (p + 4 > buf.length) return -(p + 4);
      const len = buf.readInt32BE(p);
      if (len < -1) throw new Error(`masking: invalid COPY binary field length ${len}`);
      p += 4;
      if (len > 0) {
        if (p + len > buf.length) return -(p + len);
        p += len;
      }
    }
    return p;
  }

  // ---------------------------------------------------------------- buffering

  private stash(data: Buffer): void {
    if (data.length === 0) return;
    this.pending.push(data);
    this.pendingLength += data.length;
  }

  private takePending(): Buffer {
    const buf = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingLength);
    this.pending = [];
    this.pendingLength = 0;
    return buf;
  }
}

/** Length of the binary COPY header, or -(bytes needed) if incomplete. Throws on a bad header. */
function parseBinaryHeader(buf: Buffer): number {
  if (buf.length < BINARY_HEADER_LENGTH) {
    const seen = Math.min(buf.length, BINARY_SIGNATURE.length);
    if (buf.compare(BINARY_SIGNATURE, 0, seen, 0, seen) !== 0) throw new Error('masking: bad COPY binary signature');
    return -BINARY_HEADER_LENGTH;
  }
  if (buf.compare(BINARY_SIGNATURE, 0, 11, 0, 11) !== 0) throw new Error('masking: bad COPY binary signature');
  const flags = buf.readUInt32BE(11);
  // Bit 16 means every tuple carries an OID; bits 17-31 are critical flags we do not know.
  if ((flags & 0xffff0000) !== 0) throw new Error(`masking: unsupported COPY binary flags ${flags.toString(16)}`);
  const end = BINARY_HEADER_LENGTH + buf.readUInt32BE(15);
  return end <= buf.length ? end : -end;
}

function lengthWord(value: Buffer | null): Buffer {
  const word = Buffer.allocUnsafe(4);
  word.writeInt32BE(value === null ? -1 : value.length, 0);
  return word;
}

function singleByte(name: string, value: string): number {
  if (value.length !== 1 || value.charCodeAt(0) > 0x7f) {
    throw new Error(`masking: COPY ${name} must be a single ASCII character, got ${JSON.stringify(value)}`);
  }
  return value.charCodeAt(0);
}
