// Batches of records POSTed to an HTTP endpoint (a SIEM collector).
//
// Body: a JSON array of records, in chain order. Headers:
//   content-type: application/json
//   x-scopegate-seq: FIRST-LAST                      (the records' seq range)
//   x-scopegate-signature: sha256=HEX                (HMAC-SHA256 of the body, when a secret is set)
// A batch goes when batchSize events are queued, flushMs after the first one
// was queued, or at once on flush(). One request at a time, so order holds.
// Network errors, timeouts, 408, 429 and 5xx are retried with exponential
// backoff (same body, same signature); other 4xx drop the batch (counted).
// At most maxBuffer events wait; more are dropped and counted (`dropped`).
import { createHmac } from 'node:crypto';
import { BatchedSink, type BatchedSinkOptions } from './batched-sink.ts';
import type { SealedRecord } from './chain.ts';
import { AuditUnavailableError } from './types.ts';

export interface WebhookSinkOptions extends Omit<BatchedSinkOptions, 'maxBacklog'> {
  url: string;
  /** HMAC key (the value of audit.webhook.secret_env). */
  secret?: string;
  batchSize?: number;
  flushMs?: number;
  maxBuffer?: number;
  /** First retry delay; doubles per failed attempt up to maxBackoffMs (±20% jitter). */
  backoffMs?: number;
  maxBackoffMs?: number;
  timeoutMs?: number;
  /** How long close() keeps trying to deliver what is left. */
  closeTimeoutMs?: number;
  fetch?: typeof fetch;
  random?: () => number;
}

interface Batch {
  records: SealedRecord[];
  body: string;
  headers: Record<string, string>;
}

export class WebhookAuditSink extends BatchedSink {
  readonly url: string;
  private readonly o: Required<Omit<WebhookSinkOptions, 'secret' | 'head' | 'url'>> & { secret?: string };
  private batch: Batch | null = null;
  private sending = false;
  private urgent = false;
  private closing = false;
  private attempt = 0;
  private timer: NodeJS.Timeout | null = null;
  private retrying = false;
  private idle: (() => void)[] = [];
  private readonly abort = new AbortController();
  private retries = 0;

  constructor(options: WebhookSinkOptions) {
    super('webhook', { head: options.head, maxBacklog: options.maxBuffer ?? 10_000 });
    this.url = options.url;
    this.o = {
      batchSize: options.batchSize ?? 100,
      flushMs: options.flushMs ?? 1000,
      maxBuffer: options.maxBuffer ?? 10_000,
      backoffMs: options.backoffMs ?? 500,
      maxBackoffMs: options.maxBackoffMs ?? 30_000,
      timeoutMs: options.timeoutMs ?? 10_000,
      closeTimeoutMs: options.closeTimeoutMs ?? 5000,
      fetch: options.fetch ?? fetch,
      random: options.random ?? Math.random,
      secret: options.secret,
    };
  }

  /** Retried attempts so far (for metrics). */
  get retryCount(): number {
    return this.retries;
  }

  protected schedule(urgent: boolean): void {
    if (urgent) this.urgent = true;
    if (this.sending || this.retrying) return;
    if (this.urgent || this.closing || this.queued() >= this.o.batchSize) {
      this.clearTimer();
      this.timer = setTimeout(() => this.send(), 0);
    } else if (!this.timer) {
      this.timer = setTimeout(() => this.send(), this.o.flushMs);
    }
    if (!this.closing) this.timer?.unref(); // close() keeps the process up until it is done

  }

  protected async shutdown(): Promise<void> {
    this.closing = true;
    if (this.backlog() === 0 && !this.sending) return;
    const deadline = setTimeout(() => {
      this.abort.abort();
      this.giveUp();
    }, this.o.closeTimeoutMs);
    const done = new Promise<void>((resolve) => this.idle.push(resolve));
    if (this.retrying) {
      this.retrying = false;
      this.clearTimer();
    }
    this.schedule(true);
    await done;
    clearTimeout(deadline);
  }

  private async send(): Promise<void> {
    this.timer = null;
    this.retrying = false;
    if (this.sending) return;
    this.batch ??= this.nextBatch();
    const batch = this.batch;
    if (!batch) {
      this.urgent = false;
      return this.wakeIdle();
    }
    this.sending = true;
    let problem: { error: AuditUnavailableError; retry: boolean } | null = null;
    try {
      const res = await this.o.fetch(this.url, {
        method: 'POST',
        headers: batch.headers,
        body: batch.body,
        signal: AbortSignal.any([AbortSignal.timeout(this.o.timeoutMs), this.abort.signal]),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) {
        const retry = res.status >= 500 || res.status === 408 || res.status === 429;
        problem = { error: new AuditUnavailableError('webhook', `${this.url} answered ${res.status}`), retry };
      }
    } catch (err) {
      problem = { error: new AuditUnavailableError('webhook', `${this.url}: ${(err as Error).message}`, { cause: err }), retry: true };
    }
    this.sending = false;
    if (this.batch !== batch) return; // given up by close()
    if (!problem) {
      this.batch = null;
      this.attempt = 0;
      this.recovered();
      this.settled(batch.records.length);
    } else if (!problem.retry) {
      this.batch = null;
      this.lost(batch.records.length, problem.error);
      this.failure = problem.error;
    } else {
      this.fail(problem.error);
    }
    if (problem && !this.abort.signal.aborted) return this.retryLater();
    if (this.queued() === 0) {
      this.urgent = false;
      return this.wakeIdle();
    }
    this.schedule(false);
  }

  private retryLater(): void {
    const delay = Math.min(this.o.maxBackoffMs, this.o.backoffMs * 2 ** this.attempt) * (0.8 + 0.4 * this.o.random());
    this.attempt++;
    this.retries++;
    this.retrying = true;
    this.timer = setTimeout(() => void this.send(), delay);
    if (!this.closing) this.timer.unref();
  }

  private nextBatch(): Batch | null {
    const records = this.take(this.o.batchSize);
    if (records.length === 0) return null;
    const body = '[' + records.map((r) => r.line).join(',') + ']';
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'scopegate-audit/1',
      'x-scopegate-seq': `${records[0].seq}-${records[records.length - 1].seq}`,
    };
    if (this.o.secret) headers['x-scopegate-signature'] = 'sha256=' + createHmac('sha256', this.o.secret).update(body).digest('hex');
    return { records, body, headers };
  }

  /** close() ran out of time: what is left is lost. */
  private giveUp(): void {
    this.clearTimer();
    const left = (this.batch?.records.length ?? 0);
    this.batch = null;
    if (left > 0) this.lost(left, new AuditUnavailableError('webhook', 'closed before delivery'));
    const rest = this.take(Number.MAX_SAFE_INTEGER).length;
    if (rest > 0) this.lost(rest, new AuditUnavailableError('webhook', 'closed before delivery'));
    this.wakeIdle();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private wakeIdle(): void {
    const idle = this.idle;
    this.idle = [];
    for (const f of idle) f();
  }
}
