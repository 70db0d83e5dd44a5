// Simple constant folding, to spot WHERE / ON clauses that are always true.
import { constOf, inner, list, names, tag, type Node } from './ast.ts';

type Value = boolean | number | string | null | undefined; // undefined = not a constant

const TRUE_WORDS = new Set(['t', 'true', 'y', 'yes', 'on', '1']);
const FALSE_WORDS = new Set(['f', 'false', 'n', 'no', 'off', '0']);

function toBool(v: Value): Value {
  if (typeof v === 'boolean' || v === null || v === undefined) return v;
  if (typeof v === 'number') return v !== 0;
  const s = v.trim().toLowerCase();
  if (TRUE_WORDS.has(s)) return true;
  if (FALSE_WORDS.has(s)) return false;
  return undefined;
}

function toNum(v: Value): Value {
  if (typeof v === 'number' || v === null || v === undefined) return v;
  if (typeof v === 'boolean') return undefined;
  const x = Number(v.trim());
  return Number.isFinite(x) && v.trim() !== '' ? x : undefined;
}

function compare(op: string, a: Value, b: Value): Value {
  if (a === undefined || b === undefined) return undefined;
  if (a === null || b === null) return null;
  let x: number | string | boolean = a, y: number | string | boolean = b;
  if (typeof x !== typeof y) {
    const nx = toNum(a), ny = toNum(b);
    if (typeof nx === 'number' && typeof ny === 'number') { x = nx; y = ny; }
    else {
      const bx = toBool(a), by = toBool(b);
      if (typeof bx === 'boolean' && typeof by === 'boolean') { x = bx; y = by; } else return undefined;
    }
  }
  switch (op) {
    case '=': return x === y;
    case '<>': case '!=': return x !== y;
    case '<': return x < y;
    case '>': return x > y;
    case '<=': return x <= y;
    case '>=': return x >= y;
    default: return undefined;
  }
}

function arith(op: string, a: Value, b: Value): Value {
  const x = toNum(a), y = toNum(b);
  if (typeof y !== 'number') return undefined;
  if (op === '-' && a === undefined) return -y;
  if (typeof x !== 'number') return undefined;
  switch (op) {
    case '+': return x + y;
    case '-': return x - y;
    case '*': return x * y;
    case '/': return y === 0 ? undefined : x / y;
    case '%': return y === 0 ? undefined : x % y;
    default: return undefined;
  }
}

/** What is known about the rows a condition is evaluated on. */
export interface RowFacts {
  /** True when `n` is a column that is never null (declared NOT NULL). */
  neverNull(n: Node): boolean;
  /**
   * True when the subquery `sub` yields every value `test` takes on the rows a condition is
   * evaluated on (`id IN (SELECT id FROM <the target itself>)`), so the test holds wherever it is not null.
   */
  coversAll(test: Node, sub: Node): boolean;
  /**
   * True when `a` and `b` hold the same value on every row a condition is evaluated on: the same
   * column, or a target column and that column of a whole copy of the target joined in (`t.id = s.id`
   * with `FROM t s`, `USING (SELECT id FROM t) s`), so comparing them filters nothing.
   */
  sameColumn?(a: Node, b: Node): boolean;
  /** True when `EXISTS (sub)` holds on every row (`EXISTS (SELECT FROM t x WHERE x.id = t.id)`). */
  existsForAll?(sub: Node): boolean;
  /** True when `col op (sub)` holds on every row where col is not null (`id >= (SELECT min(id) FROM t)`). */
  boundsAll?(col: Node, op: string, sub: Node): boolean;
}

const NO_FACTS: RowFacts = { neverNull: () => false, coversAll: () => false };

