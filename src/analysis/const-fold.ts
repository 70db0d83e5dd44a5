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

export function evalConst(n: Node | undefined): Value {
  if (!n) return undefined;
  const v = inner(n);
  switch (tag(n)) {
    case 'A_Const': {
      const c = constOf(v);
      return c.type === 'null' ? null : c.type === 'bitstring' ? undefined : c.value;
    }
    case 'TypeCast': {
      const x = evalConst(v.arg as Node);
      const t = names(v.typeName?.names).pop() ?? '';
      if (t === 'bool' || t === 'boolean') return toBool(x);
      if (/^(int[248]?|integer|numeric|float[48]|real|double precision|smallint|bigint)$/.test(t)) return toNum(x);
      if (/^(text|varchar|bpchar|char|name)$/.test(t)) return x === undefined || x === null ? x : String(x);
      return undefined;
    }
    case 'BoolExpr': {
      const args = list(v.args).map((a) => toBool(evalConst(a)));
      if (v.boolop === 'NOT_EXPR') return typeof args[0] === 'boolean' ? !args[0] : args[0] === null ? null : undefined;
      if (v.boolop === 'AND_EXPR') {
        if (args.some((a) => a === false)) return false;
        return args.every((a) => a === true) ? true : undefined;
      }
      if (args.some((a) => a === true)) return true;
      return args.every((a) => a === false) ? false : undefined;
    }
    case 'A_Expr': {
      const op = names(v.name).pop() ?? '';
      if (v.kind === 'AEXPR_OP') {
        const l = v.lexpr ? evalConst(v.lexpr as Node) : undefined;
        const r = evalConst(v.rexpr as Node);
        if (['+', '-', '*', '/', '%'].includes(op)) return arith(op, v.lexpr ? l : undefined, r);
        return compare(op, l, r);
      }
      if (v.kind === 'AEXPR_IN') {
        const l = evalConst(v.lexpr as Node);
        const items = list(inner(v.rexpr as Node).items).map((i) => evalConst(i));
        const hit = items.some((i) => compare('=', l, i) === true);
        return op === '=' ? (hit ? true : undefined) : undefined;
      }
      return undefined;
    }
    case 'NullTest': {
      const x = evalConst(v.arg as Node);
      if (x === undefined) return undefined;
      return v.nulltesttype === 'IS_NULL' ? x === null : x !== null;
    }
    case 'BooleanTest': {
      const x = toBool(evalConst(v.arg as Node));
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

/** True when the condition is constant and true. */
export function isConstTrue(n: Node | undefined): boolean {
  return toBool(evalConst(n)) === true;
}
