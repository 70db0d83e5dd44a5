// FROM-clause items: relations, CTE references, subqueries, functions, joins.
import { inner, list, names, tag, type Node } from './ast.ts';
import { addUses, unanalysable, type Env } from './env.ts';
import { alternatives, mixed, NO_LIN, type Lin } from './lineage.ts';
import { resolveRangeVar } from './resolve.ts';
import { findCte, makeItem, type Col, type FromItem, type Scope } from './scope.ts';
import { relationItem } from './relations.ts';
import { analyseSelect } from './select.ts';
import { clauseExpr, expr, operands } from './expr.ts';
import { callRoutine, noteCardinalityArgs } from './functions.ts';
import { typeReference } from './type-refs.ts';

interface Built { items: FromItem[]; visible: Col[] }

/** Add every FROM element to the scope's level, left to right (LATERAL sees earlier items). */
export function buildFrom(env: Env, scope: Scope, from: unknown, via = 'FROM'): void {
  const level = scope.level!;
  for (const n of list(from)) {
    const b = fromNode(env, scope, n, via);
    addItems(level.items, b.items);
    level.visible.push(b.visible);
  }
}

/** A nested join hands back items its own arms already added: each item is in scope once. */
function addItems(into: FromItem[], items: FromItem[]): void {
  for (const i of items) if (!into.includes(i)) into.push(i);
}

function aliasOf(n: Node): { name?: string; cols: string[] } {
  const a = n.alias as Node | undefined;
  return { name: a?.aliasname as string | undefined, cols: names(a?.colnames) };
}

function renamed(cols: { name: string; lin: Lin }[], aliases: string[]): { name: string; lin: Lin }[] {
  return cols.map((c, i) => (i < aliases.length ? { name: aliases[i], lin: c.lin } : c));
}

/** Scope for a non-LATERAL subquery in FROM: it does not see the current level. */
function outerOnly(scope: Scope): Scope {
  return { level: null, parent: scope.parent, ctes: scope.ctes };
}

export function fromNode(env: Env, scope: Scope, n: Node, via: string): Built {
  const t = tag(n);
  const v = inner(n);
  switch (t) {
    case 'RangeVar': return rangeVar(env, scope, v, via);
    case 'RangeSubselect': {
      const { name, cols } = aliasOf(v);
      const res = analyseSelectNode(env, v.lateral ? scope : outerOnly(scope), v.subquery as Node);
      const item = makeItem(name ?? null, renamed(res.cols, cols), res.lockables);
      return { items: [item], visible: item.cols };
    }
    case 'RangeFunction': return rangeFunction(env, scope, v);
    case 'JoinExpr': return joinExpr(env, scope, v, via);
    case 'RangeTableSample': {
      const b = fromNode(env, scope, v.relation as Node, via);
      for (const a of list(v.args)) clauseExpr(env, scope, a, 'predicate');
      clauseExpr(env, scope, v.repeatable as Node | undefined, 'predicate');
      return b;
    }
    case 'RangeTableFunc': return xmlTable(env, scope, v);
    default:
      unanalysable(env, `unsupported FROM item ${t}`);
      return { items: [], visible: [] };
  }
}

function analyseSelectNode(env: Env, scope: Scope, n: Node): { cols: { name: string; lin: Lin }[]; lockables: string[] } {
  if (tag(n) !== 'SelectStmt') {
    unanalysable(env, `unsupported subquery ${tag(n)}`);
    return { cols: [], lockables: [] };
  }
  return analyseSelect(env, scope, inner(n));
}

function rangeVar(env: Env, scope: Scope, v: Node, via: string): Built {
  const { name: alias, cols: aliasCols } = aliasOf(v);
  const relname = String(v.relname ?? '');
  if (!v.schemaname && !v.catalogname) {
    const cte = findCte(scope, relname);
    if (cte) {
      const item = makeItem(alias ?? relname, renamed(cte.cols, aliasCols), cte.lockables);
      return { items: [item], visible: item.cols };
    }
  }
  const r = resolveRangeVar(env, v);
  if (r.status === 'absent') unanalysable(env, `relation ${r.name} does not exist`);
  if (r.status !== 'found') {
    const item = makeItem(alias ?? relname, [], []);
    return { items: [item], visible: [] };
  }
  const item = relationItem(env, r.rel, r.key, via, alias ?? relname, alias !== undefined);
  if (aliasCols.length > 0) {
    for (let i = 0; i < aliasCols.length && i < item.cols.length; i++) item.cols[i].name = aliasCols[i];
  }
  return { items: [item], visible: item.cols };
}

/**
 * XMLTABLE: the document and row path decide how many rows come back; a column's
 * PATH and DEFAULT expressions are evaluated per row and can return any value as-is.
 */