export function evalConst(n: Node | undefined, facts: RowFacts = NO_FACTS): Value {
  if (!n) return undefined;
  const v = inner(n);
  switch (tag(n)) {
    case 'A_Const': {
      const c = constOf(v);
      return c.type === 'null' ? null : c.type === 'bitstring' ? undefined : c.value;
    }
    case 'TypeCast': {
      const x = evalConst(v.arg as Node, facts);
      const t = names(v.typeName?.names).pop() ?? '';
      if (t === 'bool' || t === 'boolean') return toBool(x);
      if (/^(int[248]?|integer|numeric|float[48]|real|double precision|smallint|bigint)$/.test(t)) return toNum(x);
      if (/^(text|varchar|bpchar|char|name)$/.test(t)) return x === undefined || x === null ? x : String(x);
      return undefined;
    }
    case 'BoolExpr': {
      const args = list(v.args).map((a) => toBool(evalConst(a, facts)));
      if (v.boolop === 'NOT_EXPR') return typeof args[0] === 'boolean' ? !args[0] : args[0] === null ? null : undefined;
      if (v.boolop === 'AND_EXPR') {
        if (args.some((a) => a === false) || hasComplements(list(v.args), facts)) return false;
        return args.every((a) => a === true) ? true : undefined;
      }
      if (args.some((a) => a === true) || hasComplements(list(v.args), facts)) return true;
      return args.every((a) => a === false) ? false : undefined;
    }
    case 'A_Expr': {
      const op = names(v.name).pop() ?? '';
      const self = selfComparison(v, op, facts);
      if (self !== undefined) return self;
      if (v.kind === 'AEXPR_DISTINCT' || v.kind === 'AEXPR_NOT_DISTINCT') return distinctness(v, facts);
      if (v.kind === 'AEXPR_OP') {
        const l = v.lexpr ? evalConst(v.lexpr as Node, facts) : undefined;
        const r = evalConst(v.rexpr as Node, facts);
        if (['+', '-', '*', '/', '%'].includes(op)) return arith(op, v.lexpr ? l : undefined, r);
        if (PATTERN_OPS.has(op) && matchesEverything(op, v.rexpr as Node)) return matchAll(v.lexpr as Node, facts);
        if (v.lexpr && boundedByExtreme(v.lexpr as Node, op, v.rexpr as Node, facts)) return true;
        return compare(op, l, r);
      }
      if (v.kind === 'AEXPR_LIKE' || v.kind === 'AEXPR_ILIKE' || v.kind === 'AEXPR_SIMILAR') {
        return PATTERN_OPS.has(op) && matchesEverything(op, v.rexpr as Node) ? matchAll(v.lexpr as Node, facts) : undefined;
      }
      if (v.kind === 'AEXPR_IN') {
        const l = evalConst(v.lexpr as Node, facts);
        const items = list(inner(v.rexpr as Node).items).map((i) => evalConst(i, facts));
        const hit = items.some((i) => compare('=', l, i) === true);
        return op === '=' ? (hit ? true : undefined) : undefined;
      }
      return undefined;
    }
    case 'NullTest': {
      const isNull = nullness(v.arg as Node, facts);
      if (isNull === undefined) return undefined;
      return v.nulltesttype === 'IS_NULL' ? isNull : !isNull;
    }
    case 'CaseExpr': {
      // Every branch (the ELSE included) yields the same constant: so does the CASE, whatever it tests.
      if (!v.defresult) return undefined;
      const results = [...list(v.args).map((w) => inner(w).result as Node), v.defresult as Node].map((r) => evalConst(r, facts));
      return results.every((r) => r !== undefined && r === results[0]) ? results[0] : undefined;
    }
    case 'SubLink': {
      if (v.subLinkType === 'EXISTS_SUBLINK') return facts.existsForAll?.(v.subselect as Node) ? true : undefined;
      // `x IN (SELECT x FROM <the rows x comes from>)`, `x = ANY (…)`: a membership test every row passes.
      const op = names(v.operName);
      if (v.subLinkType !== 'ANY_SUBLINK' || !(op.length === 0 || (op.length === 1 && op[0] === '='))) return undefined;
      return v.testexpr && facts.coversAll(v.testexpr as Node, v.subselect as Node) ? true : undefined;
    }
    case 'BooleanTest': {
      const x = toBool(evalConst(v.arg as Node, facts));
      if (x === undefined) return undefined;
      switch (v.booltesttype) {
        case 'IS_TRUE': return x === true;
        case 'IS_NOT_TRUE': return x !== true;
        case 'IS_FALSE': return x === false;
        case 'IS_NOT_FALSE': return x !== false;
        case 'IS_UNKNOWN': return x === null;
        case 'IS_NOT_UNKNOWN': return x !== null;
        default: return undefined;
      }
    }
    default: return undefined;
  }
}

