// Incremental framing: a byte stream in, whole messages out.
//
// Lengths are validated as soon as a header is complete — before the body is
// waited for — so a peer can never make us buffer more than the limit for
// the message it announced. Chunks are kept in a list; a message that lies
// inside one chunk is returned as a subarray of it (no copy), and only a
// message spanning chunks is copied, once, into a buffer of its exact size.

import { int32At } from './int32.ts';
import { ProtocolError } from './types.ts';

export interface FrameLimits {
  /** Startup packets (StartupMessage, SSLRequest, GSSENCRequest, CancelRequest), total length. */
  maxStartup: number;
  /** Body length of frontend Query, Parse, Bind, CopyData, FunctionCall and of every backend message. */
  maxMessage: number;
  /** Body length of every other frontend message. */
  maxSmall: number;
}

export const defaultFrameLimits: Readonly<FrameLimits> = Object.freeze({
  maxStartup: 10_000,
  maxMessage: 64 * 1024 * 1024,
  maxSmall: 10_000,
});

/** Which peer produces the stream: 'frontend' = a client talking to us, 'backend' = an upstream server. */
export type Direction = 'frontend' | 'backend';

export interface RawMessage {
  /** Type byte; 0 for startup packets. */
  readonly type: number;
  /** Payload after the length word. */
  readonly body: Buffer;
  /** The whole message, type byte and length included (forwardable as is). */
  readonly raw: Buffer;
  /** The received buffer the message lies in, and where: raw is source[start, end). */
  readonly source: Buffer;
  readonly start: number;
  readonly end: number;
}

/**
 * Most messages are forwarded whole, and forwarded by position in the chunk
 * they arrived in (see OutputBatch.pushRange), so neither view is cut unless
 * asked for.
 */
class Frame implements RawMessage {
  private whole: Buffer | null = null;
  private cut: Buffer | null = null;

  constructor(
    readonly type: number,
    readonly source: Buffer,
    readonly start: number,
    readonly end: number,
    private readonly headerSize: number,
  ) {}

  get raw(): Buffer {
    if (this.whole === null) {
      const s = this.source;
      this.whole = this.start === 0 && this.end === s.length ? s : s.subarray(this.start, this.end);
    }
    return this.whole;
  }

  get body(): Buffer {
    return (this.cut ??= this.source.subarray(this.start + this.headerSize, this.end));
  }
}

/** Consecutive messages of one type, back to back in one received chunk: source[start, end). */
export interface MessageRun {
  source: Buffer;
  start: number;
  end: number;
  count: number;
}

/** Frontend message types whose body may use `maxMessage`; all others get `maxSmall`. */
export const FRONTEND_LARGE_TYPES: readonly string[] = ['Q', 'P', 'B', 'd', 'F'];

/** Body limit for one message type sent by a client. */
export function frontendLimit(type: number, limits: FrameLimits): number {
  return FRONTEND_LARGE_TYPES.includes(String.fromCharCode(type)) ? limits.maxMessage : limits.maxSmall;
}

/** Body limit for one message type sent by a server: rows, errors and notifications may all be large. */
export function backendLimit(_type: number, limits: FrameLimits): number {
  return limits.maxMessage;
}

function limitTable(direction: Direction, limits: FrameLimits): Float64Array {
  const table = new Float64Array(256);
  const limitOf = direction === 'frontend' ? frontendLimit : backendLimit;
  for (let t = 0; t < 256; t++) table[t] = limitOf(t, limits);
  return table;
}

export function describeType(type: number): string {
  return type >= 0x20 && type < 0x7f ? `'${String.fromCharCode(type)}'` : `0x${type.toString(16).padStart(2, '0')}`;
}

export class MessageFramer {
  private readonly limitByType: Float64Array;
  private chunks: Buffer[] = [];
  /** Index of the first unconsumed chunk and the read offset inside it. */
  private head = 0;
  private offset = 0;
  private total = 0;
  /** Parsed header of the message at the head: its type and whole size, or -1 when not yet parsed. */
  private pendingType = 0;
  private pendingSize = -1;
  private headerSize: number;
  private startup: boolean;
  private failure: ProtocolError | null = null;
  private readonly scratch = Buffer.alloc(5);

  constructor(
    private readonly limits: FrameLimits = defaultFrameLimits,
    readonly direction: Direction = 'frontend',
  ) {
    this.limitByType = limitTable(direction, limits);
    this.startup = direction === 'frontend';
    this.headerSize = this.startup ? 4 : 5;
  }

  /**
   * True while the next packet is a startup packet (no type byte). Starts true
   * for the frontend direction and turns false by itself once a startup packet
   * is returned; set it back to true after answering 'N' to an SSLRequest or
   * GSSENCRequest.
   */
  get startupMode(): boolean {
    return this.startup;
  }

  set startupMode(on: boolean) {
    this.startup = on;
    this.headerSize = on ? 4 : 5;
    this.pendingSize = -1;
  }

  /** Bytes received but not yet returned as messages. */
  get buffered(): number {
    return this.total;
  }