function xmlTable(env: Env, scope: Scope, v: Node): Built {
  const rows = operands(env, scope, [v.docexpr as Node, v.rowexpr as Node]);
  addUses(env, rows.sources, 'predicate');
  const shared = operands(env, scope, list(v.namespaces).map((ns) => inner(ns).val as Node));
  const cols = list(v.columns).map((c) => {
    const col = inner(c);
    typeReference(env, col.typeName);
    const own = operands(env, scope, [col.colexpr as Node, col.coldefexpr as Node]);
    return { name: String(col.colname ?? '?column?'), lin: mixed([rows, shared, own]) };
  });
  const { name, cols: ac } = aliasOf(v);
  const item = makeItem(name ?? 'xmltable', renamed(cols, ac), []);
  return { items: [item], visible: item.cols };
}

function rangeFunction(env: Env, scope: Scope, v: Node): Built {
  const { name: alias, cols: aliasCols } = aliasOf(v);
  const cols: { name: string; lin: Lin }[] = [];
  let firstName = '';
  for (const entry of list(v.functions)) {
    const pair = list(inner(entry).items);
    const call = pair[0];
    const defs = list(pair[1]).length > 0 ? list(pair[1]) : list(v.coldeflist);
    let lin: Lin = NO_LIN;
    let fnames: string[] = [];
    let outputColumns: string[] | undefined;
    if (tag(call) === 'FuncCall') {
      const fc = inner(call);
      fnames = names(fc.funcname);
      const argLins = list(fc.args).map((a) => expr(env, scope, tag(a) === 'NamedArgExpr' ? (inner(a).arg as Node) : a));
      for (const l of argLins) addUses(env, l.sources, 'expression');
      const called = callRoutine(env, fnames, 'from');
      noteCardinalityArgs(env, called.fns, argLins);
      lin = mixed([...argLins, called.lin]);
      outputColumns = called.fns.find((f) => f.outputColumns && f.outputColumns.length > 0)?.outputColumns;
    } else {
      lin = expr(env, scope, call);
      addUses(env, lin.sources, 'expression');
      lin = mixed([lin]);
    }
    const fname = fnames[fnames.length - 1] ?? 'unnamed';
    if (!firstName) firstName = fname;
    if (defs.length > 0) {
      for (const d of defs) {
        typeReference(env, inner(d).typeName);
        cols.push({ name: String(inner(d).colname ?? '?column?'), lin: mixed([lin]) });
      }
    } else if (outputColumns) {
      for (const c of outputColumns) cols.push({ name: c, lin: mixed([lin]) });
    } else {
      // A scalar function column is named by the alias when there is one: generate_series(1,3) g
      const single = list(v.functions).length === 1 && alias !== undefined;
      cols.push({ name: single ? alias! : fname, lin: mixed([lin]) });
    }
  }
  if (v.ordinality) cols.push({ name: 'ordinality', lin: NO_LIN });
  const item = makeItem(alias ?? firstName, renamed(cols, aliasCols), []);
  return { items: [item], visible: item.cols };
}

function joinExpr(env: Env, scope: Scope, v: Node, via: string): Built {
  const level = scope.level!;
  const left = fromNode(env, scope, v.larg as Node, via);
  addItems(level.items, left.items);
  level.visible.push(left.visible);
  const right = fromNode(env, scope, v.rarg as Node, via);
  addItems(level.items, right.items);
  level.visible.pop();
  let using = names(v.usingClause);
  if (v.isNatural) using = left.visible.filter((c) => right.visible.some((r) => r.name === c.name)).map((c) => c.name);
  const merged: Col[] = [];
  for (const u of using) {
    const l = left.visible.filter((c) => c.name === u);
    const r = right.visible.filter((c) => c.name === u);
    if (l.length !== 1 || r.length !== 1) { unanalysable(env, `join column "${u}" is missing or ambiguous`); continue; }
    merged.push({ name: u, lin: alternatives([l[0].lin, r[0].lin]), owners: [...l[0].owners, ...r[0].owners] });
    // USING and NATURAL compare the two sides' columns: a join condition like any ON.
    addUses(env, [...l[0].lin.sources, ...r[0].lin.sources], 'predicate');
  }
  const visible = [
    ...merged,
    ...left.visible.filter((c) => !using.includes(c.name)),
    ...right.visible.filter((c) => !using.includes(c.name)),
  ];
  if (v.quals) {
    level.visible.push(visible);
    clauseExpr(env, scope, v.quals as Node, 'predicate');
    level.visible.pop();
  }
  const items = [...left.items, ...right.items];
  const usingAlias = (v.join_using_alias as Node | undefined)?.aliasname as string | undefined;
  if (usingAlias) {
    const ui = makeItem(usingAlias, merged.map((c) => ({ name: c.name, lin: c.lin })), []);
    items.push(ui);
  }
  const alias = (v.alias as Node | undefined)?.aliasname as string | undefined;
  if (alias) {
    for (const i of items) {
      const k = level.items.indexOf(i);
      if (k >= 0) level.items.splice(k, 1);
    }
    const ac = names((v.alias as Node).colnames);
    const ji = makeItem(alias, renamed(visible.map((c) => ({ name: c.name, lin: c.lin })), ac), items.flatMap((i) => i.lockables));
    return { items: [ji], visible: ji.cols };
  }
  return { items, visible };
}