/** Whether `n` is null: known for constants and for NOT NULL columns (also through a cast or COLLATE). */
function nullness(n: Node, facts: RowFacts): boolean | undefined {
  let x = n;
  while (tag(x) === 'TypeCast' || tag(x) === 'CollateClause') x = inner(x).arg as Node;
  if (facts.neverNull(x)) return false;
  // ROW(a, b) is null only when every field is; a built-in operator on non-null operands is never null.
  if (tag(x) === 'RowExpr' && list(inner(x).args).length > 0 && list(inner(x).args).every((a) => nullness(a, facts) === false)) return false;
  if (tag(x) === 'A_Expr' && inner(x).kind === 'AEXPR_OP' && STRICT_OPS.has(names(inner(x).name).pop() ?? '')
    && [inner(x).lexpr, inner(x).rexpr].every((a) => a === undefined || nullness(a as Node, facts) === false)) return false;
  // COALESCE, GREATEST and LEAST are null only when every argument is.
  if ((tag(x) === 'CoalesceExpr' || tag(x) === 'MinMaxExpr') && list(inner(x).args).some((a) => nullness(a, facts) === false)) return false;
  if (tag(x) === 'FuncCall' && builtinNeverNull(x, facts)) return false;
  const c = evalConst(n, facts);
  return c === undefined ? undefined : c === null;
}

/** Built-ins that never return null: for any arguments, or for arguments that are not null. */
const NEVER_NULL_FUNCTIONS = new Set(['concat', 'num_nulls', 'num_nonnulls']);
const NULL_ONLY_ON_NULL_FUNCTIONS = new Set([
  'lower', 'upper', 'initcap', 'length', 'char_length', 'character_length', 'octet_length', 'bit_length', 'md5',
  'btrim', 'ltrim', 'rtrim', 'reverse', 'textcat', 'to_json', 'to_jsonb', 'row_to_json', 'abs', 'concat_ws', 'quote_literal',
  'quote_ident', 'ascii', 'replace', 'translate', 'lpad', 'rpad', 'left', 'right', 'repeat', 'substr', 'hashtext',
]);

/** `lower(sku)`, `concat(notes)`: a built-in call whose result cannot be null (`pg_catalog` is searched first). */
function builtinNeverNull(call: Node, facts: RowFacts): boolean {
  const v = inner(call);
  const fn = names(v.funcname);
  if (v.over || v.agg_star || v.agg_filter || (fn.length === 2 && fn[0] !== 'pg_catalog') || fn.length > 2) return false;
  const name = fn[fn.length - 1] ?? '';
  if (NEVER_NULL_FUNCTIONS.has(name)) return true;
  const args = list(v.args);
  return NULL_ONLY_ON_NULL_FUNCTIONS.has(name) && args.length > 0 && args.every((a) => nullness(a, facts) === false);
}

/** `x IS [NOT] DISTINCT FROM NULL` is a NULL test; between two constants it is a comparison that knows NULL. */
function distinctness(v: Node, facts: RowFacts): Value {
  const distinct = v.kind === 'AEXPR_DISTINCT';
  const l = v.lexpr as Node, r = v.rexpr as Node;
  const lv = evalConst(l, facts), rv = evalConst(r, facts);
  const nullSide = rv === null ? l : lv === null ? r : undefined;
  if (nullSide) {
    const isNull = nullness(nullSide, facts);
    return isNull === undefined ? undefined : distinct ? !isNull : isNull;
  }
  const same = compare('=', lv, rv);
  return typeof same === 'boolean' ? same !== distinct : undefined;
}

const TRUE_ON_ITSELF = new Set(['=', '>=', '<=']);
const FALSE_ON_ITSELF = new Set(['<>', '!=', '<', '>']);

/**
 * An expression compared with itself (`id = id`, `id BETWEEN id AND id`, `id IN (id)`,
 * `x IS NOT DISTINCT FROM x`): the same answer on every row where it is not null,
 * which makes the condition as trivial as a constant.
 */
