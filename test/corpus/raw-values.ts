// Raw values of the corpus's sensitive columns (policy.md §6 "Leak detection"),
// read directly as superuser and cached per column.
import type { Cluster } from '../harness/cluster.ts';
import { CORPUS_DB } from './fingerprint.ts';

function quoteIdent(s: string): string {
  return `"${s.replaceAll('"', '""')}"`;
}

export class RawValues {
  private cache = new Map<string, Promise<string[]>>();

  constructor(private readonly cluster: Cluster) {}

  /** `SELECT DISTINCT col::text FROM schema.table WHERE col IS NOT NULL` (inherited rows included). */
  column(qualified: string): Promise<string[]> {
    let values = this.cache.get(qualified);
    if (!values) {
      const parts = qualified.split('.');
      if (parts.length !== 3) throw new Error(`leak column must be schema.table.column: ${qualified}`);
      const [schema, table, col] = parts.map(quoteIdent);
      values = this.cluster
        .query<{ v: string }>(`SELECT DISTINCT ${col}::text AS v FROM ${schema}.${table} WHERE ${col} IS NOT NULL`, CORPUS_DB)
        .then((r) => r.rows.map((x) => x.v));
      this.cache.set(qualified, values);
    }
    return values;
  }

  /** The union of the raw values of several columns. */
  async columns(qualified: readonly string[]): Promise<string[]> {
    const lists = await Promise.all(qualified.map((q) => this.column(q)));
    return [...new Set(lists.flat())];
  }
}

export type FindLeak = (haystack: string | Buffer, rawValues: string[]) => string | null;

/**
 * Values the case's own SQL already contains (e.g. `WHERE ssn = '137-14-7919'`)
 * are dropped: the client sent them, so an echo (psql's `LINE 1:` context, an
 * error quoting the statement) reveals nothing.
 */
export function valuesToWatch(sql: string, raw: string[], findLeak: FindLeak): string[] {
  if (findLeak(sql, raw) === null) return raw;
  return raw.filter((v) => findLeak(sql, [v]) === null);
}
