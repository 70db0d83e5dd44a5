// Collects outgoing messages during one event-loop turn and writes them at once.
// Consecutive messages that sit next to each other in the same received chunk
// are merged back into one slice, so unmodified traffic leaves as it arrived.
import type { Socket } from 'node:net';

export class OutputBatch {
  private parts: Buffer[] = [];
  /** The newest part, still growing while pushed messages continue it in the same memory. */
  private tail: Buffer | null = null;
  private tailEnd = 0;

  push(buf: Buffer): void {
    const tail = this.tail;
    if (tail !== null) {
      if (this.tailEnd === buf.byteOffset && tail.buffer === buf.buffer) {
        this.tailEnd += buf.length;
        return;
      }
      this.parts.push(this.sealTail(tail));
    }
    this.tail = buf;
    this.tailEnd = buf.byteOffset + buf.length;
  }

  private sealTail(tail: Buffer): Buffer {
    this.tail = null;
    const length = this.tailEnd - tail.byteOffset;
    return length === tail.length ? tail : Buffer.from(tail.buffer, tail.byteOffset, length);
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
    if (this.tail === null && this.parts.length === 0) return true;
    const parts = this.take();
    if (socket.destroyed) return true;
    if (parts.length === 1) return socket.write(parts[0]);
    socket.cork();
    let ok = true;
    for (const p of parts) ok = socket.write(p) && ok;
    socket.uncork();
    return ok;
  }
}
