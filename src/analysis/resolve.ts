// Name resolution against the catalog snapshot, as Postgres does it (search_path, pg_temp, pg_catalog).
import type { FunctionInfo, RelationInfo } from './types.ts';
import { requestMissing, unanalysable, type Env } from './env.ts';

export type RelLookup =
  | { status: 'found'; rel: RelationInfo; key: string }
  | { status: 'missing' }
  | { status: 'absent'; name: string }
  | { status: 'invalid' };

export type FnLookup =
  | { status: 'found'; fns: FunctionInfo[]; name: string }
  | { status: 'missing' }
  | { status: 'absent'; name: string }
  | { status: 'invalid' };

export const SYSTEM_SCHEMAS: ReadonlySet<string> = new Set(['pg_catalog', 'information_schema']);

export function relationAt(env: Env, schema: string, name: string): RelationInfo | null | undefined {
  const r = env.catalog.relation(schema, name);
  if (r === undefined) requestMissing(env, { type: 'relation', schema, name });
  return r;
}

function functionsAt(env: Env, schema: string, name: string): FunctionInfo[] | null | undefined {
  const r = env.catalog.functions(schema, name);
  if (r === undefined) requestMissing(env, { type: 'functions', schema, name });
  return r;
}

/** The schemas searched for an unqualified relation name, in order. */
export function relationSearchOrder(env: Env, name: string): string[] {
  const path = env.catalog.searchPath;
  const isTemp = env.context.tempRelations.has(name);
  const out: string[] = [];
  if (isTemp && !path.includes('pg_temp')) out.push('pg_temp');
  if (!path.includes('pg_catalog')) out.push('pg_catalog');
  for (const s of path) {
    if (s === '$user' || out.includes(s)) continue;
    if (s === 'pg_temp' && !isTemp) continue;
    out.push(s);
  }
  return out;
}

/** Check the catalog part of a three-part name; false (and unanalysable) when it names another database. */
export function checkDatabase(env: Env, catalog: string | undefined, display: string): boolean {
  if (catalog === undefined || catalog === env.context.database) return true;
  unanalysable(env, `cross-database reference ${display}`);
  return false;
}

/** Resolve a relation name given as parts (schema optional). */
export function resolveRelation(env: Env, schema: string | undefined, name: string): RelLookup {
  if (schema !== undefined) {
    const r = relationAt(env, schema, name);
    if (r === undefined) return { status: 'missing' };
    if (r === null) return { status: 'absent', name: `${schema}.${name}` };
    return { status: 'found', rel: r, key: schema === 'pg_temp' ? `pg_temp.${name}` : `${r.schema}.${r.name}` };
  }
  let pending = false;
  for (const s of relationSearchOrder(env, name)) {
    const r = relationAt(env, s, name);
    if (r === undefined) { pending = true; continue; }
    if (r === null) continue;
    if (pending) return { status: 'missing' };
    // The session's temp schema is pg_temp_N upstream; policy and lineage name it pg_temp.
    return { status: 'found', rel: r, key: s === 'pg_temp' ? `pg_temp.${name}` : `${r.schema}.${r.name}` };
  }
  if (pending) return { status: 'missing' };
  return { status: 'absent', name: env.context.tempRelations.has(name) ? `pg_temp.${name}` : name };
}

/** Resolve a RangeVar's fields (catalogname, schemaname, relname). */
export function resolveRangeVar(env: Env, rv: { catalogname?: string; schemaname?: string; relname?: string }): RelLookup {
  const name = rv.relname ?? '';
  const display = [rv.catalogname, rv.schemaname, name].filter((x) => x !== undefined).join('.');
  if (!checkDatabase(env, rv.catalogname, display)) return { status: 'invalid' };
  return resolveRelation(env, rv.schemaname, name);
}

/** Resolve a function name (parts as written) to every overload with that name. */
export function resolveFunctions(env: Env, parts: string[]): FnLookup {
  const name = parts[parts.length - 1] ?? '';
  if (parts.length > 3) { unanalysable(env, `improper qualified name ${parts.join('.')}`); return { status: 'invalid' }; }
  if (parts.length === 3 && !checkDatabase(env, parts[0], parts.join('.'))) return { status: 'invalid' };
  const schemas = parts.length >= 2 ? [parts[parts.length - 2]] : functionSearchOrder(env);
  const found: FunctionInfo[] = [];
  let pending = false;
  for (const s of schemas) {
    const r = functionsAt(env, s, name);
    if (r === undefined) { pending = true; continue; }
    if (r) found.push(...r);
  }
  if (pending) return { status: 'missing' };
  if (found.length === 0) return { status: 'absent', name: parts.join('.') };
  return { status: 'found', fns: found, name: parts.join('.') };
}

function functionSearchOrder(env: Env): string[] {
  const out = ['pg_catalog'];
  for (const s of env.catalog.searchPath) {
    if (s === 'pg_temp' || s === '$user' || out.includes(s)) continue;
    out.push(s);
  }
  return out;
}

/** The schema where an unqualified CREATE puts a new object. */
export function creationSchema(env: Env): string {
  for (const s of env.catalog.searchPath) {
    if (s !== 'pg_catalog' && s !== 'pg_temp' && s !== '$user' && !s.startsWith('pg_temp')) return s;
  }
  return 'public';
}