function selfComparison(v: Node, op: string, facts: RowFacts): Value {
  const l = v.lexpr as Node | undefined;
  if (!l) return undefined;
  switch (v.kind) {
    case 'AEXPR_OP':
      if (!same(l, v.rexpr, facts)) return undefined;
      return TRUE_ON_ITSELF.has(op) ? true : FALSE_ON_ITSELF.has(op) ? false : undefined;
    case 'AEXPR_NOT_DISTINCT': return same(l, v.rexpr, facts) ? true : undefined;
    case 'AEXPR_DISTINCT': return same(l, v.rexpr, facts) ? false : undefined;
    case 'AEXPR_IN': {
      if (!list(inner(v.rexpr as Node).items).some((i) => same(l, i, facts))) return undefined;
      return op === '=' ? true : op === '<>' ? false : undefined;
    }
    case 'AEXPR_OP_ANY': {
      const r = v.rexpr as Node | undefined;
      if (tag(r) !== 'A_ArrayExpr' || !list(inner(r!).elements).some((e) => same(l, e, facts))) return undefined;
      return TRUE_ON_ITSELF.has(op) ? true : undefined;
    }
    case 'AEXPR_BETWEEN': case 'AEXPR_NOT_BETWEEN': case 'AEXPR_BETWEEN_SYM': case 'AEXPR_NOT_BETWEEN_SYM': {
      const bounds = list(inner(v.rexpr as Node).items);
      if (bounds.length !== 2 || !bounds.every((b) => same(l, b, facts))) return undefined;
      return !String(v.kind).includes('NOT');
    }
    default: return undefined;
  }
}

/** `p OR NOT p`, `x IS NULL OR x IS NOT NULL`, `a > b OR a <= b`: one of the two holds on every row. */
function hasComplements(args: Node[], facts: RowFacts): boolean {
  return args.some((a, i) => args.some((b, j) => j > i && complementary(a, b, facts)));
}

function complementary(a: Node, b: Node, facts: RowFacts): boolean {
  if (tag(a) === 'NullTest' && tag(b) === 'NullTest') {
    return inner(a).nulltesttype !== inner(b).nulltesttype && same(inner(a).arg, inner(b).arg, facts);
  }
  if (tag(a) === 'BooleanTest' && tag(b) === 'BooleanTest') {
    return BOOLTEST_NEGATED[String(inner(a).booltesttype)] === inner(b).booltesttype && same(inner(a).arg, inner(b).arg, facts);
  }
  const negates = (x: Node, y: Node): boolean =>
    tag(x) === 'BoolExpr' && inner(x).boolop === 'NOT_EXPR' && same(list(inner(x).args)[0], y, facts);
  return negates(a, b) || negates(b, a) || oppositeComparisons(a, b, facts) || oppositeTests(a, b, facts);
}

const BOOLTEST_NEGATED: Record<string, string> = {
  IS_TRUE: 'IS_NOT_TRUE', IS_NOT_TRUE: 'IS_TRUE', IS_FALSE: 'IS_NOT_FALSE', IS_NOT_FALSE: 'IS_FALSE',
  IS_UNKNOWN: 'IS_NOT_UNKNOWN', IS_NOT_UNKNOWN: 'IS_UNKNOWN',
};

/** The expression kinds whose NOT form is another kind of the same shape (`x NOT BETWEEN a AND b`). */
const KIND_NEGATED: Record<string, string> = {
  AEXPR_BETWEEN: 'AEXPR_NOT_BETWEEN', AEXPR_NOT_BETWEEN: 'AEXPR_BETWEEN',
  AEXPR_BETWEEN_SYM: 'AEXPR_NOT_BETWEEN_SYM', AEXPR_NOT_BETWEEN_SYM: 'AEXPR_BETWEEN_SYM',
  AEXPR_DISTINCT: 'AEXPR_NOT_DISTINCT', AEXPR_NOT_DISTINCT: 'AEXPR_DISTINCT',
};

