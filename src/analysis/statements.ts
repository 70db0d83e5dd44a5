// One statement: dispatch by node type to the module that knows it; wrappers (PREPARE, DECLARE, EXPLAIN).
import { constOf, inner, list, names, tag, type Node } from './ast.ts';
import { addGuardrail, addUses, newSink, requestMissing, rootEnv, unanalysable, type Env, type Sink } from './env.ts';
import { EMPTY_SCOPE } from './scope.ts';
import { analyseSelect, type OutCol } from './select.ts';
import { analyseDml } from './dml.ts';
import { copyStatement } from './copy.ts';
import { setStatement, transactionOptions } from './set-params.ts';
import { utilityStatement } from './utility.ts';
import { createTableAs, createView } from './ddl-bodies.ts';
import { expr } from './expr.ts';
import { callRoutine } from './functions.ts';
import { catalogScope } from './catalog-scope.ts';
import { SYSTEM_SCHEMAS } from './resolve.ts';
import type { OutputColumn, StatementAnalysis, StatementKind } from './types.ts';

/** What a statement is, beyond the facts that went into the sink. */
export interface StmtFacts {
  kind: StatementKind;
  output: OutputColumn[] | null;
  extra?: Partial<StatementAnalysis>;
}

const TRANSACTION_KINDS: Record<string, NonNullable<StatementAnalysis['transaction']>> = {
  TRANS_STMT_BEGIN: 'begin', TRANS_STMT_START: 'begin', TRANS_STMT_COMMIT: 'commit', TRANS_STMT_ROLLBACK: 'rollback',
  TRANS_STMT_SAVEPOINT: 'savepoint', TRANS_STMT_RELEASE: 'release', TRANS_STMT_ROLLBACK_TO: 'rollback-to',
  TRANS_STMT_PREPARE: 'prepare-transaction', TRANS_STMT_COMMIT_PREPARED: 'commit-prepared',
  TRANS_STMT_ROLLBACK_PREPARED: 'rollback-prepared',
};

const TWO_PHASE = new Set(['prepare-transaction', 'commit-prepared', 'rollback-prepared']);

function outputOf(cols: OutCol[]): OutputColumn[] {
  return cols.map((c) => ({ name: c.name, sources: c.lin.sources.slice(), direct: c.lin.direct }));
}

const DML_KIND: Record<string, StatementKind> = { InsertStmt: 'insert', UpdateStmt: 'update', DeleteStmt: 'delete', MergeStmt: 'merge' };

/** Analyse one statement node into env's sink (shared with the caller: nested bodies use this too). */
export function runStatement(env: Env, n: Node, sql = ''): StmtFacts {
  const t = tag(n);
  const v = inner(n);
  switch (t) {
    case 'SelectStmt':
      if (v.intoClause) {
        createTableAs(env, v.intoClause as Node, { SelectStmt: { ...v, intoClause: undefined } }, 'SELECT INTO');
        return { kind: 'ddl', output: null };
      }
      return { kind: 'select', output: outputOf(analyseSelect(env, EMPTY_SCOPE, v).cols) };
    case 'InsertStmt': case 'UpdateStmt': case 'DeleteStmt': case 'MergeStmt': {
      const cols = analyseDml(env, EMPTY_SCOPE, n);
      return { kind: DML_KIND[t], output: cols ? outputOf(cols) : null };
    }
    case 'CopyStmt': {
      const c = copyStatement(env, v);
      return { kind: c.kind, output: c.output, extra: { copy: c.copy } };
    }
    case 'TransactionStmt': {
      const detail = TRANSACTION_KINDS[String(v.kind)];
      transactionOptions(env, list(v.options), 'BEGIN');
      if (detail && TWO_PHASE.has(detail)) {
        // A prepared transaction outlives the session (locks and all) and any session of the same role can
        // finish it: another identity's work committed or rolled back, outside every check made here.
        addGuardrail(env, 'server-admin', `two-phase commit (${detail.replace('-', ' ').toUpperCase()})`);
      }
      return { kind: 'transaction', output: null, extra: detail ? { transaction: detail } : {} };
    }
    case 'VariableSetStmt': setStatement(env, v); return { kind: 'set', output: null };
    case 'VariableShowStmt': {
      const name = String(v.name ?? '');
      const output = name === 'all'
        ? ['name', 'setting', 'description'].map((c) => ({ name: c, sources: [], direct: false }))
        : [{ name, sources: [], direct: false }];
      return { kind: 'show', output };
    }
    case 'CreateTableAsStmt':
      createTableAs(env, v.into as Node, v.query as Node | undefined, v.objtype === 'OBJECT_MATVIEW' ? 'CREATE MATERIALIZED VIEW' : 'CREATE TABLE AS');
      return { kind: 'ddl', output: null };
    case 'ViewStmt': createView(env, v); return { kind: 'ddl', output: null };
    case 'CallStmt': {
      const fc = (v.funccall as Node | undefined) ?? {};
      for (const a of list(fc.args)) addUses(env, expr(env, EMPTY_SCOPE, a).sources, 'expression');
      callRoutine(env, names(fc.funcname), 'call');
      return { kind: 'call', output: null };
    }
    case 'ExecuteStmt':
      for (const p of list(v.params)) addUses(env, expr(env, EMPTY_SCOPE, p).sources, 'expression');
      return { kind: 'execute', output: null, extra: { name: String(v.name ?? '') } };
    case 'DeallocateStmt':
      return { kind: 'deallocate', output: null, extra: { name: v.isall || v.name === undefined ? '*' : String(v.name) } };
    case 'FetchStmt': return { kind: 'fetch', output: null, extra: { name: String(v.portalname ?? '') } };
    case 'ClosePortalStmt': return { kind: 'close-cursor', output: null, extra: { name: v.portalname === undefined ? '*' : String(v.portalname) } };
    case 'PrepareStmt': case 'DeclareCursorStmt': case 'ExplainStmt': return wrapper(env, t, v, sql);
    default: {
      const kind = utilityStatement(env, t, v, sql);
      if (kind) return { kind, output: null };
      unanalysable(env, `unsupported statement ${t || 'node'}`);
      return { kind: 'other', output: null };
    }
  }
}

