// Collects outgoing messages during one event-loop turn and writes them at once.
// Consecutive messages that sit next to each other in the same received chunk
// are merged back into one slice, so unmodified traffic leaves as it arrived.
import type { Socket } from 'node:net';

export class OutputBatch {
  private parts: Buffer[] = [];

  push(buf: Buffer): void {
    const last = this.parts[this.parts.length - 1];
    if (last && last.buffer === buf.buffer && last.byteOffset + last.length === buf.byteOffset) {
      this.parts[this.parts.length - 1] = Buffer.from(last.buffer, last.byteOffset, last.length + buf.length);
    } else {
      this.parts.push(buf);
    }
  }

  /** Hands over what is queued so far (to be written later by writeParts). */
  take(): Buffer[] {
    const parts = this.parts;
    this.parts = [];
    return parts;
  }

  get empty(): boolean {
    return this.parts.length === 0;
  }

  /** Writes everything; returns false when the socket asks us to wait for 'drain'. */
  flush(socket: Socket): boolean {
    if (this.parts.length === 0) return true;
    const parts = this.parts;
    this.parts = [];
    if (socket.destroyed) return true;
    if (parts.length === 1) return socket.write(parts[0]);
    socket.cork();
    let ok = true;
    for (const p of parts) ok = socket.write(p) && ok;
    socket.uncork();
    return ok;
  }
}
