// SELECT: FROM, WHERE, target list, GROUP BY, HAVING, windows, DISTINCT, ORDER BY, LIMIT, set operations, VALUES, row locks.
import { constOf, inner, list, names, tag, type Node } from './ast.ts';
import { addAction, addUses, unanalysable, type Env } from './env.ts';
import { alternatives, figureName, NO_LIN, type Lin } from './lineage.ts';
import { childScope, lookupBareColumn, newLevel, touch, type Scope } from './scope.ts';
import { buildFrom } from './from.ts';
import { clauseExpr, expr, noteSourcesReached, sublinkName, windowUses } from './expr.ts';
import { withClause } from './cte.ts';
import { ROW_LOCK_VIA, type ColumnUseContext } from './types.ts';

export interface OutCol { name: string; lin: Lin }
export interface SelectResult { cols: OutCol[]; lockables: string[] }

/** Outputs of a subquery (sublink or FROM subselect); non-SELECT nodes are unanalysable. */
export function analyseSubquery(env: Env, scope: Scope, n: Node): OutCol[] {
  if (tag(n) !== 'SelectStmt') {
    unanalysable(env, `unsupported subquery ${tag(n)}`);
    return [];
  }
  return analyseSelect(env, scope, inner(n)).cols;
}

/** Analyse a SelectStmt's fields in the scope `outer` (correlated references reach it). */
export function analyseSelect(env: Env, outer: Scope, v: Node): SelectResult {
  const base = v.withClause ? withClause(env, outer, v.withClause as Node) : outer;
  if (v.op && v.op !== 'SETOP_NONE') return setOperation(env, base, v);
  if (list(v.valuesLists).length > 0) return values(env, base, v);
  const scope = childScope(base, newLevel());
  buildFrom(env, scope, v.fromClause);
  if (v.whereClause) clauseExpr(env, scope, v.whereClause as Node, 'predicate');
  const cols = targetList(env, scope, v.targetList);
  for (const g of list(v.groupClause)) groupItem(env, scope, cols, g);
  if (v.havingClause) clauseExpr(env, scope, v.havingClause as Node, 'predicate');
  for (const w of list(v.windowClause)) windowUses(env, scope, inner(w));
  distinct(env, scope, cols, v.distinctClause);
  for (const s of list(v.sortClause)) outputRef(env, scope, cols, inner(s).node as Node, 'order');
  clauseExpr(env, scope, v.limitCount as Node | undefined, 'predicate');
  clauseExpr(env, scope, v.limitOffset as Node | undefined, 'predicate');
  const lockables = scope.level!.items.flatMap((i) => i.lockables);
  rowLocks(env, scope, v.lockingClause);
  return { cols, lockables };
}

/** Target list with * expansion; names as Postgres labels them. */
export function targetList(env: Env, scope: Scope, targets: unknown): OutCol[] {
  const cols: OutCol[] = [];
  for (const t of list(targets)) {
    const rt = inner(t);
    const val = rt.val as Node | undefined;
    if (tag(val) === 'ColumnRef') {
      const fields = list(inner(val!).fields);
      if (tag(fields[fields.length - 1]) === 'A_Star') { cols.push(...expandStar(env, scope, names(fields.slice(0, -1)))); continue; }
    }
    const lin = expr(env, scope, val);
    cols.push({ name: (rt.name as string | undefined) ?? figureName(val, sublinkName), lin });
  }
  return cols;
}

function expandStar(env: Env, scope: Scope, qualifier: string[]): OutCol[] {
  const level = scope.level;
  if (!level) { unanalysable(env, 'SELECT * with no FROM clause'); return []; }
  const cols = qualifier.length === 0
    ? level.visible.flat()
    : level.items.filter((i) => (qualifier.length === 1 ? i.refname === qualifier[0] : i.relKey === qualifier.slice(-2).join('.'))).flatMap((i) => i.cols);
  if (qualifier.length > 0 && cols.length === 0 && !level.items.some((i) => i.refname === qualifier[qualifier.length - 1])) {
    unanalysable(env, `missing FROM-clause entry for ${qualifier.join('.')}`);
  }
  return cols.map((c) => {
    touch(c);
    noteSourcesReached(env, c.lin);
    return { name: c.name, lin: { sources: c.lin.sources.slice(), direct: c.lin.direct } };
  });
}