/** PREPARE / DECLARE / EXPLAIN: the inner statement is analysed on its own, and its facts are the wrapper's too. */
function wrapper(env: Env, t: string, v: Node, sql: string): StmtFacts {
  const q = v.query as Node | undefined;
  if (t === 'ExplainStmt' && tag(q) === 'ExecuteStmt' && runsStatement(v)) {
    // EXPLAIN ANALYZE EXECUTE runs a prepared statement, but only a bare EXECUTE is judged by what it
    // runs (a held write would run unreviewed, an expired grant would still apply): fail closed.
    unanalysable(env, 'EXPLAIN ANALYZE EXECUTE: run the prepared statement with EXECUTE, whose verdict is checked');
  }
  const inner = q ? analyseInner(env, q, sql) : undefined;
  if (!inner) unanalysable(env, `${t} without a statement`);
  if (t === 'PrepareStmt') return { kind: 'prepare', output: null, extra: { name: String(v.name ?? ''), inner } };
  if (t === 'DeclareCursorStmt') {
    return { kind: 'declare', output: null, extra: { name: String(v.portalname ?? ''), binaryCursor: (Number(v.options ?? 0) & 1) === 1, inner } };
  }
  // EXPLAIN with or without ANALYZE carries the inner statement's facts: explaining a denied statement is denied.
  return { kind: 'explain', output: [{ name: 'QUERY PLAN', sources: [], direct: false }] };
}

/** EXPLAIN (ANALYZE) / EXPLAIN ANALYZE: the statement is executed, not only planned. */
function runsStatement(v: Node): boolean {
  return list(v.options).some((o) => {
    const d = inner(o);
    if (String(d.defname ?? '').toLowerCase() !== 'analyze') return false;
    const arg = d.arg as Node | undefined;
    if (!arg) return true;
    const c = tag(arg) === 'A_Const' ? constOf(inner(arg)) : undefined;
    const text = c ? (c.type === 'null' ? 'false' : String(c.value).toLowerCase()) : String(inner(arg).sval ?? inner(arg).boolval ?? 'true').toLowerCase();
    return !['false', 'off', '0', 'no'].includes(text);
  });
}

function analyseInner(env: Env, q: Node, sql: string): StatementAnalysis {
  const sink = newSink();
  const sub: Env = { ...rootEnv(env.catalog, env.context, sink), via: env.via, recordUses: env.recordUses, depth: env.depth, expanding: env.expanding, inBody: env.inBody };
  const a = buildAnalysis(sub, q, sql);
  mergeSink(env.sink, sink);
  return a;
}

