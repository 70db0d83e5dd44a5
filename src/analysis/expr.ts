// Expression walker: lineage of a value plus the uses of source columns inside it.
import { inner, list, names, sval, tag, type Node } from './ast.ts';
import { addGuardrail, addUses, unanalysable, type Env } from './env.ts';
import { mixed, NO_LIN, type Lin } from './lineage.ts';
import { lookupColumn, lookupItem, touch, type FromItem, type Scope } from './scope.ts';
import { callRoutine, noteCardinalityArgs } from './functions.ts';
import { analyseSubquery } from './select.ts';
import { checkDatabase } from './resolve.ts';
import { typeReference } from './type-refs.ts';
import { safeArgument, safeCast, safeOperand } from './fallible.ts';
import type { ColumnUseContext } from './types.ts';

const ACTIVITY_QUERY = 'pg_catalog.pg_stat_activity.query';

/** Evaluate an expression in a clause and record `context` uses for every source it reaches. */
export function clauseExpr(env: Env, scope: Scope, n: Node | undefined, context: ColumnUseContext): Lin {
  const lin = expr(env, scope, n);
  addUses(env, lin.sources, context);
  return lin;
}

/** Evaluate operands of a computed value: 'expression' uses, non-direct union. */
export function operands(env: Env, scope: Scope, nodes: readonly (Node | undefined)[]): Lin {
  const lins: Lin[] = [];
  for (const n of nodes) {
    if (!n) continue;
    const l = expr(env, scope, n);
    addUses(env, l.sources, 'expression');
    lins.push(l);
  }
  return mixed(lins);
}

export function noteSourcesReached(env: Env, lin: Lin): void {
  if (lin.sources.includes(ACTIVITY_QUERY)) addGuardrail(env, 'data-catalog', 'pg_stat_activity.query');
}

/** A whole-row reference to a FROM item: every column, not direct, 'whole-row' uses. */
export function wholeRow(env: Env, item: FromItem): Lin {
  item.refs++;
  const lin = mixed(item.cols.map((c) => c.lin));
  noteSourcesReached(env, lin);
  addUses(env, lin.sources, 'whole-row');
  return lin;
}

function columnRef(env: Env, scope: Scope, v: Node): Lin {
  const fields = list(v.fields);
  const star = tag(fields[fields.length - 1]) === 'A_Star';
  const parts = names(star ? fields.slice(0, -1) : fields);
  if (parts.length !== (star ? fields.length - 1 : fields.length)) {
    unanalysable(env, 'unsupported column reference');
    return NO_LIN;
  }
  if (parts.length >= 4 && !checkDatabase(env, parts[0], parts.join('.'))) return NO_LIN;
  if (star) {
    if (parts.length === 0) { unanalysable(env, '* used inside an expression'); return NO_LIN; }
    const item = lookupItem(scope, parts.slice(-2));
    if (item && item !== 'ambiguous') return wholeRow(env, item);
    return unresolved(env, parts, item === 'ambiguous' ? 'is ambiguous' : 'does not exist');
  }
  const { found, fields: extra } = lookupColumn(scope, parts);
  switch (found.kind) {
    case 'col': {
      touch(found.col);
      noteSourcesReached(env, found.col.lin);
      if (extra > 0) {
        addUses(env, found.col.lin.sources, 'expression');
        return mixed([found.col.lin]);
      }
      return { sources: found.col.lin.sources.slice(), direct: found.col.lin.direct };
    }
    case 'row': return wholeRow(env, found.item);
    case 'ambiguous': unanalysable(env, found.what); return NO_LIN;
    default: return unresolved(env, parts, 'does not exist');
  }
}

function unresolved(env: Env, parts: string[], why: string): Lin {
  // Inside routine bodies, unknown names are parameters or variables.
  if (!env.inBody && !env.lenientColumns) unanalysable(env, `column ${parts.join('.')} ${why}`);
  return NO_LIN;
}

/** Sort clauses (ORDER BY items) of aggregates and windows: 'order' uses. */
export function sortUses(env: Env, scope: Scope, sorts: unknown): void {
  for (const s of list(sorts)) clauseExpr(env, scope, inner(s).node as Node, 'order');
}

export function windowUses(env: Env, scope: Scope, w: Node | undefined): void {
  if (!w) return;
  for (const p of list(w.partitionClause)) clauseExpr(env, scope, p, 'group');
  sortUses(env, scope, w.orderClause);
  clauseExpr(env, scope, w.startOffset, 'predicate');
  clauseExpr(env, scope, w.endOffset, 'predicate');
}

