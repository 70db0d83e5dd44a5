// Collects outgoing messages during one event-loop turn and writes them at once.
// Messages are queued by position in the buffer they arrived in; consecutive
// ones from the same received chunk are merged back into one range, so
// unmodified traffic leaves as it arrived, usually as that very chunk.
import type { Socket } from 'node:net';

export class OutputBatch {
  private parts: Buffer[] = [];
  /** The newest part: source[tailStart, tailEnd), still growing while pushed ranges continue it. */
  private tail: Buffer | null = null;
  private tailStart = 0;
  private tailEnd = 0;

  push(buf: Buffer): void {
    this.pushRange(buf, 0, buf.length);
  }

  /** Queues source[start, end) without cutting a view of it yet. */
  pushRange(source: Buffer, start: number, end: number): void {
    const tail = this.tail;
    if (tail !== null) {
      if (tail === source && this.tailEnd === start) {
        this.tailEnd = end;
        return;
      }
      this.parts.push(this.sealTail(tail));
    }
    this.tail = source;
    this.tailStart = start;
    this.tailEnd = end;
  }

  private sealTail(tail: Buffer): Buffer {
    this.tail = null;
    return this.tailStart === 0 && this.tailEnd === tail.length ? tail : tail.subarray(this.tailStart, this.tailEnd);
  }

  /** Hands over what is queued so far (to be written later by writeParts). */
  take(): Buffer[] {
    if (this.tail !== null) this.parts.push(this.sealTail(this.tail));
    const parts = this.parts;
    this.parts = [];
    return parts;
  }

  get empty(): boolean {
    return this.tail === null && this.parts.length === 0;
  }

  /** Writes everything; returns false when the socket asks us to wait for 'drain'. */
  flush(socket: Socket): boolean {
    if (this.parts.length === 0) {
      // One range (a reply that arrived in one read, usually): written without a list around it.
      const tail = this.tail;
      if (tail === null) return true;
      const only = this.sealTail(tail);
      return socket.destroyed || socket.write(only);
    }
    const parts = this.take();
    if (socket.destroyed) return true;
    if (parts.length === 1) return socket.write(parts[0]);
    let bytes = 0;
    for (const p of parts) bytes += p.length;
    // Small parts (messages, masked rows) are cheaper copied into one write than sent through the
    // stream's writev path, which costs per part; large ones (received chunks) are not worth copying.
    if (bytes <= COALESCE_BYTES || bytes < parts.length * SMALL_PART_BYTES) return socket.write(Buffer.concat(parts, bytes));
    socket.cork();
    let ok = true;
    for (const p of parts) ok = socket.write(p) && ok;
    socket.uncork();
    return ok;
  }
}

const COALESCE_BYTES = 16 * 1024;
/** Average part size below which a batch of any size is copied into one buffer. */
const SMALL_PART_BYTES = 4 * 1024;
