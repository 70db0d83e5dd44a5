// Catalog facts for analysis, looked up on a control connection and cached.
// The control connection runs as the upstream role, so search_path resolution
// matches what a session of that role sees.
import pg from 'pg';
import type { CatalogRequest, CatalogSnapshot, FunctionInfo, RelationInfo, RelationKind } from '../analysis/types.ts';

export interface CatalogSource {
  host: string;
  port: number;
  user: string;
  database: string;
  password?: string;
  ttlMs?: number;
}

const relationKinds: Record<string, RelationKind> = {
  r: 'table', p: 'partitioned', v: 'view', m: 'matview', f: 'foreign', S: 'sequence', i: 'index', I: 'index', c: 'composite',
};

const relationSql = `
SELECT c.oid::int AS oid, n.nspname AS schema, c.relname AS name, c.relkind AS kind,
  coalesce((SELECT json_agg(json_build_object('name', a.attname, 'attnum', a.attnum, 'typeOid', a.atttypid::int) ORDER BY a.attnum)
            FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '[]') AS columns,
  CASE WHEN c.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(c.oid) END AS definition,
  coalesce((SELECT json_agg(cn.nspname || '.' || cc.relname) FROM pg_catalog.pg_inherits i
            JOIN pg_catalog.pg_class cc ON cc.oid = i.inhrelid JOIN pg_catalog.pg_namespace cn ON cn.oid = cc.relnamespace
            WHERE i.inhparent = c.oid), '[]') AS children
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2`;

const functionSql = `
SELECT p.oid::int AS oid, n.nspname AS schema, p.proname AS name, p.prokind AS kind, p.provolatile AS volatility,
  p.prosecdef AS "securityDefiner", l.lanname AS language, p.proretset AS "returnsSet",
  CASE WHEN l.lanname IN ('sql', 'plpgsql') THEN
    CASE WHEN p.prosqlbody IS NOT NULL THEN pg_catalog.pg_get_function_sqlbody(p.oid) ELSE p.prosrc END END AS body,
  p.proargnames AS argnames, p.proargmodes::text[] AS argmodes
FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
JOIN pg_catalog.pg_language l ON l.oid = p.prolang
WHERE n.nspname = $1 AND p.proname = $2`;

interface Cached<T> { value: T; expires: number }

/** Live catalog of one upstream database, shared by that upstream's sessions. */
export class Catalog {
  private client: pg.Client | null = null;
  private connecting: Promise<pg.Client> | null = null;
  private relations = new Map<string, Cached<RelationInfo | null>>();
  private functionsByName = new Map<string, Cached<FunctionInfo[] | null>>();
  private searchPath: Cached<string[]> | null = null;
  /** Bumped whenever cached facts are dropped, so caches built on top of them know to drop theirs. */
  generation = 0;

  constructor(private readonly source: CatalogSource, private readonly now: () => number = Date.now) {}

  private get ttl(): number {
    return this.source.ttlMs ?? 30_000;
  }

  invalidate(): void {
    this.relations.clear();
    this.functionsByName.clear();
    this.searchPath = null;
    this.generation++;
  }

  /** A synchronous view for analysis; unknown facts read as undefined. */
  snapshot(): CatalogSnapshot {
    const t = this.now();
    const fresh = <T>(c: Cached<T> | undefined): T | undefined => (c && c.expires > t ? c.value : undefined);
    return {
      searchPath: fresh(this.searchPath ?? undefined) ?? ['pg_catalog', 'public'],
      relation: (schema, name) => fresh(this.relations.get(`${schema}.${name}`)),
      functions: (schema, name) => fresh(this.functionsByName.get(`${schema}.${name}`)),
    };
  }

  /** True while cached facts are within their TTL; when it turns false, everything is reloaded (generation bumps). */
  fresh(): boolean {
    return this.searchPath !== null && this.searchPath.expires > this.now();
  }