function funcCall(env: Env, scope: Scope, v: Node): Lin {
  const fname = names(v.funcname);
  const args = list(v.args);
  const bare = fname[fname.length - 1];
  const presenceCount = bare === 'count' && fname.length <= 2 && (fname.length === 1 || fname[0] === 'pg_catalog')
    && args.length === 1 && !v.agg_distinct && !v.over;
  const argLins: Lin[] = [];
  const builtin = fname.length === 1 || (fname.length === 2 && fname[0] === 'pg_catalog');
  args.forEach((a, i) => {
    const named = tag(a) === 'NamedArgExpr';
    const arg = named ? (inner(a).arg as Node) : a;
    const l = expr(env, scope, arg);
    if (presenceCount && l.direct) { addUses(env, l.sources, 'presence'); return; }
    addUses(env, l.sources, 'expression');
    if (!builtin || !safeArgument(bare, named ? -1 : i)) addUses(env, l.sources, 'fallible');
    argLins.push(l);
  });
  if (v.agg_within_group) {
    // Ordered-set aggregates return values of their WITHIN GROUP expressions.
    for (const s of list(v.agg_order)) {
      const l = clauseExpr(env, scope, inner(s).node as Node, 'order');
      addUses(env, l.sources, 'expression');
      argLins.push(l);
    }
  } else sortUses(env, scope, v.agg_order);
  if (v.agg_filter) clauseExpr(env, scope, v.agg_filter as Node, 'predicate');
  if (v.over) windowUses(env, scope, v.over as Node);
  const called = callRoutine(env, fname, 'expression');
  noteCardinalityArgs(env, called.fns, argLins);
  return mixed([...argLins, called.lin]);
}

function subLink(env: Env, scope: Scope, v: Node): Lin {
  const outs = analyseSubquery(env, scope, v.subselect as Node);
  switch (v.subLinkType) {
    case 'EXISTS_SUBLINK': return { sources: [], direct: false };
    case 'EXPR_SUBLINK': {
      const first = outs[0];
      if (!first) return NO_LIN;
      return { sources: first.lin.sources.slice(), direct: first.lin.direct && outs.length === 1 };
    }
    case 'ARRAY_SUBLINK': {
      const l = mixed(outs.map((o) => o.lin));
      addUses(env, l.sources, 'expression');
      return l;
    }
    default: {
      const test = expr(env, scope, v.testexpr as Node | undefined);
      const l = mixed([test, ...outs.map((o) => o.lin)]);
      addUses(env, l.sources, 'predicate');
      return l;
    }
  }
}

function caseExpr(env: Env, scope: Scope, v: Node): Lin {
  const lins: Lin[] = [];
  if (v.arg) lins.push(clauseExpr(env, scope, v.arg as Node, 'predicate'));
  for (const w of list(v.args)) {
    const cw = inner(w);
    lins.push(clauseExpr(env, scope, cw.expr as Node, 'predicate'));
    lins.push(clauseExpr(env, scope, cw.result as Node, 'expression'));
  }
  if (v.defresult) lins.push(clauseExpr(env, scope, v.defresult as Node, 'expression'));
  return mixed(lins);
}

/** Generic walk for JSON constructor nodes: every nested value is an operand. */
function genericOperands(env: Env, scope: Scope, v: Node): Lin {
  const lins: Lin[] = [];
  const visit = (x: unknown): void => {
    if (Array.isArray(x)) { for (const i of x) visit(i); return; }
    if (x === null || typeof x !== 'object') return;
    const t = tag(x);
    if (!t) return;
    if (t === 'SelectStmt') { lins.push(mixed(analyseSubquery(env, scope, x as Node).map((o) => o.lin))); return; }
    if (EXPR_TAGS.has(t)) { lins.push(expr(env, scope, x as Node)); return; }
    if (t === 'SortBy') { clauseExpr(env, scope, inner(x as Node).node as Node, 'order'); return; }
    if (t === 'WindowDef') { windowUses(env, scope, inner(x as Node)); return; }
    for (const k in inner(x as Node)) visit(inner(x as Node)[k]);
  };
  for (const k in v) visit(v[k]);
  const l = mixed(lins);
  addUses(env, l.sources, 'expression');
  return l;
}

const EXPR_TAGS = new Set([
  'A_Const', 'ParamRef', 'ColumnRef', 'A_Indirection', 'TypeCast', 'CollateClause', 'A_Expr', 'BoolExpr',
  'NullTest', 'BooleanTest', 'CaseExpr', 'CoalesceExpr', 'MinMaxExpr', 'RowExpr', 'A_ArrayExpr', 'SubLink',
  'FuncCall', 'SQLValueFunction', 'XmlExpr', 'XmlSerialize', 'GroupingFunc', 'SetToDefault', 'CurrentOfExpr',
  'NamedArgExpr', 'MergeSupportFunc', 'List',
]);

