// A small fluent writer for building protocol messages.
//
// One scratch buffer is reused across messages; `build()` copies the finished
// message out into an exactly-sized Buffer (the caller may keep or write it
// asynchronously, so the scratch buffer itself is never handed out).
// Every message starts with 5 reserved bytes: the type byte and the int32
// length, patched in by `build()`. A startup packet (no type byte) uses only
// the last 4 of them.

import { ProtocolError } from './types.ts';

const HEADER = 5;
/** Scratch buffers grown beyond this are dropped after the message is built. */
const KEEP_LIMIT = 1 << 20;

export class BufferWriter {
  private buf: Buffer;
  private pos = HEADER;

  constructor(private readonly initialSize = 1024) {
    this.buf = Buffer.allocUnsafe(Math.max(initialSize, 64));
  }

  /** Discards anything written so far and starts a new message. */
  reset(): this {
    this.pos = HEADER;
    return this;
  }

  /** Bytes written since the last reset (the message body). */
  get length(): number {
    return this.pos - HEADER;
  }

  int8(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  int16(v: number): this {
    this.ensure(2);
    this.pos = this.buf.writeInt16BE(v, this.pos);
    return this;
  }

  uint16(v: number): this {
    this.ensure(2);
    this.pos = this.buf.writeUInt16BE(v, this.pos);
    return this;
  }

  int32(v: number): this {
    this.ensure(4);
    this.pos = this.buf.writeInt32BE(v, this.pos);
    return this;
  }

  /** OIDs are unsigned 32-bit on the wire. */
  uint32(v: number): this {
    this.ensure(4);
    this.pos = this.buf.writeUInt32BE(v, this.pos);
    return this;
  }

  /** UTF-8 text followed by a NUL terminator. A NUL inside the text cannot be represented. */
  cstring(s: string): this {
    if (s.includes('\0')) throw new ProtocolError('cannot encode a string containing a NUL byte');
    this.ensure(s.length * 3 + 1);
    this.pos += this.buf.write(s, this.pos, 'utf8');
    this.buf[this.pos++] = 0;
    return this;
  }

  /** UTF-8 text without a terminator. */
  string(s: string): this {
    this.ensure(s.length * 3);
    this.pos += this.buf.write(s, this.pos, 'utf8');
    return this;
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /**
   * Finishes the message: with a type byte (a regular message) or without one
   * (`build()` — a startup packet). Returns a fresh Buffer and resets the writer.
   */
  build(type?: number): Buffer {
    const end = this.pos;
    const start = type === undefined ? 1 : 0;
    this.buf.writeInt32BE(end - 1, 1);
    if (type !== undefined) this.buf[0] = type;
    const out = Buffer.allocUnsafe(end - start);
    this.buf.copy(out, 0, start, end);
    this.pos = HEADER;
    if (this.buf.length > KEEP_LIMIT) this.buf = Buffer.allocUnsafe(this.initialSize);
    return out;
  }

  private ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
}