  async prepare(): Promise<void> {
    if (this.fresh()) return;
    if (this.searchPath) this.invalidate();
    const res = await this.query<{ path: string[] }>('SELECT pg_catalog.current_schemas(true)::text[] AS path', []);
    const path = res.rows[0].path;
    this.searchPath = { value: path.includes('pg_catalog') ? path : ['pg_catalog', ...path], expires: this.now() + this.ttl };
  }

  async load(requests: CatalogRequest[]): Promise<void> {
    await Promise.all(requests.map((r) => (r.type === 'relation' ? this.loadRelation(r.schema, r.name) : this.loadFunctions(r.schema, r.name))));
  }

  private async loadRelation(schema: string, name: string): Promise<void> {
    const res = await this.query<RelationRow>(relationSql, [schema, name]);
    const row = res.rows[0];
    const value: RelationInfo | null = row
      ? {
          oid: row.oid,
          schema: row.schema,
          name: row.name,
          kind: relationKinds[row.kind] ?? 'other',
          columns: row.columns,
          definition: row.definition ?? undefined,
          children: row.children,
        }
      : null;
    this.relations.set(`${schema}.${name}`, { value, expires: this.now() + this.ttl });
  }

  private async loadFunctions(schema: string, name: string): Promise<void> {
    const res = await this.query<FunctionRow>(functionSql, [schema, name]);
    const value: FunctionInfo[] | null = res.rows.length === 0 ? null : res.rows.map(toFunctionInfo);
    this.functionsByName.set(`${schema}.${name}`, { value, expires: this.now() + this.ttl });
  }

  /** Relation by OID, for checking RowDescription table OIDs; only what is already cached. */
  relationByOid(oid: number): RelationInfo | undefined {
    for (const c of this.relations.values()) if (c.value?.oid === oid) return c.value;
    return undefined;
  }

  private async query<T extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<pg.QueryResult<T>> {
    const client = await this.connect();
    try {
      return await client.query<T>(sql, params);
    } catch (err) {
      if (this.client !== client) return this.query(sql, params); // connection was replaced while we waited
      throw err;
    }
  }

  private connect(): Promise<pg.Client> {
    if (this.client) return Promise.resolve(this.client);
    if (this.connecting) return this.connecting;
    const { host, port, user, database, password } = this.source;
    const client = new pg.Client({ host, port, user, database, password, application_name: 'scopegate-catalog' });
    const drop = (): void => {
      if (this.client === client) {
        this.client = null;
        this.invalidate(); // the database may have been recreated: OIDs and definitions are stale
      }
    };
    client.on('error', drop);
    client.on('end', drop);
    this.connecting = client.connect().then(
      () => {
        this.client = client;
        this.connecting = null;
        return client;
      },
      (err) => {
        this.connecting = null;
        throw err;
      },
    );
    return this.connecting;
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => undefined);
  }
}

interface RelationRow {
  oid: number; schema: string; name: string; kind: string;
  columns: RelationInfo['columns']; definition: string | null; children: string[];
}

interface FunctionRow {
  oid: number; schema: string; name: string; kind: string; volatility: string; securityDefiner: boolean;
  language: string; returnsSet: boolean; body: string | null; argnames: string[] | null; argmodes: string[] | null;
}

function toFunctionInfo(row: FunctionRow): FunctionInfo {
  const kind = row.kind === 'p' ? 'procedure' : row.kind === 'a' ? 'aggregate' : row.kind === 'w' ? 'window' : 'function';
  const volatility = row.volatility === 'i' ? 'immutable' : row.volatility === 's' ? 'stable' : 'volatile';
  const outputColumns = row.argmodes && row.argnames
    ? row.argnames.filter((_, i) => ['o', 't', 'b'].includes(row.argmodes![i]))
    : undefined;
  return {
    oid: row.oid, schema: row.schema, name: row.name, kind, volatility, securityDefiner: row.securityDefiner,
    language: row.language, body: row.body, returnsSet: row.returnsSet,
    outputColumns: outputColumns && outputColumns.length > 0 ? outputColumns : undefined,
  };
}
