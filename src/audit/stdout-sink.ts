// JSON lines to a stream (process.stdout by default), for log collectors.
// One stream write per batch; the next batch waits for its callback.
import { BatchedSink, type BatchedSinkOptions } from './batched-sink.ts';
import { joinRecords } from './chain.ts';
import { AuditUnavailableError } from './types.ts';

export interface StdoutSinkOptions extends BatchedSinkOptions {
  stream?: NodeJS.WritableStream;
}

const MAX_BATCH_EVENTS = 10_000;

export class StdoutAuditSink extends BatchedSink {
  private readonly stream: NodeJS.WritableStream;
  private busy = false;
  private scheduled = false;
  private idle: (() => void)[] = [];

  constructor(options: StdoutSinkOptions = {}) {
    super('stdout', options);
    this.stream = options.stream ?? process.stdout;
    this.stream.on('error', (err: Error) => this.fail(new AuditUnavailableError('stdout', err.message, { cause: err })));
  }

  protected schedule(): void {
    if (this.busy || this.scheduled || this.failure) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  protected async shutdown(): Promise<void> {
    while (!this.failure && (this.busy || this.queued() > 0)) {
      if (!this.busy) this.pump();
      await new Promise<void>((resolve) => this.idle.push(resolve));
    }
  }

  private pump(): void {
    if (this.busy || this.failure) return;
    const batch = this.take(MAX_BATCH_EVENTS);
    if (batch.length === 0) return this.wakeIdle();
    this.busy = true;
    const text = joinRecords(batch);
    try {
      this.stream.write(text, (err?: Error | null) => {
        this.busy = false;
        if (err) this.fail(new AuditUnavailableError('stdout', err.message, { cause: err }));
        else this.settled(batch.length);
        if (!this.failure && this.queued() > 0) this.pump();
        else this.wakeIdle();
      });
    } catch (err) {
      this.busy = false;
      this.fail(new AuditUnavailableError('stdout', (err as Error).message, { cause: err }));
      this.wakeIdle();
    }
  }

  private wakeIdle(): void {
    const idle = this.idle;
    this.idle = [];
    for (const f of idle) f();
  }
}