  /** Adds bytes; throws ProtocolError at once if the next message's header is invalid or over its limit. */
  push(chunk: Buffer): void {
    if (this.failure) throw this.failure;
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
    if (this.pendingSize < 0) this.parseHeader();
  }

  /** The next complete message, or null until more bytes arrive. */
  next(): RawMessage | null {
    if (this.failure) throw this.failure;
    if (this.pendingSize < 0 && !this.parseHeader()) return null;
    const size = this.pendingSize;
    if (this.total < size) return null;

    const chunk = this.chunks[this.head];
    let frame: Frame;
    if (chunk.length - this.offset >= size) {
      const start = this.offset;
      frame = new Frame(this.pendingType, chunk, start, start + size, this.headerSize);
      this.offset += size;
      if (this.offset === chunk.length) this.dropHead();
    } else {
      const raw = Buffer.allocUnsafe(size);
      this.copyOut(raw, size);
      frame = new Frame(this.pendingType, raw, 0, size, this.headerSize);
    }
    this.total -= size;
    this.pendingSize = -1;
    if (this.startup) this.startupMode = false;
    return frame;
  }

  /**
   * Consumes the consecutive complete messages of one type that sit at the
   * head of the buffered data in a single received chunk, and returns where
   * they lie with their count (null when the next message is of another type
   * or incomplete). Streams of DataRows that need no rewriting pass through
   * this without an object per row. Every header is checked as next() checks it.
   */
  takeRun(type: number): MessageRun | null {
    if (this.failure) throw this.failure;
    if (this.startup) return null;
    if (this.pendingSize < 0 && !this.parseHeader()) return null;
    if (this.pendingType !== type) return null;
    const chunk = this.chunks[this.head];
    const available = chunk.length;
    const limit = this.limitByType[type];
    const start = this.offset;
    let end = start;
    let count = 0;
    // Locals rather than the framer's fields: this loop runs once per row of a large result.
    for (let size = this.pendingSize; available - end >= size; ) {
      end += size;
      count++;
      if (available - end < 5 || chunk[end] !== type) break; // next() takes it from here
      const len = int32At(chunk, end + 1); // the 5 header bytes are in this chunk (checked above)
      if (len < 4 || len - 4 > limit) break; // let next() report it
      size = len + 1;
    }
    if (count === 0) return null;
    // Leave the framer exactly as if next() had returned these messages one by one.
    this.total -= end - start;
    this.offset = end;
    this.pendingSize = -1;
    if (this.offset === chunk.length) this.dropHead();
    return { source: chunk, start, end, count };
  }

  private parseHeader(): boolean {
    const n = this.headerSize;
    if (this.total < n) return false;
    const chunk = this.chunks[this.head];
    let hdr: Buffer;
    let at: number;
    if (chunk.length - this.offset >= n) {
      hdr = chunk;
      at = this.offset;
    } else {
      hdr = this.scratch;
      at = 0;
      this.peek(hdr, n);
    }
    if (this.startup) {
      const len = hdr.readInt32BE(at);
      if (len < 8 || len > this.limits.maxStartup) {
        this.fail(`invalid startup packet length ${len} (allowed 8..${this.limits.maxStartup})`);
      }
      this.pendingType = 0;
      this.pendingSize = len;
    } else {
      const type = hdr[at];
      const len = hdr.readInt32BE(at + 1);
      if (len < 4) this.fail(`invalid length ${len} for message type ${describeType(type)}`);
      const limit = this.limitByType[type];
      if (len - 4 > limit) {
        this.fail(`message type ${describeType(type)} of ${len - 4} bytes exceeds the limit of ${limit} bytes`);
      }
      this.pendingType = type;
      this.pendingSize = len + 1;
    }
    return true;
  }

  /** Copies the first n buffered bytes into dst without consuming them. */
  private peek(dst: Buffer, n: number): void {
    let copied = 0;
    let i = this.head;
    let off = this.offset;
    while (copied < n) {
      const c = this.chunks[i++];
      copied += c.copy(dst, copied, off, Math.min(c.length, off + n - copied));
      off = 0;
    }
  }

  /** Moves the first n buffered bytes into dst, consuming them. */
  private copyOut(dst: Buffer, n: number): void {
    let copied = 0;
    while (copied < n) {
      const c = this.chunks[this.head];
      const take = Math.min(c.length - this.offset, n - copied);
      c.copy(dst, copied, this.offset, this.offset + take);
      copied += take;
      this.offset += take;
      if (this.offset === c.length) this.dropHead();
    }
  }

  private dropHead(): void {
    this.offset = 0;
    this.head++;
    if (this.head === this.chunks.length) {
      // pop() for the usual single chunk: setting .length is a runtime call.
      if (this.head === 1) this.chunks.pop();
      else this.chunks.length = 0;
      this.head = 0;
    } else if (this.head >= 32) {
      this.chunks.splice(0, this.head);
      this.head = 0;
    }
  }

  private fail(message: string): never {
    this.failure = new ProtocolError(message);
    this.chunks = [];
    this.head = 0;
    this.offset = 0;
    this.total = 0;
    throw this.failure;
  }
}
