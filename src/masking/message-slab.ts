// Where rewritten protocol messages are written: one after another, carved out
// of 64 KiB slabs, so consecutive messages are adjacent and leave as one
// slice. A message that does not fit moves (with what it has so far) to a
// fresh slab; the messages finished before it are handed over first. With a
// ledger, the slabs it moves past go there, to be reused once sent
// (slab-pool.ts); without one, they are left to the GC.

import { putInt32 } from '../protocol/int32.ts';
import { SLAB_SIZE, takeSlab, type SlabLedger } from './slab-pool.ts';

/** Takes finished messages: buf[start, end). Ranges of one slab are handed over by the slab's own Buffer, so a receiver can merge adjacent ones. */
export type EmitRange = (buf: Buffer, start: number, end: number) => void;

const NO_SLAB = Buffer.alloc(0);

export class MessageSlab {
  buf: Buffer = NO_SLAB;
  /** Where the message being written starts, and where the next byte goes. */
  start = 0;
  w = 0;
  /** Where the current batch starts, and who takes its finished messages. */
  private runStart = 0;
  private emit: EmitRange | null = null;

  constructor(private readonly ledger: SlabLedger | null = null) {}

  /** Room for n more bytes of the current message. */
  reserve(n: number): void {
    if (this.w + n <= this.buf.length) return;
    if (this.start > this.runStart && this.emit) this.emit(this.buf, this.runStart, this.start);
    const written = this.w - this.start;
    const next = takeSlab(Math.max(SLAB_SIZE, 2 * (written + n)));
    this.buf.copy(next, 0, this.start, this.w);
    this.ledger?.retire(this.buf);
    this.buf = next;
    this.start = 0;
    this.runStart = 0;
    this.w = written;
  }

  /** Starts a batch: its messages go to `emit` (null: the caller takes each message itself). */
  beginRun(emit: EmitRange | null): void {
    this.runStart = this.w;
    this.emit = emit;
  }

  /** Ends the batch, handing over what it wrote since the last slab change. */
  endRun(): void {
    const emit = this.emit;
    this.emit = null;
    if (emit && this.w > this.runStart) emit(this.buf, this.runStart, this.w);
    this.runStart = this.w;
  }

  /** The writer is done: its slab goes to the ledger (after whatever it handed over has been). */
  close(): void {
    this.ledger?.retire(this.buf);
    this.buf = NO_SLAB;
    this.start = this.w = this.runStart = 0;
  }

  /** Drops the batch's emitter without handing anything over (after a failure). */
  abandonRun(): void {
    this.emit = null;
  }

  /** Starts a message; `size` is a first guess of its body length. */
  beginMessage(size: number): void {
    this.start = this.w;
    this.reserve(5 + size);
    this.w += 5; // type and length, written by endMessage
  }

  endMessage(type: number): void {
    this.buf[this.start] = type;
    putInt32(this.buf, this.start + 1, this.w - this.start - 1);
  }

  /** The message just finished. */
  get message(): Buffer {
    return this.buf.subarray(this.start, this.w);
  }

  /** Appends src[from, to). */
  copy(src: Buffer, from: number, to: number): void {
    if (to <= from) return;
    this.reserve(to - from);
    this.w = copyBytes(src, from, to, this.buf, this.w);
  }
}

/** src[from, to) into dst at `at`; returns the end. Short runs (most fields) copy faster in a loop than through Buffer.copy. */
export function copyBytes(src: Buffer, from: number, to: number, dst: Buffer, at: number): number {
  if (to - from > 48) return at + src.copy(dst, at, from, to);
  for (let i = from; i < to; i++) dst[at++] = src[i];
  return at;
}
