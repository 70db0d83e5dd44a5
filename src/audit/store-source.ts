// Reading the audit back from the shared Postgres store: the same AuditSource the CLI's search,
// sessions and replay use for files, over every replica's records at once, oldest first (in the
// order they were written). Query fields become SQL pre-filters that may only over-select; the
// exact test is reader.ts `matches`, as for files. Rows are read in pages by id (keyset), so a
// large audit streams. `verifyStoreChains` checks each process's hash chain.
import pg from 'pg';
import { storeTarget, type StoreTarget } from '../store/postgres-conn.ts';
import { SCHEMA } from '../store/postgres-schema.ts';
import { checkLine, GENESIS } from './chain.ts';
import { matches, type AuditQuery, type AuditSource } from './reader.ts';
import type { AuditRecord } from './types.ts';

export interface StoreSourceOptions {
  url: string;
  env?: NodeJS.ProcessEnv;
  /** Rows per page (default 2000). */
  pageSize?: number;
}

export class StoreAuditSource implements AuditSource {
  readonly target: StoreTarget;
  private readonly pool: pg.Pool;
  private readonly pageSize: number;

  constructor(options: StoreSourceOptions) {
    this.target = storeTarget(options.url, options.env);
    this.pool = new pg.Pool({ connectionString: this.target.connectionString, max: 1, application_name: 'scopegate-audit-read', allowExitOnIdle: true, connectionTimeoutMillis: 10_000 });
    this.pool.on('error', () => undefined);
    this.pageSize = options.pageSize ?? 2000;
  }

  async *records(query: AuditQuery = {}): AsyncGenerator<AuditRecord> {
    const { where, values } = prefilter(query);
    const after = values.length + 1;
    const sql = `SELECT id, line FROM ${SCHEMA}.audit_events WHERE id > $${after}${where.map((w) => ` AND ${w}`).join('')} ORDER BY id LIMIT ${this.pageSize}`;
    let last = '0';
    for (;;) {
      const rows = await this.select<{ id: string; line: string }>(sql, [...values, last]);
      for (const row of rows) {
        let r: AuditRecord;
        try {
          r = JSON.parse(row.line) as AuditRecord;
        } catch {
          continue;
        }
        if (r && typeof r === 'object' && typeof r.type === 'string' && matches(r, query)) yield r;
      }
      if (rows.length < this.pageSize) return;
      last = rows[rows.length - 1].id;
    }
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }

  /** Runs sql; a store that was never migrated reads as empty. */
  async select<R extends pg.QueryResultRow>(sql: string, values: unknown[]): Promise<R[]> {
    try {
      return (await this.pool.query<R>(sql, values)).rows;
    } catch (err) {
      if ((err as { code?: string }).code === '42P01') return []; // no audit_events table yet
      throw new Error(`audit store ${this.target.display}: ${(err as Error).message}`);
    }
  }
}

/** SQL conditions that keep every row `matches` could accept (and usually few others). */
export function prefilter(q: AuditQuery): { where: string[]; values: unknown[] } {
  const where: string[] = [];
  const values: unknown[] = [];
  const param = (v: unknown): string => `$${values.push(v)}`;
  if (q.types?.length) where.push(`type = ANY(${param(q.types)}::text[])`);
  if (q.session !== undefined) where.push(`session = ${param(q.session)}`);
  if (q.identity !== undefined) where.push(`identity = ${param(q.identity)}`);
  if (q.upstream !== undefined) where.push(`upstream = ${param(q.upstream)}`);
  if (q.verdict !== undefined) where.push(`verdict = ${param(q.verdict)}`);
  if (q.since !== undefined) where.push(`at >= ${param(new Date(q.since).toISOString())}::timestamptz`);
  if (q.until !== undefined) where.push(`at < ${param(new Date(q.until).toISOString())}::timestamptz`);
  if (q.anyText?.length) where.push(`(${q.anyText.map((n) => `strpos(line, ${param(n)}) > 0`).join(' OR ')})`);
  // Case-insensitive text: only when the needle is plain ASCII that JSON writes as it is, so the
  // line holds it verbatim and ILIKE folds case as toLowerCase does.
  if (q.text && /^[\x20-\x7e]*$/.test(q.text) && !/["\\]/.test(q.text)) {
    where.push(`line ILIKE ${param('%' + q.text.replace(/[\\%_]/g, (c) => '\\' + c) + '%')}`);
  }
  return { where, values };
}

export interface ChainCheck {
  chain: string;
  events: number;
  first: { seq: number; hash: string } | null;
  last: { seq: number; hash: string } | null;
  /** The first problem found in this chain, or null. */
  bad: { seq: number; problem: 'edited' | 'malformed' | 'gap' | 'broken-link'; detail: string } | null;
}

/** Checks every chain in the store: each line's own hash, seq without gaps, each prev linking to the record before. */
export async function verifyStoreChains(source: StoreAuditSource): Promise<ChainCheck[]> {
  const chains = await source.select<{ chain: string }>(`SELECT DISTINCT chain FROM ${SCHEMA}.audit_events ORDER BY chain`, []);
  const out: ChainCheck[] = [];
  for (const { chain } of chains) {
    const check: ChainCheck = { chain, events: 0, first: null, last: null, bad: null };
    let after = -1;
    let prev: { seq: number; hash: string } | null = null;
    for (;;) {
      const rows = await source.select<{ seq: string; line: string }>(
        `SELECT seq, line FROM ${SCHEMA}.audit_events WHERE chain = $1 AND seq > $2 ORDER BY seq LIMIT 2000`,
        [chain, after],
      );
      for (const row of rows) {
        const seq = Number(row.seq);
        const c = checkLine(row.line);
        if (!c.ok) {
          check.bad ??= { seq, problem: c.problem, detail: c.detail };
        } else if (prev && seq !== prev.seq + 1) {
          check.bad ??= { seq, problem: 'gap', detail: `seq ${prev.seq + 1}–${seq - 1} missing` };
        } else if (prev ? c.record.prev !== prev.hash : seq === 1 && c.record.prev !== GENESIS) {
          check.bad ??= { seq, problem: 'broken-link', detail: 'prev does not match the hash of the record before' };
        }
        const here: { seq: number; hash: string } = { seq, hash: c.ok ? c.record.hash : '' };
        check.first ??= here;
        check.last = here;
        check.events++;
        prev = here;
      }
      if (rows.length < 2000) break;
      after = Number(rows[rows.length - 1].seq);
    }
    out.push(check);
  }
  return out;
}
