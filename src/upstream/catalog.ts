// Catalog facts for analysis, looked up on a control connection and cached.
// The control connection runs as the upstream role, so search_path resolution
// matches what a session of that role sees.
import pg from 'pg';
import type { CatalogRequest, CatalogSnapshot, FunctionInfo, PatternOp, RelationInfo, RelationKind } from '../analysis/types.ts';

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
  coalesce((SELECT json_agg(json_build_object('name', a.attname, 'attnum', a.attnum, 'typeOid', a.atttypid::int, 'notNull', a.attnotnull) ORDER BY a.attnum)
            FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '[]') AS columns,
  CASE WHEN c.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(c.oid) END AS definition,
  coalesce((SELECT json_agg(cn.nspname || '.' || cc.relname) FROM pg_catalog.pg_inherits i
            JOIN pg_catalog.pg_class cc ON cc.oid = i.inhrelid JOIN pg_catalog.pg_namespace cn ON cn.oid = cc.relnamespace
            WHERE i.inhparent = c.oid), '[]') AS children
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE (n.nspname, c.relname) IN (SELECT * FROM unnest($1::text[], $2::text[]))`;

/** Schemas (other than the catalogs and TOAST) holding a relation of each name. */
const relnameSql = `
SELECT c.relname AS name, array_agg(DISTINCT n.nspname::text) AS schemas
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname = ANY ($1::text[]) AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
GROUP BY c.relname`;

const functionSql = `
SELECT p.oid::int AS oid, n.nspname AS schema, p.proname AS name, p.prokind AS kind, p.provolatile AS volatility,
  p.prosecdef AS "securityDefiner", l.lanname AS language, p.proretset AS "returnsSet",
  CASE WHEN l.lanname IN ('sql', 'plpgsql') THEN
    CASE WHEN p.prosqlbody IS NOT NULL THEN pg_catalog.pg_get_function_sqlbody(p.oid) ELSE p.prosrc END END AS body,
  p.proargnames AS argnames, p.proargmodes::text[] AS argmodes
FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
JOIN pg_catalog.pg_language l ON l.oid = p.prolang
WHERE (n.nspname, p.proname) IN (SELECT * FROM unnest($1::text[], $2::text[]))`;

/** User objects only: what deny rules can name. */
const USER_SCHEMA = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'`;

/** The SQL operator of each pattern kind (fixed text: only the pattern is a parameter). */
const PATTERN_SQL: Record<PatternOp, string> = { like: 'LIKE', ilike: 'ILIKE', similar: 'SIMILAR TO', regex: '~', iregex: '~*' };

const matchingSql = (op: PatternOp): string => `
SELECT n.nspname || '.' || c.relname AS name FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname ${PATTERN_SQL[op]} $1 AND ${USER_SCHEMA}
UNION ALL
SELECT n.nspname FROM pg_catalog.pg_namespace n WHERE n.nspname ${PATTERN_SQL[op]} $1 AND ${USER_SCHEMA}`;

const oidSql = `
SELECT c.oid::int8 AS oid, n.nspname || '.' || c.relname AS name FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = ANY ($1::oid[]) AND ${USER_SCHEMA}
UNION ALL
SELECT n.oid::int8, n.nspname FROM pg_catalog.pg_namespace n WHERE n.oid = ANY ($1::oid[]) AND ${USER_SCHEMA}`;

interface Cached<T> { value: T; expires: number }

/** Live catalog of one upstream database, shared by that upstream's sessions. */
export class Catalog {
  private client: pg.Client | null = null;
  private connecting: Promise<pg.Client> | null = null;
  private relations = new Map<string, Cached<RelationInfo | null>>();
  private functionsByName = new Map<string, Cached<FunctionInfo[] | null>>();
  private schemasByRelname = new Map<string, Cached<string[]>>();
  private matches = new Map<string, Cached<string[] | null>>();
  private objectsByOid = new Map<number, Cached<string[]>>();
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
    this.schemasByRelname.clear();
    this.matches.clear();
    this.objectsByOid.clear();
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
      schemasOf: (name) => fresh(this.schemasByRelname.get(name)),
      objectsMatching: (op, pattern) => fresh(this.matches.get(`${op}:${pattern}`)),
      objectsWithOid: (oid) => fresh(this.objectsByOid.get(oid)),
    };
  }

  /** True while cached facts are within their TTL; when it turns false, everything is reloaded (generation bumps). */
  fresh(): boolean {
    return this.searchPath !== null && this.searchPath.expires > this.now();
  }

  /** Concurrent callers (a session's prefetch, the first analysis) share one lookup. */
  prepare(): Promise<void> {
    if (this.fresh()) return Promise.resolve();
    return this.once('search_path', () => this.loadSearchPath());
  }

  private async loadSearchPath(): Promise<void> {
    if (this.fresh()) return;
    if (this.searchPath) this.invalidate();
    const res = await this.query<{ path: string[] }>('SELECT pg_catalog.current_schemas(true)::text[] AS path', []);
    const path = res.rows[0].path;
    this.searchPath = { value: path.includes('pg_catalog') ? path : ['pg_catalog', ...path], expires: this.now() + this.ttl };
  }

  /** Fetches what analysis asked for: one round trip per kind of fact, shared by concurrent callers. */
  async load(requests: CatalogRequest[]): Promise<void> {
    const relations = requests.filter((r) => r.type === 'relation');
    const functions = requests.filter((r) => r.type === 'functions');
    const relnames = requests.filter((r) => r.type === 'relname');
    const patterns = requests.filter((r) => r.type === 'matching');
    const oids = requests.filter((r) => r.type === 'oid');
    await Promise.all([
      relnames.length > 0 ? this.once(`n:${keys(relnames)}`, () => this.loadRelnames(relnames)) : undefined,
      patterns.length > 0 ? this.once(`m:${keys(patterns)}`, () => this.loadMatches(patterns)) : undefined,
      oids.length > 0 ? this.once(`o:${keys(oids)}`, () => this.loadOids(oids)) : undefined,
      relations.length > 0 ? this.once(`r:${keys(relations)}`, () => this.loadRelations(relations)) : undefined,
      functions.length > 0 ? this.once(`f:${keys(functions)}`, () => this.loadFunctions(functions)) : undefined,
    ]);
  }

  private inflight = new Map<string, Promise<void>>();

  private once(key: string, load: () => Promise<void>): Promise<void> {
    let p = this.inflight.get(key);
    if (!p) {
      p = load().finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  private async loadRelations(requests: CatalogRequest[]): Promise<void> {
    const res = await this.query<RelationRow>(relationSql, [requests.map((r) => r.schema), requests.map((r) => r.name)]);
    const expires = this.now() + this.ttl;
    for (const r of requests) this.relations.set(`${r.schema}.${r.name}`, { value: null, expires });
    for (const row of res.rows) {
      this.relations.set(`${row.schema}.${row.name}`, {
        value: {
          oid: row.oid,
          schema: row.schema,
          name: row.name,
          kind: relationKinds[row.kind] ?? 'other',
          columns: row.columns,
          definition: row.definition ?? undefined,
          children: row.children,
        },
        expires,
      });
    }
  }

  private async loadRelnames(requests: CatalogRequest[]): Promise<void> {
    const names = requests.map((r) => r.name);
    const res = await this.query<{ name: string; schemas: string[] }>(relnameSql, [names]);
    const expires = this.now() + this.ttl;
    for (const n of names) this.schemasByRelname.set(n, { value: [], expires });
    for (const row of res.rows) this.schemasByRelname.set(row.name, { value: row.schemas, expires });
  }

  private async loadMatches(requests: CatalogRequest[]): Promise<void> {
    for (const r of requests) {
      const op = r.schema as PatternOp;
      let names: string[] | null;
      try {
        names = (await this.query<{ name: string }>(matchingSql(op), [r.name])).rows.map((row) => row.name);
      } catch (err) {
        // An invalid or too complex pattern: unresolved, so the statement counts as unnarrowed (and the error is the database's to report).
        if (!(err instanceof pg.DatabaseError)) throw err;
        names = null;
      }
      this.matches.set(`${op}:${r.name}`, { value: names, expires: this.now() + this.ttl });
    }
  }

  private async loadOids(requests: CatalogRequest[]): Promise<void> {
    const oids = requests.map((r) => Number(r.name)).filter((o) => Number.isInteger(o) && o >= 0 && o <= 0xffffffff);
    const res = await this.query<{ oid: string; name: string }>(oidSql, [oids]);
    const expires = this.now() + this.ttl;
    for (const r of requests) this.objectsByOid.set(Number(r.name), { value: [], expires });
    for (const row of res.rows) this.objectsByOid.set(Number(row.oid), { value: [row.name], expires });
  }

  private async loadFunctions(requests: CatalogRequest[]): Promise<void> {
    const res = await this.query<FunctionRow>(functionSql, [requests.map((r) => r.schema), requests.map((r) => r.name)]);
    const expires = this.now() + this.ttl;
    const found = new Map<string, FunctionInfo[]>();
    for (const row of res.rows) {
      const key = `${row.schema}.${row.name}`;
      found.set(key, [...(found.get(key) ?? []), toFunctionInfo(row)]);
    }
    for (const r of requests) {
      const key = `${r.schema}.${r.name}`;
      this.functionsByName.set(key, { value: found.get(key) ?? null, expires });
    }
  }

  private queue: Promise<unknown> = Promise.resolve();

  /** One query at a time on the control connection (pg would queue them, with a warning). */
  private query<T extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<pg.QueryResult<T>> {
    const run = this.queue.then(() => this.queryNow<T>(sql, params));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async queryNow<T extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<pg.QueryResult<T>> {
    const client = await this.connect();
    try {
      return await client.query<T>(sql, params);
    } catch (err) {
      if (this.client !== client) return this.queryNow(sql, params); // connection was replaced while we waited
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

function keys(requests: CatalogRequest[]): string {
  return requests.map((r) => `${r.schema}.${r.name}`).sort().join(',');
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
