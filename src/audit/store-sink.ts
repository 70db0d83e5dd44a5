// Audit records to the shared Postgres store (`audit.store: true` with `store: postgres://…`), in
// batches: one INSERT … SELECT FROM unnest(…) per batch, one batch in flight at a time so order
// holds. The row keeps the record's line exactly as sealed (what its hash covers) beside JSONB and
// columns to search on (see store/postgres-schema.ts, migration 2).
//
// Every process writes its own chain (`chain`, default host:pid:random), so replicas never fight
// over seq; `(chain, seq)` is unique and a retried batch that had in fact been committed is not
// written twice. A failing insert keeps its batch and is retried with backoff; meanwhile the sink
// is unhealthy and flush() rejects; once it recovers, an audit_recovered event says so.
// Without other traffic a batch waits up to `lingerMs` to fill (flush() does not wait).
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import pg from 'pg';
import { storeTarget, type StoreTarget } from '../store/postgres-conn.ts';
import { migrate, SCHEMA } from '../store/postgres-schema.ts';
import { BatchedSink, type BatchedSinkOptions } from './batched-sink.ts';
import type { SealedRecord } from './chain.ts';
import { AuditUnavailableError } from './types.ts';

export interface StoreSinkOptions extends BatchedSinkOptions {
  /** The store's postgres:// URL (the password from it or from SCOPEGATE_STORE_PASSWORD). */
  url: string;
  env?: NodeJS.ProcessEnv;
  /** This process's chain id (default host:pid:random). */
  chain?: string;
  /** Records per INSERT (default 1000). */
  batchSize?: number;
  /** How long a partial batch waits for more records when nobody flushes (default 20 ms). */
  lingerMs?: number;
  /** First retry delay; doubles per failed attempt up to maxBackoffMs (default 200 ms → 10 s). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** How long close() keeps trying to write what is left (default 5 s). */
  closeTimeoutMs?: number;
  now?: () => number;
}

// The batch travels as one text of lines joined by "\n" (a sealed line never holds a raw newline:
// JSON escapes it), so the client does no per-line escaping; seq, hash and prev are read from it.
// $3, when not null, holds per line a JSONB-safe copy (or an empty line: use the line itself).
const INSERT = `
  INSERT INTO ${SCHEMA}.audit_events (chain, seq, at, type, session, identity, upstream, verdict, event, line, hash, prev)
  SELECT $1, (r.e->>'seq')::bigint,
         CASE WHEN r.e->>'at' ~ '^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?Z$' THEN (r.e->>'at')::timestamptz END,
         r.e->>'type', r.e->>'session',
         coalesce(r.e->>'identity', CASE WHEN r.e->>'type' = 'auth_failed' THEN r.e->>'user' END),
         coalesce(r.e->>'upstream', CASE WHEN r.e->>'type' = 'auth_failed' THEN r.e->>'database' END),
         r.e->>'verdict', r.e, r.line, r.e->>'hash', r.e->>'prev'
  FROM (SELECT u.line, coalesce(nullif(f.json, ''), u.line)::jsonb AS e
        FROM unnest(string_to_array($2, E'\\n')) WITH ORDINALITY AS u(line, n)
        LEFT JOIN unnest(string_to_array($3, E'\\n')) WITH ORDINALITY AS f(json, n) USING (n)
        ORDER BY n) AS r
  ON CONFLICT (chain, seq) DO NOTHING`;

export class StoreAuditSink extends BatchedSink {
  readonly chainId: string;
  readonly target: StoreTarget;
  private readonly pool: pg.Pool;
  private readonly o: { batchSize: number; lingerMs: number; backoffMs: number; maxBackoffMs: number; closeTimeoutMs: number; now: () => number };
  private ready: Promise<unknown> | null = null;
  private batch: SealedRecord[] | null = null;
  private busy = false;
  private urgent = false;
  private closing = false;
  private timer: NodeJS.Timeout | null = null;
  private retrying = false;
  private attempt = 0;
  private idle: (() => void)[] = [];

