// What every sink shares: a queue filled by write() without I/O, sealing into
// the hash chain when a batch is taken (one stringify and one sha256 per
// event, off the caller's path), flush waiters, health and counters.
// Subclasses decide when and how a batch reaches their destination.
import { HashChain, SealedRecord, type ChainHead } from './chain.ts';
import { AuditUnavailableError, type AuditEvent, type AuditSink, type SinkStats } from './types.ts';

interface Waiter {
  target: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

export interface BatchedSinkOptions {
  /** Backlog bound: events beyond it are dropped and counted; the sink is unhealthy while full. */
  maxBacklog?: number;
  /** Where the chain starts when this sink seals its own events. */
  head?: ChainHead;
}

export abstract class BatchedSink implements AuditSink {
  /** Events accepted but not taken into a batch yet: raw events, or records sealed by a FanoutSink. */
  private queue: (AuditEvent | SealedRecord)[] = [];
  private queueStart = 0;
  private waiters: Waiter[] = [];
  private chain: HashChain;
  private readonly maxBacklog: number;
  private noticeTarget: AuditSink | null = null;
  protected accepted = 0;
  protected written = 0;
  /** Ordinals written or given up: flush() waits on this. */
  private done = 0;
  protected droppedCount = 0;
  /** Taken from the queue, not yet written (in flight or being retried). */
  protected inFlight = 0;
  protected failure: AuditUnavailableError | null = null;
  protected closed = false;

  constructor(readonly name: string, options: BatchedSinkOptions = {}) {
    this.chain = new HashChain(options.head);
    this.maxBacklog = options.maxBacklog ?? 1_000_000;
  }

  write(event: AuditEvent): void {
    this.enqueue(event);
  }

  /** Records already sealed by a FanoutSink (one chain for every destination). */
  writeSealed(records: readonly SealedRecord[]): void {
    for (const r of records) this.enqueue(r);
  }

  /** Where this sink's own notices (audit_recovered) go: itself, or the FanoutSink that seals for it. */
  attach(parent: AuditSink): void {
    this.noticeTarget = parent;
  }

  /** Continue the chain from a head found in the destination (before anything was sealed). */
  protected seedChain(head: ChainHead): void {
    this.chain = new HashChain(head);
  }

  /** The chain head this sink's destination already holds (a file resumes from its last line). */
  persistedHead(): ChainHead | null {
    return null;
  }

  healthy(): boolean {
    return !this.closed && this.failure === null && this.backlog() < this.maxBacklog;
  }

  get dropped(): number {
    return this.droppedCount;
  }

  stats(): SinkStats {
    return {
      accepted: this.accepted,
      written: this.written,
      dropped: this.droppedCount,
      backlog: this.backlog(),
      failing: this.failure?.message ?? (this.backlog() >= this.maxBacklog ? `audit ${this.name}: backlog full` : null),
    };
  }

  flush(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const target = this.accepted;
    if (this.done >= target) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ target, resolve, reject });
      this.schedule(true);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.shutdown();
    } catch {
      // close never rejects: the failure is in stats() and flush() waiters were told.
    }
    this.closed = true;
    this.rejectWaiters(this.failure ?? new AuditUnavailableError(this.name, 'closed before these events were written'));
  }

  protected backlog(): number {
    return this.queue.length - this.queueStart + this.inFlight;
  }

  protected queued(): number {
    return this.queue.length - this.queueStart;
  }

  /** Take up to `max` events (and about `maxChars` bytes of lines) from the queue, sealing raw events. */
  protected take(max: number, maxChars = Infinity): SealedRecord[] {
    const out: SealedRecord[] = [];
    let chars = 0;
    while (this.queueStart < this.queue.length && out.length < max && chars < maxChars) {
      const entry = this.queue[this.queueStart++];
      const record = entry instanceof SealedRecord ? entry : this.chain.seal(entry);
      chars += record.bytes.length;
      out.push(record);
    }
    if (this.queueStart === this.queue.length) {
      this.queue = [];
      this.queueStart = 0;
    } else if (this.queueStart > 4096 && this.queueStart * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueStart);
      this.queueStart = 0;
    }
    this.inFlight += out.length;
    return out;
  }

  /** `n` taken events reached the destination. */
  protected settled(n: number): void {
    this.inFlight -= n;
    this.written += n;
    this.done += n;
    if (this.waiters.length === 0) return;
    const ready = this.waiters.filter((w) => w.target <= this.done);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((w) => w.target > this.done);
    for (const w of ready) w.resolve();
  }

  /** `n` taken events are lost for good (the destination rejected them). */
  protected lost(n: number, why: AuditUnavailableError): void {
    this.inFlight -= n;
    this.droppedCount += n;
    // Their ordinals count as done so later flushes can complete, but whoever waits now is told.
    this.done += n;
    this.rejectWaiters(why);
  }

  protected fail(err: AuditUnavailableError): void {
    this.failure = err;
    this.rejectWaiters(err);
  }

  protected recovered(): void {
    this.failure = null;
  }

  /** When writes started failing, and how many events had been dropped by then. */
  private failingSince: { at: number; dropped: number } | null = null;

  /** A write to the destination failed: remember since when, and refuse flush() waiters. */
  protected writeFailed(err: AuditUnavailableError, now: number): void {
    this.failingSince ??= { at: now, dropped: this.droppedCount };
    this.fail(err);
  }

  /** True while a failure is outstanding (so the next good write should report recovery). */
  protected get failingOrRecovering(): boolean {
    return this.failure !== null || this.failingSince !== null;
  }

  /** Writes work again: clear the failure and record in the chain how long it lasted and what was lost. */
  protected writeRecovered(now: number, where: { file?: string } = {}): void {
    const since = this.failingSince;
    const error = this.failure?.message;
    this.failingSince = null;
    this.recovered();
    if (since) {
      this.notice({
        type: 'audit_recovered', at: new Date(now).toISOString(), problem: 'write_failed', ...where, error,
        since: new Date(since.at).toISOString(), dropped: this.droppedCount - since.dropped,
      });
    }
  }

  /** Tell the chain something about the audit itself (sealed like any event). */
  protected notice(event: AuditEvent): void {
    (this.noticeTarget ?? this).write(event);
  }

  /** Arrange for queued events to be written; `urgent` when someone awaits flush(). */
  protected abstract schedule(urgent: boolean): void;
  /** Write what is queued, as well as possible, then stop. */
  protected abstract shutdown(): Promise<void>;

  private enqueue(entry: AuditEvent | SealedRecord): void {
    if (this.closed) return;
    if (this.backlog() >= this.maxBacklog) {
      this.droppedCount++;
      return;
    }
    this.queue.push(entry);
    this.accepted++;
    this.schedule(false);
  }

  private rejectWaiters(err: Error): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(err);
  }
}
