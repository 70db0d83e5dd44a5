// COPY: direction, file/program guardrails, options, and the lineage of copied columns.
import { defArgText, inner, list, names, type Node } from './ast.ts';
import { addAction, addGuardrail, unanalysable, type Env } from './env.ts';
import { resolveRangeVar } from './resolve.ts';
import { EMPTY_SCOPE, childScope, newLevel } from './scope.ts';
import { relationItem } from './relations.ts';
import { analyseSelect } from './select.ts';
import { analyseDml } from './dml.ts';
import { clauseExpr } from './expr.ts';
import { tag } from './ast.ts';
import type { OutputColumn, StatementAnalysis } from './types.ts';

type CopyOptions = NonNullable<StatementAnalysis['copy']>;

function truthy(arg: Node | undefined): boolean {
  if (!arg) return true;
  const t = (defArgText(arg) ?? '').toLowerCase();
  return !['false', 'off', '0', 'no'].includes(t);
}

export function copyOptions(opts: unknown): CopyOptions {
  let format: CopyOptions['format'] = 'text';
  const set: Partial<CopyOptions> = {};
  for (const o of list(opts)) {
    const d = inner(o);
    const arg = d.arg as Node | undefined;
    switch (String(d.defname)) {
      case 'format': {
        const f = (defArgText(arg) ?? 'text').toLowerCase();
        format = f === 'csv' ? 'csv' : f === 'binary' ? 'binary' : 'text';
        break;
      }
      case 'delimiter': set.delimiter = defArgText(arg) ?? ''; break;
      case 'null': set.null = defArgText(arg) ?? ''; break;
      case 'header': set.header = truthy(arg); break;
      case 'quote': set.quote = defArgText(arg) ?? '"'; break;
      case 'escape': set.escape = defArgText(arg) ?? ''; break;
      default: break;
    }
  }
  const csv = format === 'csv';
  const quote = set.quote ?? '"';
  return {
    format,
    delimiter: set.delimiter ?? (csv ? ',' : '\t'),
    null: set.null ?? (csv ? '' : '\\N'),
    header: set.header ?? false,
    quote,
    escape: set.escape ?? quote,
  };
}

export interface CopyFacts {
  kind: 'copy-out' | 'copy-in';
  output: OutputColumn[] | null;
  copy: CopyOptions;
}

export function copyStatement(env: Env, v: Node): CopyFacts {
  const from = Boolean(v.is_from);
  const copy = copyOptions(v.options);
  const endpoint = v.is_program ? 'PROGRAM' : v.filename !== undefined ? 'file' : from ? 'STDIN' : 'STDOUT';
  if (v.is_program) addGuardrail(env, 'copy-program', `COPY ${from ? 'FROM' : 'TO'} PROGRAM`);
  else if (v.filename !== undefined) addGuardrail(env, 'copy-file', `COPY ${from ? 'FROM' : 'TO'} '${String(v.filename)}'`);
  let output: OutputColumn[] | null = null;
  if (v.query) {
    const q = v.query as Node;
    // Postgres refuses COPY (SELECT … INTO …); so do we, before it could be mistaken for a plain read.
    if (tag(q) === 'SelectStmt' && inner(q).intoClause) unanalysable(env, 'COPY (SELECT … INTO …) is not supported');
    const cols = tag(q) === 'SelectStmt' ? analyseSelect(env, EMPTY_SCOPE, inner(q)).cols : analyseDml(env, EMPTY_SCOPE, q) ?? [];
    output = cols.map((c) => ({ name: c.name, sources: c.lin.sources, direct: c.lin.direct }));
  } else if (v.relation) {
    const rv = v.relation as Node;
    const r = resolveRangeVar(env, rv);
    if (r.status === 'absent') unanalysable(env, `relation ${r.name} does not exist`);
    if (r.status === 'found') {
      if (from) {
        addAction(env, 'insert', r.key, `COPY FROM ${endpoint}`);
        if (v.whereClause) {
          const scope = childScope(EMPTY_SCOPE, newLevel());
          const item = relationItem(env, r.rel, r.key, 'COPY FROM WHERE', r.rel.name, false);
          scope.level!.items.push(item);
          scope.level!.visible.push(item.cols);
          clauseExpr(env, scope, v.whereClause as Node, 'predicate');
        }
      } else {
        const item = relationItem(env, r.rel, r.key, `COPY TO ${endpoint}`, r.rel.name, false);
        const wanted = names(v.attlist);
        const cols = wanted.length === 0 ? item.cols : wanted.map((w) => item.cols.find((c) => c.name === w));
        if (cols.some((c) => c === undefined)) unanalysable(env, 'COPY names a column that does not exist');
        output = cols.filter((c) => c !== undefined).map((c) => ({ name: c!.name, sources: c!.lin.sources.slice(), direct: c!.lin.direct }));
      }
    }
  }
  return { kind: from ? 'copy-in' : 'copy-out', output: endpoint === 'STDOUT' ? output : null, copy };
}