/** Operators whose NOT form is another operator on the same operands: `IN`/`NOT IN`, `LIKE`/`NOT LIKE`, `~`/`!~`, … */
const OP_NEGATED: Record<string, string> = {
  '~~': '!~~', '!~~': '~~', '~~*': '!~~*', '!~~*': '~~*', '~': '!~', '!~': '~', '~*': '!~*', '!~*': '~*',
};
const NEGATABLE_KINDS = new Set(['AEXPR_IN', 'AEXPR_LIKE', 'AEXPR_ILIKE', 'AEXPR_SIMILAR', 'AEXPR_OP']);

/** `x IN (…)` and `x NOT IN (…)`, `x LIKE p` and `x NOT LIKE p`, `x BETWEEN a AND b` and `x NOT BETWEEN a AND b`, … */
function oppositeTests(a: Node, b: Node, facts: RowFacts): boolean {
  if (tag(a) !== 'A_Expr' || tag(b) !== 'A_Expr') return false;
  const x = inner(a), y = inner(b);
  const opX = names(x.name).pop() ?? '', opY = names(y.name).pop() ?? '';
  let opposite: boolean;
  if (KIND_NEGATED[String(x.kind)] === y.kind) opposite = true;
  else if (x.kind === y.kind && NEGATABLE_KINDS.has(String(x.kind))) {
    opposite = x.kind === 'AEXPR_IN' ? NEGATED[opX] === opY : OP_NEGATED[opX] === opY;
  } else if ((x.kind === 'AEXPR_OP_ANY' && y.kind === 'AEXPR_OP_ALL') || (x.kind === 'AEXPR_OP_ALL' && y.kind === 'AEXPR_OP_ANY')) {
    opposite = NEGATED[opX] === opY;
  } else opposite = false;
  return opposite && same(x.lexpr, y.lexpr, facts) && same(x.rexpr, y.rexpr, facts);
}

const NEGATED: Record<string, string> = { '=': '<>', '<>': '=', '!=': '=', '<': '>=', '>=': '<', '>': '<=', '<=': '>' };
const COMMUTED: Record<string, string> = { '=': '=', '<>': '<>', '!=': '<>', '<': '>', '>': '<', '<=': '>=', '>=': '<=' };

/** `a < b` and `a >= b` (or `b <= a`): the same comparison and its negation. */
function oppositeComparisons(a: Node, b: Node, facts: RowFacts): boolean {
  if (tag(a) !== 'A_Expr' || tag(b) !== 'A_Expr') return false;
  const x = inner(a), y = inner(b);
  if (x.kind !== 'AEXPR_OP' || y.kind !== 'AEXPR_OP' || !x.lexpr || !y.lexpr) return false;
  const negated = NEGATED[names(x.name).pop() ?? ''];
  const opY = names(y.name).pop() ?? '';
  if (!negated) return false;
  if (opY === negated && same(x.lexpr, y.lexpr, facts) && same(x.rexpr, y.rexpr, facts)) return true;
  return COMMUTED[opY] === negated && same(x.lexpr, y.rexpr, facts) && same(x.rexpr, y.lexpr, facts);
}

/** Token positions, which differ between two spellings of the same expression. */
const POSITION_FIELDS = new Set(['location', 'list_start', 'list_end']);

/**
 * Two expressions that are the same value on every row: structurally equal once neutral wrappers are
 * removed (`(SELECT x)`, `x + 0`, `x || ''`), or columns the row facts know to be equal.
 */
function same(a: unknown, b: unknown, facts: RowFacts): boolean {
  const x = neutral(a), y = neutral(b);
  if (tag(x) === 'ColumnRef' && tag(y) === 'ColumnRef' && facts.sameColumn?.(x as Node, y as Node)) return true;
  return sameTree(x, y);
}

/** Structural equality of two parse trees, ignoring token positions (literal values are read). */
function sameTree(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameTree(x, b[i]));
  }
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a === b;
  if (tag(a) === 'A_Const' && tag(b) === 'A_Const') {
    return JSON.stringify(constOf(inner(a as Node))) === JSON.stringify(constOf(inner(b as Node)));
  }
  const ka = Object.keys(a).filter((k) => !POSITION_FIELDS.has(k));
  const kb = Object.keys(b).filter((k) => !POSITION_FIELDS.has(k));
  return ka.length === kb.length && ka.every((k) => sameTree((a as Node)[k], (b as Node)[k]));
}

