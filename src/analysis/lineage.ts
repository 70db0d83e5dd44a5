// Column lineage values and the output names Postgres gives to expressions.
import { inner, list, names, sval, tag, type Node } from './ast.ts';

/** Lineage of one value: the source columns it derives from, and whether it is an unmodified copy. */
export interface Lin {
  sources: string[];
  direct: boolean;
}

export const NO_LIN: Lin = Object.freeze({ sources: [], direct: false }) as Lin;

export function directLin(column: string): Lin {
  return { sources: [column], direct: true };
}

/** Union of several lineages, never direct (a computed value). */
export function mixed(lins: readonly Lin[]): Lin {
  if (lins.length === 0) return { sources: [], direct: false };
  if (lins.length === 1) return { sources: lins[0].sources.slice(), direct: false };
  const set = new Set<string>();
  for (const l of lins) for (const s of l.sources) set.add(s);
  return { sources: [...set], direct: false };
}

/** Union that stays direct when every part is direct (UNION ALL branches, USING columns). */
export function alternatives(lins: readonly Lin[]): Lin {
  const set = new Set<string>();
  let direct = lins.length > 0;
  for (const l of lins) {
    for (const s of l.sources) set.add(s);
    if (!l.direct) direct = false;
  }
  return { sources: [...set], direct: direct && set.size > 0 };
}

const SVF_NAMES: Record<string, string> = {
  SVFOP_CURRENT_DATE: 'current_date', SVFOP_CURRENT_TIME: 'current_time', SVFOP_CURRENT_TIME_N: 'current_time',
  SVFOP_CURRENT_TIMESTAMP: 'current_timestamp', SVFOP_CURRENT_TIMESTAMP_N: 'current_timestamp',
  SVFOP_LOCALTIME: 'localtime', SVFOP_LOCALTIME_N: 'localtime', SVFOP_LOCALTIMESTAMP: 'localtimestamp',
  SVFOP_LOCALTIMESTAMP_N: 'localtimestamp', SVFOP_CURRENT_ROLE: 'current_role', SVFOP_CURRENT_USER: 'current_user',
  SVFOP_USER: 'user', SVFOP_SESSION_USER: 'session_user', SVFOP_CURRENT_CATALOG: 'current_catalog',
  SVFOP_CURRENT_SCHEMA: 'current_schema',
};

const XML_NAMES: Record<string, string> = {
  IS_XMLCONCAT: 'xmlconcat', IS_XMLELEMENT: 'xmlelement', IS_XMLFOREST: 'xmlforest', IS_XMLPARSE: 'xmlparse',
  IS_XMLPI: 'xmlpi', IS_XMLROOT: 'xmlroot', IS_XMLSERIALIZE: 'xmlserialize', IS_DOCUMENT: '?column?',
};

/**
 * FigureColname: the label Postgres gives an unaliased target expression.
 * `subqueryName` supplies the first output name of an EXPR sublink's subquery.
 */
export function figureName(n: Node | undefined, subqueryName?: (sub: Node) => string | undefined): string {
  const r = figure(n, subqueryName);
  return r.name ?? '?column?';
}

function figure(n: Node | undefined, sq?: (sub: Node) => string | undefined): { name?: string; strength: number } {
  if (!n) return { strength: 0 };
  const t = tag(n);
  const v = inner(n);
  switch (t) {
    case 'ColumnRef': {
      const fields = list(v.fields);
      const last = sval(fields[fields.length - 1]);
      return last !== undefined ? { name: last, strength: 2 } : { strength: 0 };
    }
    case 'A_Indirection': {
      const ind = list(v.indirection);
      for (let i = ind.length - 1; i >= 0; i--) {
        const s = sval(ind[i]);
        if (s !== undefined) return { name: s, strength: 2 };
      }
      return figure(v.arg, sq);
    }
    case 'FuncCall': {
      const fn = names(v.funcname);
      return { name: fn[fn.length - 1], strength: 2 };
    }
    case 'A_Expr':
      if (v.kind === 'AEXPR_NULLIF') return { name: 'nullif', strength: 2 };
      return { strength: 0 };
    case 'TypeCast': {
      const r = figure(v.arg, sq);
      if (r.strength <= 1) {
        const tn = names(v.typeName?.names);
        return { name: tn[tn.length - 1], strength: 1 };
      }
      return r;
    }
    case 'CollateClause': return figure(v.arg, sq);
    case 'SubLink':
      if (v.subLinkType === 'EXISTS_SUBLINK') return { name: 'exists', strength: 2 };
      if (v.subLinkType === 'ARRAY_SUBLINK') return { name: 'array', strength: 2 };
      if (v.subLinkType === 'EXPR_SUBLINK' && sq) {
        const name = sq(v.subselect as Node);
        if (name !== undefined) return { name, strength: 2 };
      }
      return { strength: 0 };
    case 'CaseExpr': {
      const r = figure(v.defresult, sq);
      return r.strength <= 1 ? { name: 'case', strength: 1 } : r;
    }
    case 'A_ArrayExpr': return { name: 'array', strength: 2 };
    case 'RowExpr': return { name: 'row', strength: 2 };
    case 'CoalesceExpr': return { name: 'coalesce', strength: 2 };
    case 'MinMaxExpr': return { name: v.op === 'IS_LEAST' ? 'least' : 'greatest', strength: 2 };
    case 'SQLValueFunction': return { name: SVF_NAMES[String(v.op)] ?? '?column?', strength: 2 };
    case 'XmlExpr': return { name: XML_NAMES[String(v.op)] ?? '?column?', strength: 2 };
    case 'XmlSerialize': return { name: 'xmlserialize', strength: 2 };
    case 'GroupingFunc': return { name: 'grouping', strength: 2 };
    case 'MergeSupportFunc': return { name: 'merge_action', strength: 2 };
    default: return { strength: 0 };
  }
}