  constructor(options: StoreSinkOptions) {
    super('store', options);
    this.target = storeTarget(options.url, options.env);
    this.chainId = options.chain ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.o = {
      batchSize: options.batchSize ?? 1000,
      lingerMs: options.lingerMs ?? 20,
      backoffMs: options.backoffMs ?? 200,
      maxBackoffMs: options.maxBackoffMs ?? 10_000,
      closeTimeoutMs: options.closeTimeoutMs ?? 5000,
      now: options.now ?? Date.now,
    };
    this.pool = new pg.Pool({ connectionString: this.target.connectionString, max: 1, application_name: 'scopegate-audit', keepAlive: true, allowExitOnIdle: true, connectionTimeoutMillis: 10_000 });
    this.pool.on('error', () => undefined); // an idle connection that fails is replaced on next use
  }

  protected schedule(urgent: boolean): void {
    if (urgent) this.urgent = true;
    if (this.busy || this.retrying) return;
    if (this.urgent || this.closing || this.queued() >= this.o.batchSize) {
      this.clearTimer();
      this.timer = setTimeout(() => void this.send(), 0);
    } else if (!this.timer) {
      this.timer = setTimeout(() => void this.send(), this.o.lingerMs);
    }
    // A linger alone does not keep the process up; someone awaiting flush() or close() does.
    if (!this.closing && !this.urgent) this.timer?.unref();
  }

  protected async shutdown(): Promise<void> {
    this.closing = true;
    if (this.backlog() > 0 || this.busy) {
      let expired = false;
      const deadline = setTimeout(() => {
        expired = true;
        this.wakeIdle();
      }, this.o.closeTimeoutMs);
      if (this.retrying) {
        this.retrying = false;
        this.clearTimer();
      }
      while (!expired && (this.backlog() > 0 || this.busy)) {
        const done = new Promise<void>((resolve) => this.idle.push(resolve));
        this.schedule(true);
        await done;
        if (this.failure && !this.busy) break; // tried once more at close; what is left stays unwritten
      }
      clearTimeout(deadline);
    }
    this.clearTimer();
    await this.pool.end().catch(() => undefined);
  }

  private async send(): Promise<void> {
    this.timer = null;
    this.retrying = false;
    if (this.busy) return;
    this.batch ??= this.take(this.o.batchSize);
    const batch = this.batch;
    if (batch.length === 0) {
      this.batch = null;
      this.urgent = false;
      return this.wakeIdle();
    }
    this.busy = true;
    let error: Error | null = null;
    try {
      this.ready ??= migrate(this.pool).catch((err) => {
        this.ready = null;
        throw err;
      });
      await this.ready;
      await this.pool.query({ name: 'audit-insert', text: INSERT, values: this.rows(batch) });
    } catch (err) {
      error = err as Error;
    }
    this.busy = false;
    if (!error) {
      this.batch = null;
      this.attempt = 0;
      this.settled(batch.length);
      if (this.failingOrRecovering) this.writeRecovered(this.o.now());
    } else {
      this.writeFailed(new AuditUnavailableError('store', `cannot write to ${this.target.display}: ${error.message}`, { cause: error }), this.o.now());
      if (this.closing) return this.wakeIdle();
      return this.retryLater();
    }
    if (this.queued() === 0) {
      this.urgent = false;
      return this.wakeIdle();
    }
    this.schedule(false);
  }

  private rows(batch: SealedRecord[]): [string, string, string | null] {
    let lines = '';
    let fixes: string[] | null = null;
    for (let i = 0; i < batch.length; i++) {
      const line = batch[i].line;
      lines += i === 0 ? line : '\n' + line;
      // JSONB cannot hold U+0000: the searchable copy gets U+FFFD instead (the line keeps the original).
      if (line.includes('\\u0000')) {
        fixes ??= new Array<string>(batch.length).fill('');
        fixes[i] = JSON.stringify(JSON.parse(line), (_k, v: unknown) => (typeof v === 'string' ? v.replaceAll('\u0000', '\ufffd') : v));
      }
    }
    return [this.chainId, lines, fixes ? fixes.join('\n') : null];
  }

  private retryLater(): void {
    const delay = Math.min(this.o.maxBackoffMs, this.o.backoffMs * 2 ** this.attempt) * (0.8 + 0.4 * Math.random());
    this.attempt++;
    this.retrying = true;
    this.timer = setTimeout(() => void this.send(), delay);
    this.timer.unref();
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
