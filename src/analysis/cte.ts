// WITH clauses: every CTE is analysed (data-modifying ones run even when unreferenced).
import { inner, list, names, tag, type Node } from './ast.ts';
import { addUses, unanalysable, type Env } from './env.ts';
import { alternatives, NO_LIN } from './lineage.ts';
import type { CteChain, CteDef, Scope } from './scope.ts';
import { analyseSelect, type OutCol, type SelectResult } from './select.ts';
import { analyseDml } from './dml.ts';

function define(name: string, cols: OutCol[], aliases: string[], lockables: string[]): CteDef {
  return {
    name,
    cols: cols.map((c, i) => ({ name: aliases[i] ?? c.name, lin: c.lin, owners: [] })),
    lockables,
  };
}

/** Process a WITH clause; returns the scope in which the statement's body sees the CTEs. */
export function withClause(env: Env, outer: Scope, w: Node): Scope {
  const chain: CteChain = { defs: new Map(), parent: outer.ctes };
  const scope: Scope = { level: outer.level, parent: outer.parent, ctes: chain };
  for (const c of list(w.ctes)) {
    const cte = inner(c);
    const name = String(cte.ctename ?? '');
    const aliases = names(cte.aliascolnames);
    const q = cte.ctequery as Node;
    const qv = inner(q);
    if (w.recursive && tag(q) === 'SelectStmt' && qv.op === 'SETOP_UNION') {
      const anchor = analyseSelect(env, scope, inner({ SelectStmt: qv.larg }));
      const def = define(name, anchor.cols, aliases, anchor.lockables);
      chain.defs.set(name, def);
      const rec = analyseSelect(env, scope, inner({ SelectStmt: qv.rarg }));
      def.cols = def.cols.map((col, i) => ({ ...col, lin: alternatives([col.lin, rec.cols[i]?.lin ?? NO_LIN]) }));
      if (!qv.all) for (const col of def.cols) addUses(env, col.lin.sources, 'group');
      continue;
    }
    const res = cteQuery(env, scope, q);
    chain.defs.set(name, define(name, res.cols, aliases, res.lockables));
  }
  return scope;
}

function cteQuery(env: Env, scope: Scope, q: Node): SelectResult {
  const t = tag(q);
  if (t === 'SelectStmt') return analyseSelect(env, scope, inner(q));
  if (t === 'InsertStmt' || t === 'UpdateStmt' || t === 'DeleteStmt' || t === 'MergeStmt') {
    return { cols: analyseDml(env, scope, q) ?? [], lockables: [] };
  }
  unanalysable(env, `unsupported CTE body ${t}`);
  return { cols: [], lockables: [] };
}
