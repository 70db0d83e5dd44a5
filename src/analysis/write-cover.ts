// What an UPDATE / DELETE / MERGE target's rows tell about its condition: NOT NULL columns, and reads of
// the target itself, whole, that every row passes (`id IN (SELECT id FROM t)`, `FROM t s WHERE t.id = s.id`,
// `EXISTS (SELECT FROM t x WHERE x.id = t.id)`, `id >= (SELECT min(id) FROM t)`): such a condition filters
// nothing, so the write is as unfiltered as one without WHERE.
import { inner, list, names, tag, type Node } from './ast.ts';
import type { Env } from './env.ts';
import { resolveRangeVar } from './resolve.ts';
import { findCte, lookupColumn, lookupItem, type Col, type FromItem, type Scope } from './scope.ts';
import { isConstTrue, evalConst, type RowFacts } from './const-fold.ts';
import type { RelationInfo } from './types.ts';

export interface Target {
  item: FromItem; rel?: RelationInfo; key: string; name: string;
  /** Written with ONLY: inheritance children are not targets. */
  only: boolean;
}

/** One output column of a whole read of the target: its name, and the target column it copies (or null). */
interface OutCopy { name: string | null; col: string | null }

const MAX_DEPTH = 8;

/**
 * Row facts for the condition of a write to `t`. `others` are the FROM / USING / MERGE source
 * items joined to the target, whose columns may be whole copies of the target's.
 */
export function targetRowFacts(env: Env, scope: Scope, t: Target, others: readonly Node[] = []): RowFacts {
  const resolve = (n: Node): ReturnType<typeof lookupColumn>['found'] | undefined => {
    if (tag(n) !== 'ColumnRef') return undefined;
    const parts = names(inner(n).fields);
    const qualifiedStar = qualifiedStarItem(scope, inner(n).fields);
    if (qualifiedStar) return { kind: 'row', item: qualifiedStar };
    if (parts.length !== list(inner(n).fields).length) return undefined;
    const { found, fields } = lookupColumn(scope, parts);
    return fields === 0 ? found : undefined;
  };
  const targetColumn = (n: Node): string | undefined => {
    if (!t.rel) return undefined;
    const f = resolve(n);
    return f?.kind === 'col' && f.col.owners.includes(t.item) ? f.col.name : undefined;
  };
  const copies = wholeCopies(env, scope, t, others);
  const copyOf = (c: Col): string | undefined => {
    for (const o of c.owners) {
      const m = o.refname !== null ? copies.get(o.refname) : undefined;
      const x = m?.get(c.name);
      if (x) return x;
    }
    return undefined;
  };
  return {
    neverNull: (n) => {
      const f = resolve(n);
      if (f?.kind === 'row') return f.item === t.item && t.rel !== undefined && t.rel.columns.length > 0 && t.item.cols.every((c) => columnNotNull(env, t, c));
      if (f?.kind !== 'col' || !f.col.owners.includes(t.item)) return false;
      return columnNotNull(env, t, f.col);
    },
    coversAll: (test, sub) => {
      const name = targetColumn(test);
      const out = name === undefined ? null : wholeSelect(env, scope, t, sub, 0);
      return out !== null && out.length === 1 && out[0].col === name;
    },
    sameColumn: (a, b) => {
      const fa = resolve(a), fb = resolve(b);
      if (fa?.kind !== 'col' || fb?.kind !== 'col') return false;
      if (fa.col === fb.col) return true;
      const ta = fa.col.owners.includes(t.item) ? fa.col.name : undefined;
      const tb = fb.col.owners.includes(t.item) ? fb.col.name : undefined;
      return (ta !== undefined && copyOf(fb.col) === ta) || (tb !== undefined && copyOf(fa.col) === tb);
    },
    existsForAll: (sub) => correlatedSelf(env, scope, t, sub),
    boundsAll: (col, op, sub) => {
      const name = targetColumn(col);
      const fn = name === undefined ? undefined : extremeOf(env, scope, t, sub);
      return fn !== undefined && fn.col === name && ((op === '>=' && fn.fn === 'min') || (op === '<=' && fn.fn === 'max'));
    },
  };
}

/** `t.*` (also inside `ROW(t.*)`): the whole row of FROM item t, as `t` alone would be. */
function qualifiedStarItem(scope: Scope, fieldsNode: unknown): FromItem | undefined {
  const fields = list(fieldsNode);
  if (fields.length < 2 || tag(fields[fields.length - 1]) !== 'A_Star') return undefined;
  const qualifier = names(fields.slice(0, -1));
  if (qualifier.length !== fields.length - 1) return undefined;
  const item = lookupItem(scope, qualifier);
  return item === 'ambiguous' ? undefined : item;
}