/** True when the condition is constant and true. */
export function isConstTrue(n: Node | undefined, facts: RowFacts = NO_FACTS): boolean {
  return toBool(evalConst(n, facts)) === true;
}

/** Strict built-in operators: non-null operands give a non-null result. */
const STRICT_OPS = new Set(['=', '<>', '!=', '<', '>', '<=', '>=', '+', '-', '*', '||']);

/** LIKE / ILIKE / SIMILAR TO and the regex match operators. */
const PATTERN_OPS = new Set(['~~', '~~*', '~', '~*']);

/**
 * A constant pattern every string matches: `LIKE '%'`, `SIMILAR TO '%%'`, `~ ''`, `~ '^.*$'`.
 * `x LIKE '%'` is then `x IS NOT NULL`.
 */
function matchesEverything(op: string, pattern: Node | undefined): boolean {
  let p = pattern;
  // SIMILAR TO p parses as `~ similar_to_escape(p)` (an ESCAPE clause adds a second argument).
  if (tag(p) === 'FuncCall' && names(inner(p!).funcname).pop() === 'similar_to_escape') {
    const args = list(inner(p!).args);
    if (args.length !== 1) return false;
    const v = evalConst(args[0]);
    return typeof v === 'string' && /^%+$/.test(v);
  }
  const v = evalConst(p);
  if (typeof v !== 'string') return false;
  if (op === '~~' || op === '~~*') return /^%+$/.test(v);
  return /^(\^|\$|\.\*|\(\))*$/.test(v);
}

function matchAll(subject: Node | undefined, facts: RowFacts): Value {
  if (!subject) return undefined;
  const isNull = nullness(subject, facts);
  return isNull === undefined ? undefined : isNull ? null : true;
}

/** `id >= (SELECT min(id) FROM t)`, `(SELECT max(id) FROM t) >= id`: a bound every row meets. */
function boundedByExtreme(l: Node, op: string, r: Node | undefined, facts: RowFacts): boolean {
  if (!facts.boundsAll || !r) return false;
  if (tag(r) === 'SubLink' && inner(r).subLinkType === 'EXPR_SUBLINK') return facts.boundsAll(l, op, inner(r).subselect as Node);
  if (tag(l) === 'SubLink' && inner(l).subLinkType === 'EXPR_SUBLINK' && COMMUTED[op]) return facts.boundsAll(r, COMMUTED[op], inner(l).subselect as Node);
  return false;
}

/** `(SELECT x)` without FROM, `x + 0`, `x - 0`, `x * 1`, `x / 1`, `x || ''`: x itself. */
function neutral(n: unknown): unknown {
  for (;;) {
    if (n === null || typeof n !== 'object') return n;
    const t = tag(n as Node);
    const v = inner(n as Node);
    if (t === 'SubLink' && v.subLinkType === 'EXPR_SUBLINK' && tag(v.subselect as Node) === 'SelectStmt') {
      const s = inner(v.subselect as Node);
      const targets = list(s.targetList);
      if (s.op !== 'SETOP_NONE' || list(s.fromClause).length > 0 || s.whereClause || s.groupClause || s.havingClause
        || s.limitCount || s.limitOffset || s.valuesLists || s.withClause || targets.length !== 1) return n;
      n = inner(targets[0]).val;
      continue;
    }
    if (t === 'A_Expr' && v.kind === 'AEXPR_OP' && v.lexpr) {
      const op = names(v.name).pop() ?? '';
      const l = evalConst(v.lexpr as Node), r = evalConst(v.rexpr as Node);
      const isNum = (x: Value, k: number): boolean => toNum(x) === k && typeof x !== 'boolean';
      if ((op === '+' || op === '-') && isNum(r, 0)) { n = v.lexpr; continue; }
      if (op === '+' && isNum(l, 0)) { n = v.rexpr; continue; }
      if ((op === '*' || op === '/') && isNum(r, 1)) { n = v.lexpr; continue; }
      if (op === '*' && isNum(l, 1)) { n = v.rexpr; continue; }
      if (op === '||' && r === '') { n = v.lexpr; continue; }
      if (op === '||' && l === '') { n = v.rexpr; continue; }
    }
    return n;
  }
}
