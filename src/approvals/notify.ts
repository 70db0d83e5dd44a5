// Tells people a review waits: a POST to each webhook of the policies involved, signed with
// X-Scopegate-Signature: sha256=<hex HMAC-SHA256 of the body>. Deliveries run in the background
// from a bounded queue and are retried with exponential backoff; notify() never blocks or throws.
import { createHmac } from 'node:crypto';
import type { Review } from '../store/types.ts';
import { jsonBody, slackBody } from './notify-format.ts';
import { systemClock, type Clock, type ReviewNotifier, type ReviewSettings, type WebhookSettings } from './types.ts';

export interface WebhookNotifierOptions {
  /** Where secret_env names are looked up (default process.env). */
  env?: Record<string, string | undefined>;
  fetch?: typeof fetch;
  clock?: Clock;
  /** Deliveries queued or waiting to retry; beyond this new ones are dropped (and logged). */
  maxQueue?: number;
  /** Tries per delivery, the first included (default 5). */
  attempts?: number;
  /** Delay before the first retry; doubled each time (default 1000 ms). */
  baseDelayMs?: number;
  timeoutMs?: number;
  concurrency?: number;
  /** The admin API's public URL, linked from the messages. */
  publicUrl?: string;
  log?: (message: string) => void;
}

interface Delivery {
  url: string;
  body: string;
  headers: Record<string, string>;
  attempt: number;
  label: string;
}

export class WebhookNotifier implements ReviewNotifier {
  readonly stats = { sent: 0, failed: 0, dropped: 0, retried: 0 };
  private readonly queue: Delivery[] = [];
  private outstanding = 0;
  private running = 0;
  private idle: (() => void)[] = [];
  private closed = false;
  private readonly clock: Clock;
  private readonly log: (message: string) => void;

  constructor(private readonly opts: WebhookNotifierOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? ((m) => console.error(`scopegate: ${m}`));
  }

  notify(review: Review, settings: ReviewSettings): void {
    for (const hook of settings.webhooks) {
      try {
        this.enqueue(hook, review);
      } catch (err) {
        this.log(`webhook for review ${review.id}: ${(err as Error).message}`);
      }
    }
  }

  /** Resolves when every queued delivery has been sent or given up. */
  drain(): Promise<void> {
    if (this.outstanding === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Stops accepting deliveries; those already queued still run (await drain() to wait for them). */
  close(): void {
    this.closed = true;
  }

  private enqueue(hook: WebhookSettings, review: Review): void {
    const label = `webhook ${redactUrl(hook.url)} for review ${review.id}`;
    if (this.closed) return;
    let secret: string | undefined;
    if (hook.secretEnv) {
      secret = (this.opts.env ?? process.env)[hook.secretEnv];
      if (!secret) {
        this.stats.failed++;
        this.log(`${label}: not sent, the secret variable ${hook.secretEnv} is not set`);
        return;
      }
    }
    if (this.outstanding >= (this.opts.maxQueue ?? 1000)) {
      this.stats.dropped++;
      this.log(`${label}: dropped, the notification queue is full`);
      return;
    }
    const body = JSON.stringify(hook.format === 'slack' ? slackBody(review, this.opts.publicUrl) : jsonBody(review, this.opts.publicUrl));
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'scopegate', 'x-scopegate-event': 'review_requested' };
    if (secret) headers['x-scopegate-signature'] = signature(body, secret);
    this.outstanding++;
    this.queue.push({ url: hook.url, body, headers, attempt: 0, label });
    this.pump();
  }

  private pump(): void {
    while (this.running < (this.opts.concurrency ?? 4) && this.queue.length > 0) {
      const delivery = this.queue.shift() as Delivery;
      this.running++;
      void this.send(delivery).finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  private async send(d: Delivery): Promise<void> {
    d.attempt++;
    let problem: string;
    let retry = true;
    try {
      const res = await (this.opts.fetch ?? fetch)(d.url, {
        method: 'POST',
        headers: d.headers,
        body: d.body,
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 5000),
        redirect: 'error',
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) {
        this.stats.sent++;
        return this.done();
      }
      problem = `HTTP ${res.status}`;
      retry = res.status >= 500 || res.status === 408 || res.status === 429;
    } catch (err) {
      problem = (err as Error).message;
    }
    const attempts = this.opts.attempts ?? 5;
    if (retry && d.attempt < attempts) {
      this.stats.retried++;
      const delay = (this.opts.baseDelayMs ?? 1000) * 2 ** (d.attempt - 1);
      this.clock.setTimeout(() => {
        this.queue.push(d);
        this.pump();
      }, delay);
      return;
    }
    this.stats.failed++;
    this.log(`${d.label}: failed after ${d.attempt} ${d.attempt === 1 ? 'try' : 'tries'} (${problem})`);
    this.done();
  }

  private done(): void {
    this.outstanding--;
    if (this.outstanding === 0) for (const resolve of this.idle.splice(0)) resolve();
  }
}

export function signature(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/** Webhook URLs often embed a token (Slack's do): log only the origin. */
function redactUrl(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'URL';
  }
}