/** ORDER BY / DISTINCT ON item: output position, output name, or an expression over the FROM scope. */
function outputRef(env: Env, scope: Scope, cols: OutCol[], n: Node, context: ColumnUseContext): void {
  const t = tag(n);
  if (t === 'A_Const') {
    const c = constOf(inner(n));
    if (c.type === 'int') {
      const col = cols[c.value - 1];
      if (col) addUses(env, col.lin.sources, context);
      else unanalysable(env, `position ${c.value} is not in select list`);
      return;
    }
  }
  if (t === 'ColumnRef') {
    const parts = names(inner(n).fields);
    if (parts.length === 1 && list(inner(n).fields).length === 1) {
      const named = cols.filter((c) => c.name === parts[0]);
      if (named.length > 0) {
        for (const c of named) addUses(env, c.lin.sources, context);
        return;
      }
    }
  }
  clauseExpr(env, scope, n, context);
}

/** GROUP BY item: position, input column first, then output name, else an expression. */
function groupItem(env: Env, scope: Scope, cols: OutCol[], n: Node): void {
  const t = tag(n);
  if (t === 'GroupingSet') { for (const c of list(inner(n).content)) groupItem(env, scope, cols, c); return; }
  if (t === 'List') { for (const c of list(inner(n).items)) groupItem(env, scope, cols, c); return; }
  if (t === 'ColumnRef') {
    const f = list(inner(n).fields);
    const parts = names(f);
    if (parts.length === 1 && f.length === 1 && lookupBareColumn(scope, parts[0]).kind === 'none') {
      const named = cols.filter((c) => c.name === parts[0]);
      if (named.length > 0) { for (const c of named) addUses(env, c.lin.sources, 'group'); return; }
    }
    clauseExpr(env, scope, n, 'group');
    return;
  }
  outputRef(env, scope, cols, n, 'group');
}

function distinct(env: Env, scope: Scope, cols: OutCol[], clause: unknown): void {
  const items = list(clause);
  if (items.length === 0) return;
  if (items.length === 1 && !tag(items[0])) {
    for (const c of cols) addUses(env, c.lin.sources, 'group');
    return;
  }
  for (const d of items) outputRef(env, scope, cols, d, 'group');
}

function rowLocks(env: Env, scope: Scope, clauses: unknown): void {
  for (const lc of list(clauses)) {
    const l = inner(lc);
    const rels = list(l.lockedRels).map((r) => String(inner(r).relname ?? ''));
    const items = scope.level!.items.filter((i) => rels.length === 0 || (i.refname !== null && rels.includes(i.refname)));
    if (rels.length > 0 && items.length < rels.length) unanalysable(env, `FOR ${String(l.strength)} names an unknown relation`);
    for (const i of items) for (const k of i.lockables) addAction(env, 'update', k, ROW_LOCK_VIA);
  }
}

function setOperation(env: Env, scope: Scope, v: Node): SelectResult {
  const l = analyseSelect(env, scope, inner({ SelectStmt: v.larg }));
  const r = analyseSelect(env, scope, inner({ SelectStmt: v.rarg }));
  if (l.cols.length !== r.cols.length) unanalysable(env, 'set operation branches have different column counts');
  const cols = l.cols.map((c, i) => ({ name: c.name, lin: alternatives([c.lin, r.cols[i]?.lin ?? NO_LIN]) }));
  // UNION compares rows to drop duplicates; INTERSECT and EXCEPT compare them even with ALL.
  if (!v.all || v.op !== 'SETOP_UNION') for (const c of cols) addUses(env, c.lin.sources, 'group');
  finishResult(env, scope, cols, v);
  return { cols, lockables: [...l.lockables, ...r.lockables] };
}

function values(env: Env, scope: Scope, v: Node): SelectResult {
  const rows = list(v.valuesLists).map((row) => list(inner(row).items).map((cell) => expr(env, scope, cell)));
  const width = rows[0]?.length ?? 0;
  const cols: OutCol[] = [];
  for (let i = 0; i < width; i++) {
    cols.push({ name: `column${i + 1}`, lin: alternatives(rows.map((r) => r[i] ?? NO_LIN)) });
  }
  finishResult(env, scope, cols, v);
  return { cols, lockables: [] };
}

/** ORDER BY / LIMIT on a set operation or VALUES: only output columns are visible. */
function finishResult(env: Env, scope: Scope, cols: OutCol[], v: Node): void {
  const outScope = childScope(scope, { items: [], visible: [cols.map((c) => ({ name: c.name, lin: c.lin, owners: [] }))] });
  for (const s of list(v.sortClause)) outputRef(env, outScope, cols, inner(s).node as Node, 'order');
  clauseExpr(env, scope, v.limitCount as Node | undefined, 'predicate');
  clauseExpr(env, scope, v.limitOffset as Node | undefined, 'predicate');
  if (list(v.lockingClause).length > 0) unanalysable(env, 'row locks on a set operation');
}