/** A target column declared NOT NULL; through an auto-updatable view, the base column it copies. */
function columnNotNull(env: Env, t: Target, c: Col): boolean {
  if (t.rel!.columns.some((x) => x.name === c.name && x.notNull === true)) return true;
  if (!c.lin.direct || c.lin.sources.length !== 1) return false;
  const parts = c.lin.sources[0].split('.');
  if (parts.length !== 3) return false;
  const base = env.catalog.relation(parts[0], parts[1]);
  return base ? base.columns.some((x) => x.name === parts[2] && x.notNull === true) : false;
}

/** FROM items that are the target read whole: refname → (their column → the target column it copies). */
function wholeCopies(env: Env, scope: Scope, t: Target, others: readonly Node[]): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  for (const n of others) {
    const v = inner(n);
    let cols: OutCopy[] | null = null;
    if (tag(n) === 'RangeVar') cols = relationCopy(env, scope, t, v);
    else if (tag(n) === 'RangeSubselect' && !v.lateral) cols = wholeSelect(env, scope, t, v.subquery as Node, 0);
    const refname = (v.alias as Node | undefined)?.aliasname ?? (tag(n) === 'RangeVar' ? v.relname : undefined);
    if (!cols || typeof refname !== 'string') continue;
    const m = new Map<string, string>();
    for (const c of renamed(cols, v.alias as Node | undefined)) if (c.name && c.col) m.set(c.name, c.col);
    out.set(refname, m);
  }
  return out;
}

/** The target relation itself as a FROM item (not a CTE, not ONLY when the target has children). */
function relationCopy(env: Env, scope: Scope, t: Target, rv: Node, ctes: Node[] = []): OutCopy[] | null {
  if (!t.rel || rv.schemaname === undefined && (findCte(scope, String(rv.relname ?? '')) || ctes.some((c) => inner(c).ctename === rv.relname))) return null;
  const r = resolveRangeVar(env, rv);
  if (r.status !== 'found' || r.key !== t.key || (rv.inh !== true && !t.only)) return null;
  return t.item.cols.map((c) => ({ name: c.name, col: c.name }));
}

function renamed(cols: OutCopy[], alias: Node | undefined): OutCopy[] {
  const names_ = list(alias?.colnames).map((c) => String(inner(c).sval ?? ''));
  return cols.map((c, i) => (i < names_.length ? { ...c, name: names_[i] } : c));
}

/** LIMIT ALL / LIMIT NULL and OFFSET 0 / OFFSET NULL keep every row. */
function keepsAllRows(s: Node): boolean {
  if (s.limitCount && evalConst(s.limitCount as Node) !== null) return false;
  const offset = s.limitOffset ? evalConst(s.limitOffset as Node) : null;
  return offset === null || ((typeof offset === 'number' || typeof offset === 'string') && Number(offset) === 0);
}

/** The single FROM item of a SELECT that drops no rows, as copies of the target's columns; null otherwise. */
function wholeSource(env: Env, scope: Scope, t: Target, s: Node, depth: number): { ref: string; cols: OutCopy[] } | null {
  if (s.op !== 'SETOP_NONE' || s.groupClause || s.havingClause || s.lockingClause || s.intoClause || s.valuesLists) return null;
  if (!keepsAllRows(s) || list(s.distinctClause).some((d) => tag(d) !== '')) return null;
  if (s.whereClause && !isConstTrue(s.whereClause as Node)) return null;
  const w = s.withClause as Node | undefined;
  if (w?.recursive) return null;
  const ctes = list(w?.ctes);
  const from = list(s.fromClause);
  if (from.length !== 1) return null;
  const f = inner(from[0]);
  const alias = f.alias as Node | undefined;
  let cols: OutCopy[] | null = null;
  let ref: unknown = alias?.aliasname;
  if (tag(from[0]) === 'RangeVar') {
    ref ??= f.relname;
    const cte = f.schemaname === undefined ? ctes.find((c) => inner(c).ctename === f.relname) : undefined;
    if (cte) {
      const q = wholeSelect(env, scope, t, inner(cte).ctequery as Node, depth + 1);
      cols = q && renamed(q, { colnames: inner(cte).aliascolnames } as Node);
    } else cols = relationCopy(env, scope, t, f, ctes);
  } else if (tag(from[0]) === 'RangeSubselect' && !f.lateral) {
    cols = wholeSelect(env, scope, t, f.subquery as Node, depth + 1);
  }
  if (!cols || typeof ref !== 'string') return null;
  return { ref, cols: renamed(cols, alias) };
}

/**
 * A SELECT that yields every row of the target: per output column, the target column it copies
 * (null for any other expression). null when it may drop rows. A UNION keeps a branch's rows.
 */
