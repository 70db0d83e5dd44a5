// Several destinations, one chain: events are sealed once (one stringify, one
// sha256) and the same lines go to every child, so a SIEM copy can be checked
// against the file line for line.
//
// Required children decide health and flush(): the fanout is healthy when all
// of them are, and flush() rejects when one of them rejects. Optional children
// (a webhook next to a file) get every event but never block or fail the caller;
// their trouble shows in stats().
import { HashChain, type ChainHead, type SealedRecord } from './chain.ts';
import type { AuditEvent, AuditSink, SinkStats } from './types.ts';

/** A sink that can take records sealed elsewhere (every BatchedSink). */
const BATCH_DELAY_MS = 5;
const BATCH_NOW = 512;

export interface SealedSink extends AuditSink {
  readonly name: string;
  writeSealed(records: readonly SealedRecord[]): void;
  persistedHead(): ChainHead | null;
  attach(parent: AuditSink): void;
  stats(): SinkStats;
}

export interface FanoutChild {
  sink: SealedSink;
  /** Default true. */
  required?: boolean;
}

export class FanoutSink implements AuditSink {
  private readonly children: { sink: SealedSink; required: boolean }[];
  private readonly chain: HashChain;
  /** Events written during the current turn, sealed as soon as it ends (see write). */
  private fresh: AuditEvent[] = [];
  private sealing = false;
  /** Sealed records, handed on in batches. */
  private queue: SealedRecord[] = [];
  private scheduled = false;
  private closed = false;

  get enabled(): boolean {
    return this.children.length > 0;
  }

  constructor(children: (SealedSink | FanoutChild)[], options: { head?: ChainHead } = {}) {
    this.children = children.map((c) => ('sink' in c ? { sink: c.sink, required: c.required ?? true } : { sink: c, required: true }));
    let head = options.head ?? null;
    for (const c of this.children) {
      const h = c.sink.persistedHead();
      if (h && (!head || h.seq > head.seq)) head = h;
    }
    this.chain = new HashChain(head ?? undefined);
    for (const c of this.children) c.sink.attach(this);
  }

  write(event: AuditEvent): void {
    if (this.closed) return;
    // Sealed right after the caller's turn (the statement's response is sent
    // first), while its fields are still in the cache: sealing on the later
    // batch timer cost more per event.
    this.fresh.push(event);
    if (!this.sealing) {
      this.sealing = true;
      queueMicrotask(this.afterTurn);
    }
  }

  private readonly afterTurn = (): void => {
    this.sealFresh();
    // Records are handed on in batches every few milliseconds (or at once
    // when many are queued), so a busy gateway makes one write for many
    // statements instead of one per statement; flush() still writes at once.
    if (this.queue.length >= BATCH_NOW) this.pump();
    else if (!this.scheduled && this.queue.length > 0) {
      this.scheduled = true;
      setTimeout(() => this.pump(), BATCH_DELAY_MS);
    }
  };

  private sealFresh(): void {
    this.sealing = false;
    const events = this.fresh;
    if (events.length === 0) return;
    this.fresh = [];
    for (const e of events) this.queue.push(this.chain.seal(e));
  }

  healthy(): boolean {
    return !this.closed && this.children.every((c) => !c.required || c.sink.healthy());
  }

  async flush(): Promise<void> {
    this.pump();
    const flushes = this.children.map((c) => {
      const p = c.sink.flush();
      if (c.required) return p;
      p.catch(() => {});
      return Promise.resolve();
    });
    await Promise.all(flushes);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.pump();
    this.closed = true;
    await Promise.all(this.children.map((c) => c.sink.close()));
  }

  /** Per child, by sink name (file, stdout, webhook): for metrics. */
  stats(): Record<string, SinkStats & { required: boolean }> {
    const out: Record<string, SinkStats & { required: boolean }> = {};
    for (const c of this.children) out[c.sink.name] = { ...c.sink.stats(), required: c.required };
    return out;
  }

  get head(): ChainHead {
    this.sealFresh();
    return this.chain.head;
  }

  private pump(): void {
    this.scheduled = false;
    this.sealFresh();
    if (this.queue.length === 0) return;
    const sealed = this.queue;
    this.queue = [];
    for (const c of this.children) c.sink.writeSealed(sealed);
  }
}