/** Lineage of an expression; records uses of the columns it reaches. */
export function expr(env: Env, scope: Scope, n: Node | undefined): Lin {
  if (!n) return NO_LIN;
  const t = tag(n);
  const v = inner(n);
  switch (t) {
    case 'A_Const': case 'ParamRef': case 'SQLValueFunction': case 'SetToDefault': case 'CurrentOfExpr':
    case 'MergeSupportFunc':
      return NO_LIN;
    case 'ColumnRef': return columnRef(env, scope, v);
    case 'A_Indirection': {
      const base = expr(env, scope, v.arg as Node);
      addUses(env, base.sources, 'expression');
      const subs: Node[] = [];
      for (const i of list(v.indirection)) {
        if (tag(i) === 'A_Indices') subs.push(inner(i).lidx as Node, inner(i).uidx as Node);
      }
      const idx = operands(env, scope, subs);
      addUses(env, idx.sources, 'fallible');
      return mixed([base, idx]);
    }
    case 'TypeCast': {
      typeReference(env, v.typeName);
      const l = operands(env, scope, [v.arg as Node]);
      if (!safeCast(names(v.typeName?.names), list(v.typeName?.arrayBounds).length > 0)) addUses(env, l.sources, 'fallible');
      return l;
    }
    case 'CollateClause': case 'NamedArgExpr':
      return operands(env, scope, [v.arg as Node]);
    case 'A_Expr': return aExpr(env, scope, v);
    case 'BoolExpr': case 'CoalesceExpr': case 'MinMaxExpr': case 'RowExpr': case 'GroupingFunc':
      return operands(env, scope, list(v.args));
    case 'A_ArrayExpr': return operands(env, scope, list(v.elements));
    case 'List': return operands(env, scope, list(v.items));
    case 'NullTest': {
      const l = expr(env, scope, v.arg as Node);
      if (l.direct) { addUses(env, l.sources, 'presence'); return { sources: [], direct: false }; }
      return mixed([l]);
    }
    case 'BooleanTest': return operands(env, scope, [v.arg as Node]);
    case 'CaseExpr': return caseExpr(env, scope, v);
    case 'SubLink': return subLink(env, scope, v);
    case 'FuncCall': return funcCall(env, scope, v);
    case 'XmlExpr': {
      const named = list(v.named_args).map((r) => inner(r).val as Node);
      const l = operands(env, scope, [...named, ...list(v.args)]);
      if (v.op === 'IS_XMLPARSE') addUses(env, l.sources, 'fallible');
      return l;
    }
    case 'XmlSerialize':
      typeReference(env, v.typeName);
      return operands(env, scope, [v.expr as Node]);
    default:
      if (t.startsWith('Json')) {
        const l = genericOperands(env, scope, v);
        // JSON_VALUE / JSON_QUERY / JSON_TABLE / JSON(text) parse or evaluate their input and can fail on it.
        if (FALLIBLE_JSON.has(t)) addUses(env, l.sources, 'fallible');
        return l;
      }
      unanalysable(env, `unsupported expression node ${t || typeof n}`);
      return NO_LIN;
  }
}

const FALLIBLE_JSON = new Set(['JsonFuncExpr', 'JsonTable', 'JsonParseExpr', 'JsonScalarExpr']);

/** Expression kinds that only compare their operands (IN, BETWEEN, IS DISTINCT FROM, NULLIF). */
const COMPARING_KINDS = new Set([
  'AEXPR_IN', 'AEXPR_BETWEEN', 'AEXPR_NOT_BETWEEN', 'AEXPR_BETWEEN_SYM', 'AEXPR_NOT_BETWEEN_SYM',
  'AEXPR_DISTINCT', 'AEXPR_NOT_DISTINCT', 'AEXPR_NULLIF',
]);

function aExpr(env: Env, scope: Scope, v: Node): Lin {
  const op = names(v.name);
  if (op.length > 1 && op[0] !== 'pg_catalog') {
    unanalysable(env, `operator ${op.join('.')} outside pg_catalog`);
  }
  const name = op[op.length - 1] ?? '';
  const lins: Lin[] = [];
  for (const [side, n] of [['left', v.lexpr], ['right', v.rexpr]] as const) {
    if (!n) continue;
    const l = operands(env, scope, [n as Node]);
    if (!COMPARING_KINDS.has(String(v.kind)) && !safeOperand(name, side)) addUses(env, l.sources, 'fallible');
    lins.push(l);
  }
  return mixed(lins);
}

/** Output name of an EXPR sublink: the subquery's first output name (computed without side effects). */
export function sublinkName(sub: Node): string | undefined {
  let s = inner(sub);
  while (s.op && s.op !== 'SETOP_NONE' && s.larg) s = s.larg as Node;
  const first = list(s.targetList)[0];
  if (!first) return undefined;
  const rt = inner(first);
  if (rt.name) return String(rt.name);
  const val = rt.val as Node | undefined;
  if (tag(val) === 'ColumnRef') {
    const f = list(inner(val!).fields);
    return sval(f[f.length - 1]);
  }
  return undefined;
}

