// WITH clauses: every CTE is analysed (data-modifying ones run even when unreferenced).
import { inner, list, names, tag, type Node } from './ast.ts';
import { addUses, unanalysable, type Env } from './env.ts';
import { alternatives, mixed, NO_LIN, type Lin } from './lineage.ts';
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
      recursiveTerm(env, scope, def, qv.rarg as Node);
      if (!qv.all) for (const col of def.cols) addUses(env, col.lin.sources, 'group');
      searchAndCycle(env, def, cte);
      continue;
    }
    const res = cteQuery(env, scope, q);
    chain.defs.set(name, define(name, res.cols, aliases, res.lockables));
    searchAndCycle(env, chain.defs.get(name)!, cte);
  }
  return scope;
}

/** Enough rounds for any chain of columns copied into each other; beyond it, fail closed. */
const MAX_RECURSIVE_ROUNDS = 64;

/**
 * The recursive term reads the rows of its own earlier iterations, so a value can
 * move from one column to another on each round (`SELECT n + 1, b, ssn FROM r`
 * puts ssn into the second column on the third row). Analyse it again until the
 * columns' lineage stops growing.
 */
function recursiveTerm(env: Env, scope: Scope, def: CteDef, rarg: Node): void {
  for (let round = 0; round < MAX_RECURSIVE_ROUNDS; round++) {
    const rec = analyseSelect(env, scope, inner({ SelectStmt: rarg }));
    const next = def.cols.map((col, i) => ({ ...col, lin: alternatives([col.lin, rec.cols[i]?.lin ?? NO_LIN]) }));
    const grew = next.some((col, i) => col.lin.sources.length !== def.cols[i].lin.sources.length || col.lin.direct !== def.cols[i].lin.direct);
    def.cols = next;
    if (!grew) return;
  }
  unanalysable(env, `recursive CTE ${def.name}: column lineage does not settle`);
}

/**
 * SEARCH … SET col adds an ordering column built from the search columns (and orders
 * by them); CYCLE … SET mark USING path adds a mark computed by comparing rows and a
 * path that holds the cycle columns' values.
 */
function searchAndCycle(env: Env, def: CteDef, cte: Node): void {
  const search = cte.search_clause as Node | undefined;
  if (search) {
    const lin = mixed(columnsNamed(env, def, names(search.search_col_list)));
    addUses(env, lin.sources, 'order');
    def.cols.push({ name: String(search.search_seq_column), lin, owners: [] });
  }
  const cycle = cte.cycle_clause as Node | undefined;
  if (cycle) {
    const lin = mixed(columnsNamed(env, def, names(cycle.cycle_col_list)));
    addUses(env, lin.sources, 'group');
    def.cols.push({ name: String(cycle.cycle_mark_column), lin, owners: [] });
    def.cols.push({ name: String(cycle.cycle_path_column), lin, owners: [] });
  }
}

function columnsNamed(env: Env, def: CteDef, wanted: string[]): Lin[] {
  return wanted.map((n) => {
    const col = def.cols.find((c) => c.name === n);
    if (!col) unanalysable(env, `column ${n} of CTE ${def.name} does not exist`);
    return col?.lin ?? NO_LIN;
  });
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