function mergeSink(into: Sink, from: Sink): void {
  for (const x of from.actions) pushUnique(into, `a\u0000${x.privilege}\u0000${x.object}\u0000${x.via}`, () => into.actions.push(x));
  for (const x of from.guardrails) pushUnique(into, `g\u0000${x.rule}\u0000${x.detail}`, () => into.guardrails.push(x));
  for (const x of from.uses) pushUnique(into, `u\u0000${x.column}\u0000${x.context}`, () => into.uses.push(x));
  for (const [k, r] of from.missing) into.missing.set(k, r);
  into.readsCatalog ||= from.readsCatalog;
  into.changesCatalog ||= from.changesCatalog;
  for (const t of from.createsTemp) if (!into.createsTemp.includes(t)) into.createsTemp.push(t);
}

function pushUnique(sink: Sink, key: string, push: () => void): void {
  if (sink.seen.has(key)) return;
  sink.seen.add(key);
  push();
}

/** Run a statement in env and describe it from env's sink. */
export function buildAnalysis(env: Env, n: Node, sql: string): StatementAnalysis {
  const facts = runStatement(env, n, sql);
  const s = env.sink;
  const a: StatementAnalysis = {
    kind: facts.kind, node: tag(n), sql, actions: s.actions, guardrails: s.guardrails, output: facts.output, uses: s.uses,
    ...facts.extra,
  };
  if (s.createsTemp.length > 0) a.createsTemp = s.createsTemp;
  if (s.changesCatalog) a.changesCatalog = true;
  if (s.readsCatalog) describeMetadataQuery(env, n, a);
  return a;
}

/** The names a metadata query is about, and whether some catalog read in it could list every object. */
function describeMetadataQuery(env: Env, n: Node, a: StatementAnalysis): void {
  const scope = catalogScope(n);
  const found = [...stringConstants(n), ...scope.names];
  let unresolved: string | undefined;
  for (const p of scope.patterns) {
    const hits = env.catalog.objectsMatching(p.op, p.pattern);
    if (hits === undefined) requestMissing(env, { type: 'matching', schema: p.op, name: p.pattern });
    else if (hits === null) unresolved ??= `a name pattern the catalog could not evaluate ('${p.pattern}')`;
    else found.push(...withinSchemas(hits, p.withinSchemas));
  }
  for (const oid of scope.oids) {
    const hits = env.catalog.objectsWithOid(oid);
    if (hits === undefined) requestMissing(env, { type: 'oid', schema: '*', name: String(oid) });
    else found.push(...hits);
  }
  if (scope.visible) found.push(...env.catalog.searchPath.filter((s) => !SYSTEM_SCHEMAS.has(s) && !s.startsWith('pg_temp')));
  a.catalogNames = withSchemas(env, [...new Set(found)]);
  const unnarrowed = scope.unnarrowed ?? unresolved;
  if (unnarrowed) a.catalogUnnarrowed = unnarrowed;
}

/**
 * Pattern matches kept to the schemas the query reads them in (a bare schema match is no relation).
 * A match is `schema.relation` as stored, case and all; one that could be read as lying in any of
 * those schemas is kept (a schema name may itself hold a dot).
 */
function withinSchemas(hits: string[], schemas: string[] | undefined): string[] {
  if (!schemas) return hits;
  return hits.filter((h) => schemas.some((s) => h.startsWith(`${s}.`)));
}

const BARE_NAME = /^[a-z_][a-z0-9_$]{0,62}$/;

/**
 * A metadata query may name a relation without its schema (`WHERE relname =
 * 'api_keys'`): each such name also stands for schema.name in every schema
 * that holds a relation of that name, so a deny rule on the schema applies.
 */
function withSchemas(env: Env, constants: string[]): string[] {
  const out = [...constants];
  for (const c of constants) {
    if (!BARE_NAME.test(c)) continue;
    const schemas = env.catalog.schemasOf(c);
    if (schemas === undefined) requestMissing(env, { type: 'relname', schema: '*', name: c });
    else for (const s of schemas) out.push(`${s}.${c}`);
  }
  return out;
}

/** Every string constant in a statement tree, lower-cased (for catalog metadata queries). */
export function stringConstants(n: Node): string[] {
  const out = new Set<string>();
  const visit = (x: unknown): void => {
    if (Array.isArray(x)) { for (const i of x) visit(i); return; }
    if (x === null || typeof x !== 'object') return;
    const o = x as Node;
    if (o.A_Const && o.A_Const.sval) {
      const c = constOf(o.A_Const as Node);
      if (c.type === 'string') out.add(c.value.toLowerCase());
    }
    for (const k in o) visit(o[k]);
  };
  visit(n);
  return [...out];
}
