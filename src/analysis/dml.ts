// INSERT / UPDATE / DELETE / MERGE: write actions, write uses, unfiltered writes, RETURNING lineage.
import { inner, list, names, tag, type Node } from './ast.ts';
import { addAction, addGuardrail, addUses, unanalysable, type Env } from './env.ts';
import { NO_LIN } from './lineage.ts';
import { resolveRangeVar } from './resolve.ts';
import { childScope, makeItem, newLevel, type Scope } from './scope.ts';
import { lockTargets, noteRead, relationColumns } from './relations.ts';
import { analyseSelect, targetList, type OutCol } from './select.ts';
import { buildFrom, fromNode } from './from.ts';
import { clauseExpr, operands } from './expr.ts';
import { withClause } from './cte.ts';
import { isConstTrue } from './const-fold.ts';
import { targetRowFacts, wholeSelect, type Target } from './write-cover.ts';
import { ROW_LOCK_VIA, type Privilege } from './types.ts';

function target(env: Env, rv: Node, privileges: Privilege[], via: string): Target {
  const alias = (rv.alias as Node | undefined)?.aliasname as string | undefined;
  const relname = String(rv.relname ?? '');
  const r = resolveRangeVar(env, rv);
  if (r.status === 'absent') unanalysable(env, `relation ${r.name} does not exist`);
  const only = rv.inh !== true;
  if (r.status !== 'found') return { item: makeItem(alias ?? relname, [], []), key: relname, name: relname, only };
  const reach = lockTargets(env, r.rel, r.key);
  for (const p of privileges) for (const k of reach) addAction(env, p, k, via);
  const item = makeItem(alias ?? relname, relationColumns(env, r.rel, r.key), reach, alias ? undefined : r.key);
  return { item, rel: r.rel, key: r.key, name: relname, only };
}

/** Report 'unfiltered-write' unless the condition is non-constant and references the target. */
function checkFilter(env: Env, scope: Scope, t: Target, cond: Node | undefined, what: string, others: Node[] = []): void {
  if (!cond) { addGuardrail(env, 'unfiltered-write', `${what} ${t.key} without WHERE`, t.key); return; }
  if (tag(cond) === 'CurrentOfExpr') return;
  const before = t.item.refs;
  clauseExpr(env, scope, cond, 'predicate');
  if (isConstTrue(cond, targetRowFacts(env, scope, t, others))) addGuardrail(env, 'unfiltered-write', `${what} ${t.key} with a constant-true condition`, t.key);
  else if (t.item.refs === before) addGuardrail(env, 'unfiltered-write', `${what} ${t.key} with a condition that does not reference it`, t.key);
}

function returning(env: Env, scope: Scope, t: Target, clause: Node | undefined): OutCol[] | null {
  const exprs = list(clause?.exprs);
  if (exprs.length === 0) return null;
  const level = scope.level!;
  for (const alias of ['old', 'new']) {
    if (!level.items.some((i) => i.refname === alias)) {
      level.items.push(makeItem(alias, t.item.cols.map((c) => ({ name: c.name, lin: c.lin })), []));
    }
  }
  const before = t.item.refs;
  const cols = targetList(env, scope, exprs);
  if (t.rel && (t.item.refs > before || cols.length > 0)) noteRead(env, t.rel, t.key, 'RETURNING');
  return cols;
}

function targetScope(outer: Scope, t: Target): Scope {
  const scope = childScope(outer, newLevel());
  scope.level!.items.push(t.item);
  scope.level!.visible.push(t.item.cols);
  return scope;
}

/** Analyse a DML statement (top level or in a CTE); returns RETURNING lineage or null. */
export function analyseDml(env: Env, outer: Scope, n: Node): OutCol[] | null {
  const v = inner(n);
  const base = v.withClause ? withClause(env, outer, v.withClause as Node) : outer;
  switch (tag(n)) {
    case 'InsertStmt': return insert(env, base, v);
    case 'UpdateStmt': return update(env, base, v);
    case 'DeleteStmt': return del(env, base, v);
    case 'MergeStmt': return merge(env, base, v);
    default: unanalysable(env, `unsupported statement ${tag(n)}`); return null;
  }
}

function insert(env: Env, scope: Scope, v: Node): OutCol[] | null {
  const t = target(env, v.relation as Node, ['insert'], 'INSERT');
  if (v.selectStmt) {
    const res = analyseSelect(env, childScope(scope, null), inner(v.selectStmt as Node));
    for (const c of res.cols) addUses(env, c.lin.sources, 'write');
  }
  const oc = v.onConflictClause as Node | undefined;
  const ts = targetScope(scope, t);
  if (oc?.action === 'ONCONFLICT_UPDATE') {
    for (const k of t.item.lockables) addAction(env, 'update', k, 'INSERT ON CONFLICT DO UPDATE');
    const excluded = makeItem('excluded', t.item.cols.map((c) => ({ name: c.name, lin: NO_LIN })), []);
    ts.level!.items.push(excluded);
    setList(env, ts, oc.targetList);
    if (oc.whereClause) clauseExpr(env, ts, oc.whereClause as Node, 'predicate');
    const rows = v.selectStmt ? wholeSelect(env, scope, t, v.selectStmt as Node, 0) : null;
    if (rows?.some((c) => c.col !== null) && (!oc.whereClause || isConstTrue(oc.whereClause as Node))) {
      // Re-inserting the target's own rows: every one conflicts, so DO UPDATE rewrites them all.
      addGuardrail(env, 'unfiltered-write', `INSERT INTO ${t.key} SELECT from itself ON CONFLICT DO UPDATE without a condition`, t.key);
    }
    ts.level!.items.pop();
  }
  return returning(env, ts, t, v.returningClause as Node | undefined);
}

