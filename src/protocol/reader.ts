// A strict cursor over one message body. Every read is bounds-checked and
// failures are ProtocolErrors naming the message, so decoders stay one line
// per field. Buffers returned by `bytes()` are subarrays (no copy).

import { isUtf8 } from 'node:buffer';
import { ProtocolError } from './types.ts';

type Slicer = (this: Buffer, start: number, end: number) => string;
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice?: Slicer }).latin1Slice;

/**
 * buf[start, end) as Latin-1 text (for ASCII: the text itself). Calls the
 * slicer behind toString('latin1') directly when Node has it, skipping the
 * encoding-name lookup that costs more than the slice for short strings.
 */
export const latin1: (buf: Buffer, start: number, end: number) => string = latin1Slice
  ? (buf, start, end) => latin1Slice.call(buf, start, end)
  : (buf, start, end) => buf.toString('latin1', start, end);

export class BufferReader {
  pos = 0;

  constructor(
    readonly body: Buffer,
    /** Message name used in error messages. */
    readonly what: string,
    /** Reject text that is not valid UTF-8 (frontend input) instead of decoding it lossily. */
    readonly strictUtf8 = true,
  ) {}

  get remaining(): number {
    return this.body.length - this.pos;
  }

  fail(reason: string, code?: string): never {
    throw new ProtocolError(`invalid ${this.what} message: ${reason}`, code);
  }

  private need(n: number, field: string): void {
    if (this.body.length - this.pos < n) this.fail(`truncated ${field}`);
  }

  int8(field = 'byte'): number {
    this.need(1, field);
    return this.body[this.pos++];
  }

  int16(field = 'int16'): number {
    this.need(2, field);
    const v = this.body.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  /** Counts are unsigned 16-bit on the wire. */
  uint16(field = 'count'): number {
    this.need(2, field);
    const v = this.body.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(field = 'int32'): number {
    this.need(4, field);
    const v = this.body.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** OIDs are unsigned 32-bit on the wire. */
  uint32(field = 'oid'): number {
    this.need(4, field);
    const v = this.body.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  bytes(n: number, field = 'bytes'): Buffer {
    this.need(n, field);
    const b = this.body.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  /** The rest of the body (possibly empty). */
  rest(): Buffer {
    const b = this.body.subarray(this.pos);
    this.pos = this.body.length;
    return b;
  }

  /** A NUL-terminated string that must end inside the body. */
  cstring(field = 'string'): string {
    if (this.body.length - this.pos <= 1024) return this.shortCstring(field);
    const end = this.body.indexOf(0, this.pos);
    if (end < 0) this.fail(`${field} is not NUL-terminated`);
    const s = this.text(this.body.subarray(this.pos, end), field);
    this.pos = end + 1;
    return s;
  }

  /** cstring for short bodies (names, most SQL): one pass finds the end and whether the text is ASCII. */
  private shortCstring(field: string): string {
    const body = this.body;
    const start = this.pos;
    let ascii = true;
    let end = start;
    for (; end < body.length; end++) {
      const b = body[end];
      if (b === 0) break;
      if (b >= 0x80) ascii = false;
    }
    if (end === body.length) this.fail(`${field} is not NUL-terminated`);
    this.pos = end + 1;
    if (end === start) return '';
    return ascii ? latin1(body, start, end) : this.text(body.subarray(start, end), field);
  }

  /** A format code: only 0 (text) and 1 (binary) exist. */
  format(field = 'format code'): 0 | 1 {
    const v = this.int16(field);
    if (v !== 0 && v !== 1) this.fail(`${field} ${v} is neither 0 (text) nor 1 (binary)`);
    return v;
  }

  text(raw: Buffer, field: string): string {
    if (this.strictUtf8 && !isUtf8(raw)) this.fail(`${field} is not valid UTF-8`, '22021');
    return raw.toString('utf8');
  }

  /** Every decoder ends with this: a well-formed message has no trailing bytes. */
  end(): void {
    if (this.pos !== this.body.length) this.fail(`${this.body.length - this.pos} unexpected trailing byte(s)`);
  }
}
