// Relations in queries: read actions, view expansion (recursive), catalog relations.
import { inner, list, tag, type Node } from './ast.ts';
import { addAction, addGuardrail, MAX_NESTING, nestedEnv, unanalysable, type Env } from './env.ts';
import { directLin, NO_LIN, type Lin } from './lineage.ts';
import { isAnalysisError, parseQuery, statementTree } from './parse.ts';
import { resolveRangeVar, SYSTEM_SCHEMAS } from './resolve.ts';
import { EMPTY_SCOPE, makeItem, type FromItem } from './scope.ts';
import { analyseSelect } from './select.ts';
import type { RelationInfo } from './types.ts';

/** Catalog relations whose rows hold data values or other sessions' SQL (pg_stat_activity is per column). */
const DATA_CATALOGS = new Set([
  'pg_statistic', 'pg_stats', 'pg_stats_ext', 'pg_stats_ext_exprs', 'pg_statistic_ext_data', 'pg_authid',
  'pg_shadow', 'pg_user_mappings', 'pg_largeobject', 'pg_stat_statements',
]);

/** Catalog views whose rows are read from server configuration files (pg_hba.conf, postgresql.conf, pg_ident.conf). */
const SERVER_FILE_VIEWS = new Set(['pg_hba_file_rules', 'pg_file_settings', 'pg_ident_file_mappings']);

const SYSTEM_COLUMNS = ['ctid', 'xmin', 'xmax', 'cmin', 'cmax', 'tableoid'];

function isExpandable(rel: RelationInfo): boolean {
  return (rel.kind === 'view' || rel.kind === 'matview') && !SYSTEM_SCHEMAS.has(rel.schema);
}

/** Record a read of a relation (and what reading it implies) without building columns. */
export function noteRead(env: Env, rel: RelationInfo, key: string, via: string): void {
  addAction(env, 'read', key, via);
  if (SYSTEM_SCHEMAS.has(rel.schema)) env.sink.readsCatalog = true;
  if (DATA_CATALOGS.has(rel.name) && (SYSTEM_SCHEMAS.has(rel.schema) || rel.name === 'pg_stat_statements')) {
    addGuardrail(env, 'data-catalog', `${key} holds data values or other sessions' SQL`);
  }
  if (SERVER_FILE_VIEWS.has(rel.name) && SYSTEM_SCHEMAS.has(rel.schema)) {
    addGuardrail(env, 'server-file-function', `${key} reads server configuration files`);
  }
}

/** Column lineage of a relation: its own columns, or for views the definition's outputs by position. */
export function relationColumns(env: Env, rel: RelationInfo, key: string): { name: string; lin: Lin }[] {
  if (isExpandable(rel)) {
    const lins = expandView(env, rel, key);
    return rel.columns.map((c, i) => ({ name: c.name, lin: lins[i] ?? NO_LIN }));
  }
  return rel.columns.map((c) => ({ name: c.name, lin: directLin(`${key}.${c.name}`) }));
}

/** A FROM item for a relation that is read. */
export function relationItem(env: Env, rel: RelationInfo, key: string, via: string, refname: string, aliased: boolean): FromItem {
  noteRead(env, rel, key, via);
  const item = makeItem(refname, relationColumns(env, rel, key), lockTargets(env, rel, key), aliased ? undefined : key);
  if (rel.kind === 'table' || rel.kind === 'partitioned' || rel.kind === 'foreign' || rel.kind === 'matview') {
    item.system = SYSTEM_COLUMNS.map((name) => ({ name, lin: { sources: [], direct: false }, owners: [item] }));
  }
  return item;
}

function expandView(env: Env, rel: RelationInfo, key: string): Lin[] {
  const vkey = `view ${key}`;
  if (env.expanding.has(vkey)) { unanalysable(env, `${vkey} refers to itself`); return []; }
  if (env.depth >= MAX_NESTING) { unanalysable(env, `views/routines nested deeper than ${MAX_NESTING} at ${vkey}`); return []; }
  const stmt = viewQuery(env, rel, key);
  if (!stmt) return [];
  const sub = nestedEnv(env, vkey, vkey, false);
  const res = analyseSelect(sub, EMPTY_SCOPE, inner(stmt));
  if (res.cols.length < rel.columns.length) unanalysable(env, `${vkey}: definition has fewer columns than the view`);
  return res.cols.map((c) => c.lin);
}

function viewQuery(env: Env, rel: RelationInfo, key: string): Node | undefined {
  if (!rel.definition) { unanalysable(env, `view ${key} has no definition`); return undefined; }
  const parsed = parseQuery(rel.definition);
  if (isAnalysisError(parsed) || parsed.statements.length !== 1 || parsed.statements[0].node !== 'SelectStmt') {
    unanalysable(env, `view ${key}: definition does not parse as one SELECT`);
    return undefined;
  }
  return statementTree(parsed.statements[0]);
}

/**
 * Relations a write or lock through `rel` reaches: itself, and for views the relations of the
 * definition's top-level FROM, recursively (auto-updatable views have exactly one).
 */
export function lockTargets(env: Env, rel: RelationInfo, key: string, depth = 0): string[] {
  if (!isExpandable(rel) || rel.kind === 'matview') return [key];
  if (depth >= MAX_NESTING) { unanalysable(env, `views nested deeper than ${MAX_NESTING} at ${key}`); return [key]; }
  const stmt = rel.definition ? viewQuery(env, rel, key) : undefined;
  const out = [key];
  if (!stmt) return out;
  const visit = (n: Node): void => {
    const t = tag(n);
    const v = inner(n);
    if (t === 'JoinExpr') { visit(v.larg as Node); visit(v.rarg as Node); return; }
    if (t !== 'RangeVar') return;
    const r = resolveRangeVar(env, v);
    if (r.status === 'found') out.push(...lockTargets(env, r.rel, r.key, depth + 1));
  };
  for (const f of list(inner(stmt).fromClause)) visit(f);
  return out;
}
