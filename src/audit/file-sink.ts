// JSON lines appended to a file, batched off the hot path.
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { AuditEvent, AuditSink } from './types.ts';

export class FileAuditSink implements AuditSink {
  private readonly stream: WriteStream;
  private buffer: string[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(path: string, private readonly flushEveryMs = 20) {
    mkdirSync(dirname(path), { recursive: true });
    this.stream = createWriteStream(path, { flags: 'a' });
  }

  write(event: AuditEvent): void {
    this.buffer.push(JSON.stringify({ v: 1, ...event }));
    if (this.buffer.length >= 512) this.drainBuffer();
    else this.timer ??= setTimeout(() => this.drainBuffer(), this.flushEveryMs);
  }

  private drainBuffer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.buffer.length === 0) return;
    const text = this.buffer.join('\n') + '\n';
    this.buffer = [];
    this.stream.write(text);
  }

  flush(): Promise<void> {
    this.drainBuffer();
    return new Promise((resolve) => (this.stream.writableNeedDrain ? this.stream.once('drain', () => resolve()) : resolve()));
  }

  async close(): Promise<void> {
    this.drainBuffer();
    await new Promise<void>((resolve) => this.stream.end(resolve));
  }
}

export class NullAuditSink implements AuditSink {
  write(): void {}
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
}

export class StdoutAuditSink implements AuditSink {
  write(event: AuditEvent): void {
    process.stdout.write(JSON.stringify({ v: 1, ...event }) + '\n');
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
}
