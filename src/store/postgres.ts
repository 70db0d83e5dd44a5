// The shared store: reviews and grants in a Postgres database that several gateway replicas use
// together. Each value is a JSONB document beside the columns lists filter on; decisions are
// compare-and-set UPDATEs (`… WHERE id = $1 AND status = $2 RETURNING`), so exactly one of any
// number of concurrent deciders, on any replica, wins. Every write sends a NOTIFY in the same
// statement (delivered when it commits); a dedicated LISTEN connection (postgres-listener.ts)
// turns other processes' notifications into onChange calls, while this handle reports its own
// changes directly, once, when the write resolves.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { ChangeListener, type ChangeListenerOptions, type ChangeListenerStats, type ChangePayload } from './postgres-listener.ts';
import { storeIoError, storeTarget, type StoreTarget } from './postgres-conn.ts';
import { CHANGE_CHANNEL, migrate, SCHEMA, type MigrationResult } from './postgres-schema.ts';
import {
  StoreError,
  type Grant,
  type GrantFilter,
  type GrantStatus,
  type Review,
  type ReviewFilter,
  type ReviewStatus,
  type Store,
  type StoreChange,
} from './types.ts';

export interface PostgresStoreOptions {
  /** postgres://user[:password]@host:port/db[?sslmode=…]; without a password, SCOPEGATE_STORE_PASSWORD. */
  url: string;
  env?: NodeJS.ProcessEnv;
  /** Connections for queries (the LISTEN connection is extra). Default 10. */
  poolSize?: number;
  log?: (msg: string, extra?: Record<string, unknown>) => void;
  /** Tuning of the LISTEN connection (backoff, heartbeat); mostly for tests. */
  listener?: Pick<ChangeListenerOptions, 'backoffMs' | 'maxBackoffMs' | 'heartbeatMs' | 'heartbeatTimeoutMs' | 'catchUpMarginMs'>;
}

export interface PostgresStoreStats {
  /** Milliseconds open() took: connect, migrate, listen. */
  openMs: number;
  migration: MigrationResult;
  listener: ChangeListenerStats;
}

type Kind = StoreChange['kind'];

/** A store that cannot be reached fails the call (and so the statement) instead of hanging it. */
const CONNECT_TIMEOUT_MS = 10_000;
const STATEMENT_TIMEOUT_MS = 30_000;

interface Table {
  kind: Kind;
  name: string;
  /** Column holding the sort time. */
  time: 'created_at' | 'requested_at';
  timeOf: (value: Review | Grant) => string;
}

const reviews: Table = { kind: 'review', name: `${SCHEMA}.reviews`, time: 'created_at', timeOf: (v) => (v as Review).createdAt };
const grants: Table = { kind: 'grant', name: `${SCHEMA}.grants`, time: 'requested_at', timeOf: (v) => (v as Grant).requestedAt };