export function wholeSelect(env: Env, scope: Scope, t: Target, sub: Node | undefined, depth: number): OutCopy[] | null {
  if (!sub || tag(sub) !== 'SelectStmt' || depth > MAX_DEPTH) return null;
  const s = inner(sub);
  if (s.op === 'SETOP_UNION') {
    return wholeSelect(env, scope, t, { SelectStmt: s.larg } as Node, depth + 1) ?? wholeSelect(env, scope, t, { SelectStmt: s.rarg } as Node, depth + 1);
  }
  const src = wholeSource(env, scope, t, s, depth);
  if (!src) return null;
  const out: OutCopy[] = [];
  for (const rt of list(s.targetList)) {
    const r = inner(rt);
    const val = r.val as Node | undefined;
    const fields = tag(val) === 'ColumnRef' ? list(inner(val!).fields) : [];
    const parts = names(fields);
    const star = fields.length > 0 && tag(fields[fields.length - 1]) === 'A_Star';
    if (star && (fields.length === 1 || (fields.length === 2 && parts[0] === src.ref))) { out.push(...src.cols); continue; }
    const name = !star && parts.length === fields.length ? sourceColumn(parts, src.ref) : undefined;
    const col = name === undefined ? null : src.cols.find((c) => c.name === name)?.col ?? null;
    out.push({ name: typeof r.name === 'string' ? r.name : parts.length > 0 ? parts[parts.length - 1] : null, col });
  }
  return out;
}

/** The column a reference `c` or `ref.c` names in the single FROM item called `ref`; undefined for any other reference. */
function sourceColumn(parts: string[], ref: string): string | undefined {
  return parts.length === 1 || (parts.length === 2 && parts[0] === ref) ? parts[parts.length - 1] : undefined;
}

/** `EXISTS (SELECT … FROM t x WHERE x.c = t.c AND …)`: every target row finds itself. */
function correlatedSelf(env: Env, scope: Scope, t: Target, sub: Node): boolean {
  if (tag(sub) !== 'SelectStmt') return false;
  const s = inner(sub);
  const where = s.whereClause as Node | undefined;
  const src = wholeSource(env, scope, t, { ...s, whereClause: undefined }, 0);
  if (!src || src.cols.some((c) => c.col !== c.name)) return false;
  if (!where) return true;
  const conjuncts = tag(where) === 'BoolExpr' && inner(where).boolop === 'AND_EXPR' ? list(inner(where).args) : [where];
  return conjuncts.every((c) => isConstTrue(c) || selfEquality(scope, t, src.ref, c));
}

/** `x.c = t.c` (either way round): the inner copy's column c equal to the outer target's column c. */
function selfEquality(scope: Scope, t: Target, ref: string, c: Node): boolean {
  const v = inner(c);
  if (tag(c) !== 'A_Expr' || v.kind !== 'AEXPR_OP' || names(v.name).pop() !== '=') return false;
  const side = (n: Node | undefined): { inner: boolean; col: string } | undefined => {
    if (tag(n) !== 'ColumnRef') return undefined;
    const parts = names(inner(n!).fields);
    if (parts.length !== list(inner(n!).fields).length) return undefined;
    const own = sourceColumn(parts, ref);
    if (own !== undefined) return { inner: true, col: own };
    const { found, fields } = lookupColumn(scope, parts);
    return fields === 0 && found.kind === 'col' && found.col.owners.includes(t.item) ? { inner: false, col: found.col.name } : undefined;
  };
  const l = side(v.lexpr as Node), r = side(v.rexpr as Node);
  return !!l && !!r && l.inner !== r.inner && l.col === r.col;
}

/** `SELECT min(c) FROM t` / `max(c)` over the whole target. */
function extremeOf(env: Env, scope: Scope, t: Target, sub: Node): { fn: 'min' | 'max'; col: string } | undefined {
  if (tag(sub) !== 'SelectStmt') return undefined;
  const s = inner(sub);
  const src = wholeSource(env, scope, t, s, 0);
  const targets = list(s.targetList);
  if (!src || targets.length !== 1) return undefined;
  const val = inner(targets[0]).val as Node | undefined;
  if (tag(val) !== 'FuncCall') return undefined;
  const fc = inner(val!);
  const fn = names(fc.funcname);
  const args = list(fc.args);
  if (fc.agg_filter || fc.over || args.length !== 1 || tag(args[0]) !== 'ColumnRef') return undefined;
  if (fn.length > 2 || (fn.length === 2 && fn[0] !== 'pg_catalog') || (fn.at(-1) !== 'min' && fn.at(-1) !== 'max')) return undefined;
  const name = sourceColumn(names(inner(args[0]).fields), src.ref);
  const col = name === undefined ? undefined : src.cols.find((c) => c.name === name)?.col;
  return col ? { fn: fn.at(-1) as 'min' | 'max', col } : undefined;
}
