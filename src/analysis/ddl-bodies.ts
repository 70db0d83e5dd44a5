// DDL that contains code: CREATE TABLE defaults, CREATE FUNCTION bodies, CREATE VIEW / TABLE AS queries.
import { defArgText, inner, list, names, tag, type Node } from './ast.ts';
import { addAction, addGuardrail, unanalysable, type Env } from './env.ts';
import { createdRelation, ddl, existingRangeVar, qualified } from './ddl-targets.ts';
import { EMPTY_SCOPE } from './scope.ts';
import { expr } from './expr.ts';
import { analyseSelect } from './select.ts';
import { analyseSqlBodyNode, analyseSqlText, enterBody } from './bodies.ts';
import { analysePlpgsql } from './plpgsql.ts';
import { runStatement } from './statements.ts';
import { typeReference } from './type-refs.ts';

/** Expressions stored by DDL (defaults, CHECK, index expressions): their function calls count. */
export function ddlExpressions(env: Env, nodes: (Node | undefined)[]): void {
  const lenient: Env = { ...env, lenientColumns: true };
  for (const n of nodes) if (n) expr(lenient, EMPTY_SCOPE, n);
}

export function createTable(env: Env, v: Node): void {
  ddl(env, createdRelation(env, (v.relation as Node | undefined) ?? {}), 'CREATE TABLE');
  for (const p of list(v.inhRelations)) if (tag(p) === 'RangeVar') ddl(env, existingRangeVar(env, inner(p), false), 'CREATE TABLE INHERITS');
  // CREATE TABLE t OF s.r: the new table takes r's row type, so its columns.
  if (v.ofTypename) typeReference(env, v.ofTypename);
  const exprs: Node[] = [];
  for (const e of list(v.tableElts)) {
    const el = inner(e);
    if (tag(e) === 'ColumnDef') {
      if (el.raw_default) exprs.push(el.raw_default as Node);
      for (const k of list(el.constraints)) if (inner(k).raw_expr) exprs.push(inner(k).raw_expr as Node);
    } else if (tag(e) === 'Constraint' && el.raw_expr) exprs.push(el.raw_expr as Node);
  }
  ddlExpressions(env, exprs);
  referencedRelations(env, list(v.tableElts));
}

/**
 * Relations a table definition reads: LIKE copies another table's columns, defaults
 * and constraints; a foreign key checks the referenced table's rows on every write;
 * a column typed with a relation's row type takes its shape, as a cast to it does.
 */
export function referencedRelations(env: Env, elements: Node[]): void {
  for (const e of elements) {
    const el = inner(e);
    if (tag(e) === 'ColumnDef') typeReference(env, el.typeName);
    if (tag(e) === 'TableLikeClause') readRelation(env, el.relation as Node | undefined, 'CREATE TABLE LIKE');
    const constraints = tag(e) === 'ColumnDef' ? list(el.constraints) : tag(e) === 'Constraint' ? [e] : [];
    for (const k of constraints) {
      if (inner(k).contype === 'CONSTR_FOREIGN') readRelation(env, inner(k).pktable as Node | undefined, 'FOREIGN KEY REFERENCES');
    }
  }
}

function readRelation(env: Env, rv: Node | undefined, via: string): void {
  if (rv) addAction(env, 'read', existingRangeVar(env, rv, false), via);
}

/** CREATE TABLE AS / SELECT INTO / CREATE MATERIALIZED VIEW: DDL on the new relation plus the query. */
export function createTableAs(env: Env, into: Node, query: Node | undefined, what: string): void {
  ddl(env, createdRelation(env, (into.rel as Node | undefined) ?? {}), what);
  if (!query) return;
  if (tag(query) === 'SelectStmt') analyseSelect(env, EMPTY_SCOPE, inner(query));
  // CREATE TABLE AS EXECUTE runs a prepared statement whose verdict is not checked here: fail closed.
  else if (tag(query) === 'ExecuteStmt') unanalysable(env, `${what} EXECUTE: the prepared statement it runs is not judged here`);
  else runStatement(env, query);
}

export function createView(env: Env, v: Node): void {
  ddl(env, createdRelation(env, (v.view as Node | undefined) ?? {}), 'CREATE VIEW');
  const q = v.query as Node | undefined;
  if (q && tag(q) === 'SelectStmt') analyseSelect(env, EMPTY_SCOPE, inner(q));
}

/** CREATE FUNCTION / PROCEDURE: DDL, SECURITY DEFINER, and the body's actions. */
export function createFunction(env: Env, v: Node, sql: string): void {
  const parts = names(v.funcname);
  const qn = qualified(env, parts);
  ddl(env, qn, v.is_procedure ? 'CREATE PROCEDURE' : 'CREATE FUNCTION');
  let language = 'sql';
  let body: string | undefined;
  for (const o of list(v.options)) {
    const d = inner(o);
    if (d.defname === 'language') language = (defArgText(d.arg as Node) ?? '').toLowerCase();
    if (d.defname === 'security' && (d.arg === undefined || inner(d.arg as Node).boolval)) addGuardrail(env, 'security-definer', `CREATE FUNCTION ${qn} SECURITY DEFINER`);
    if (d.defname === 'as') {
      const items = tag(d.arg as Node) === 'List' ? list(inner(d.arg as Node).items) : [d.arg as Node];
      body = items.length === 1 ? defArgText(items[0]) : undefined;
      if (items.length !== 1) body = undefined;
    }
  }
  const sub = enterBody(env, `function ${qn}`);
  if (!sub) return;
  if (language === 'sql') {
    if (v.sql_body) analyseSqlBodyNode(sub, v.sql_body as Node);
    else if (body !== undefined) analyseSqlText(sub, body);
    else unanalysable(env, `function ${qn} has no SQL body`);
  } else if (language === 'plpgsql') {
    analysePlpgsql(sub, { createSql: sql, procedure: Boolean(v.is_procedure), returnsSet: false });
  } else {
    unanalysable(env, `function ${qn} body in language ${language} cannot be analysed`);
  }
}