export class PostgresStore implements Store {
  private readonly listeners = new Set<(change: StoreChange) => void>();
  private readonly origin = randomBytes(8).toString('hex');
  private closed = false;
  private listener!: ChangeListener;
  stats!: PostgresStoreStats;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly target: StoreTarget,
  ) {}

  /** Connects, migrates the schema (under an advisory lock) and starts listening for other replicas' changes. */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const started = performance.now();
    const target = storeTarget(options.url, options.env);
    const pool = new pg.Pool({
      connectionString: target.connectionString, max: options.poolSize ?? 10, application_name: 'scopegate-store', keepAlive: true,
      idleTimeoutMillis: 30_000, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, statement_timeout: STATEMENT_TIMEOUT_MS,
    });
    pool.on('error', (err) => options.log?.('store: idle connection failed', { error: err.message }));
    const store = new PostgresStore(pool, target);
    try {
      const migration = await migrate(pool);
      store.listener = new ChangeListener({ ...options.listener, connectionString: target.connectionString, origin: store.origin, deliver: (c) => store.emit(c), log: options.log });
      await store.listener.start();
      store.stats = { openMs: performance.now() - started, migration, listener: store.listener.stats };
      return store;
    } catch (err) {
      await store.listener?.close();
      await pool.end().catch(() => undefined);
      throw storeIoError(err, target);
    }
  }

  createReview(review: Review): Promise<void> {
    return this.create(reviews, review);
  }

  getReview(id: string): Promise<Review | null> {
    return this.get<Review>(reviews, id);
  }

  listReviews(filter: ReviewFilter = {}): Promise<Review[]> {
    return this.list<Review>(reviews, filter);
  }

  updateReview(id: string, from: ReviewStatus, patch: Partial<Review>): Promise<Review | null> {
    return this.update<Review>(reviews, id, from, patch);
  }

  createGrant(grant: Grant): Promise<void> {
    return this.create(grants, grant);
  }

  getGrant(id: string): Promise<Grant | null> {
    return this.get<Grant>(grants, id);
  }

  listGrants(filter: GrantFilter = {}): Promise<Grant[]> {
    return this.list<Grant>(grants, filter);
  }

  updateGrant(id: string, from: GrantStatus, patch: Partial<Grant>): Promise<Grant | null> {
    return this.update<Grant>(grants, id, from, patch);
  }

  onChange(listener: (change: StoreChange) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    await this.listener.close();
    await this.pool.end().catch(() => undefined);
  }

  private async create(t: Table, value: Review | Grant): Promise<void> {
    this.checkOpen();
    const rows = await this.query<{ ok: unknown }>(`${t.kind}-create`,
      `WITH ins AS (
         INSERT INTO ${t.name} (id, status, identity, ${t.time}, doc) VALUES ($1, $2, $3, $4, $5::jsonb)
         ON CONFLICT (id) DO NOTHING RETURNING id)
       SELECT pg_notify('${CHANGE_CHANNEL}', $6) AS ok FROM ins`,
      [value.id, value.status, value.identity, t.timeOf(value), JSON.stringify(value), this.payload(t.kind, value.id)],
    );
    if (rows.length === 0) throw new StoreError('duplicate', `${t.kind} ${value.id} already exists`);
    this.emit({ kind: t.kind, id: value.id });
  }

  private async get<T>(t: Table, id: string): Promise<T | null> {
    this.checkOpen();
    const rows = await this.query<{ doc: T }>(`${t.kind}-get`, `SELECT doc FROM ${t.name} WHERE id = $1`, [id]);
    return rows[0]?.doc ?? null;
  }

  private async list<T>(t: Table, filter: { status?: string; identity?: string; limit?: number }): Promise<T[]> {
    this.checkOpen();
    const where: string[] = [];
    const values: unknown[] = [];
    if (filter.status !== undefined) where.push(`status = $${values.push(filter.status)}`);
    if (filter.identity !== undefined) where.push(`identity = $${values.push(filter.identity)}`);
    const limit = filter.limit !== undefined ? ` LIMIT $${values.push(Math.max(0, Math.floor(filter.limit)))}` : '';
    const sql = `SELECT doc FROM ${t.name}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${t.time} DESC, id DESC${limit}`;
    const rows = await this.query<{ doc: T }>(null, sql, values);
    return rows.map((r) => r.doc);
  }

  /**
   * Compare-and-set in one statement: the patch is merged into the stored document (JSONB `||`,
   * the same as an object spread), fields patched to undefined are removed (`-`), `id` never changes.
   */
  private async update<T>(t: Table, id: string, from: string, patch: Partial<Review> | Partial<Grant>): Promise<T | null> {
    this.checkOpen();
    const set: Record<string, unknown> = {};
    const remove: string[] = [];
    for (const [key, value] of Object.entries(patch)) {
      if (key === 'id') continue;
      if (value === undefined) remove.push(key);
      else set[key] = value;
    }
    const doc = `((doc || $3::jsonb) - $4::text[])`;
    const rows = await this.query<{ doc: T }>(`${t.kind}-update`,
      `WITH upd AS (
         UPDATE ${t.name} SET doc = ${doc}, status = coalesce(${doc}->>'status', ''), identity = coalesce(${doc}->>'identity', ''),
           ${t.time} = coalesce(${doc}->>'${t.time === 'created_at' ? 'createdAt' : 'requestedAt'}', ''), changed_at = clock_timestamp()
         WHERE id = $1 AND status = $2 RETURNING doc)
       SELECT doc, pg_notify('${CHANGE_CHANNEL}', $5) FROM upd`,
      [id, from, JSON.stringify(set), remove, this.payload(t.kind, id)],
    );
    if (rows.length === 0) return null;
    this.emit({ kind: t.kind, id });
    return rows[0].doc;
  }

  private async query<R extends pg.QueryResultRow>(name: string | null, text: string, values: unknown[]): Promise<R[]> {
    try {
      const r = await this.pool.query<R>(name ? { name, text, values } : { text, values });
      return r.rows;
    } catch (err) {
      if (this.closed) throw new StoreError('closed', 'store is closed');
      throw storeIoError(err, this.target);
    }
  }

  private payload(k: Kind, i: string): string {
    const p: ChangePayload = { o: this.origin, k, i };
    return JSON.stringify(p);
  }

  /** Reports a change to this handle's listeners (one failing listener does not stop the others). */
  private emit(change: StoreChange): void {
    for (const listener of [...this.listeners]) {
      try {
        listener({ ...change });
      } catch {
        // a listener's failure is its own; the change is already durable
      }
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new StoreError('closed', 'store is closed');
  }
}