/** SET targets: right-hand sides are written values. */
function setList(env: Env, scope: Scope, targets: unknown): void {
  const seen = new Set<unknown>();
  for (const t of list(targets)) {
    const val = inner(t).val as Node | undefined;
    if (tag(val) === 'MultiAssignRef') {
      const src = inner(val!).source as Node;
      if (seen.has(src)) continue;
      seen.add(src);
      if (tag(src) === 'SubLink') {
        const res = analyseSelect(env, scope, inner(inner(src).subselect as Node));
        for (const c of res.cols) addUses(env, c.lin.sources, 'write');
      } else {
        addUses(env, operands(env, scope, [src]).sources, 'write');
      }
      continue;
    }
    for (const i of list(inner(t).indirection)) if (tag(i) === 'A_Indices') {
      clauseExpr(env, scope, inner(i).lidx as Node | undefined, 'expression');
      clauseExpr(env, scope, inner(i).uidx as Node | undefined, 'expression');
    }
    clauseExpr(env, scope, val, 'write');
  }
}

function update(env: Env, outer: Scope, v: Node): OutCol[] | null {
  const t = target(env, v.relation as Node, ['update'], 'UPDATE');
  const scope = targetScope(outer, t);
  buildFrom(env, scope, v.fromClause);
  const before = t.item.refs;
  setList(env, scope, v.targetList);
  const readInSet = t.item.refs > before;
  checkFilter(env, scope, t, v.whereClause as Node | undefined, 'UPDATE', list(v.fromClause));
  if (t.rel && (readInSet || t.item.refs > before)) noteRead(env, t.rel, t.key, 'UPDATE');
  return returning(env, scope, t, v.returningClause as Node | undefined);
}

function del(env: Env, outer: Scope, v: Node): OutCol[] | null {
  const t = target(env, v.relation as Node, ['delete'], 'DELETE');
  const scope = targetScope(outer, t);
  buildFrom(env, scope, v.usingClause);
  const before = t.item.refs;
  checkFilter(env, scope, t, v.whereClause as Node | undefined, 'DELETE', list(v.usingClause));
  if (t.rel && t.item.refs > before) noteRead(env, t.rel, t.key, 'DELETE');
  return returning(env, scope, t, v.returningClause as Node | undefined);
}

const MERGE_PRIV: Record<string, Privilege | undefined> = { CMD_INSERT: 'insert', CMD_UPDATE: 'update', CMD_DELETE: 'delete' };

function merge(env: Env, outer: Scope, v: Node): OutCol[] | null {
  const t = target(env, v.relation as Node, [], 'MERGE');
  const full = targetScope(outer, t);
  const src = fromNode(env, full, v.sourceRelation as Node, 'MERGE USING');
  full.level!.items.push(...src.items);
  full.level!.visible.push(src.visible);
  const sourceOnly = childScope(outer, { items: src.items, visible: [src.visible] });
  const targetOnly = targetScope(outer, t);
  checkFilter(env, full, t, v.joinCondition as Node | undefined, 'MERGE INTO', [v.sourceRelation as Node]);
  let writes = false;
  for (const w of list(v.mergeWhenClauses)) {
    const c = inner(w);
    const priv = MERGE_PRIV[String(c.commandType)];
    if (priv) {
      for (const k of t.item.lockables) addAction(env, priv, k, 'MERGE');
      writes = true;
    }
    const scope = c.matchKind === 'MERGE_WHEN_NOT_MATCHED_BY_TARGET' ? sourceOnly
      : c.matchKind === 'MERGE_WHEN_NOT_MATCHED_BY_SOURCE' ? targetOnly : full;
    if (c.condition) clauseExpr(env, scope, c.condition as Node, 'predicate');
    if (priv && priv !== 'insert' && c.matchKind === 'MERGE_WHEN_NOT_MATCHED_BY_SOURCE'
      && (!c.condition || isConstTrue(c.condition as Node))) {
      // Every target row the ON condition does not match: the complement of a filter filters nothing.
      addGuardrail(env, 'unfiltered-write', `MERGE INTO ${t.key} WHEN NOT MATCHED BY SOURCE THEN ${priv.toUpperCase()} without a condition of its own`, t.key);
    }
    setList(env, scope, c.targetList);
    for (const val of list(c.values)) clauseExpr(env, scope, val, 'write');
  }
  // Only DO NOTHING: nothing is written, but the target is still locked as for writing (ROW EXCLUSIVE),
  // so it needs what a row lock needs.
  if (!writes) for (const k of t.item.lockables) addAction(env, 'update', k, ROW_LOCK_VIA);
  if (t.rel) noteRead(env, t.rel, t.key, 'MERGE');
  return returning(env, full, t, v.returningClause as Node | undefined);
}

