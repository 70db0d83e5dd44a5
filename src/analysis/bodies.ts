// Routine bodies: LANGUAGE sql (text or BEGIN ATOMIC) and plpgsql, analysed as nested code.
import { parseSync } from 'libpg-query';
import { inner, list, tag, type Node } from './ast.ts';
import { MAX_NESTING, nestedEnv, unanalysable, type Env } from './env.ts';
import { mixed, NO_LIN, type Lin } from './lineage.ts';
import { isAnalysisError, parseQuery, statementTree } from './parse.ts';
import { analysePlpgsql } from './plpgsql.ts';
import { runStatement } from './statements.ts';
import type { FunctionInfo } from './types.ts';

/** Enter a routine body: cycle and depth guard. Returns the nested env, or undefined to stop. */
export function enterBody(env: Env, key: string): Env | undefined {
  if (env.expanding.has(key)) return undefined;
  if (env.depth >= MAX_NESTING) {
    unanalysable(env, `views/routines nested deeper than ${MAX_NESTING} at ${key}`);
    return undefined;
  }
  return nestedEnv(env, key, key, true);
}

/** Analyse a catalog routine's body; returns the lineage of what it returns. */
export function analyseRoutineBody(env: Env, fi: FunctionInfo, ruled: boolean): Lin {
  const key = `function ${fi.schema}.${fi.name}`;
  const lang = fi.language.toLowerCase();
  const analysable = (lang === 'sql' || lang === 'plpgsql') && fi.body !== null && fi.body.trim() !== '';
  if (!analysable) {
    if (!ruled) unanalysable(env, `${fi.schema}.${fi.name}() has an opaque body (language ${fi.language})`);
    return NO_LIN;
  }
  const body = fi.body ?? '';
  const sub = enterBody(env, key);
  if (!sub) return NO_LIN;
  if (lang === 'plpgsql') {
    return analysePlpgsql(sub, { body, procedure: fi.kind === 'procedure', returnsSet: fi.returnsSet });
  }
  if (/^\s*BEGIN\s+ATOMIC\b/i.test(body)) return analyseAtomicText(sub, body);
  return analyseSqlText(sub, body);
}

/** Analyse SQL text inside a body; lineage = the last statement's outputs. */
export function analyseSqlText(env: Env, text: string): Lin {
  const parsed = parseQuery(text);
  if (isAnalysisError(parsed)) {
    unanalysable(env, `routine body does not parse: ${parsed.message}`);
    return NO_LIN;
  }
  return analyseStatements(env, parsed.statements.map((s) => statementTree(s)));
}

/** Analyse a list of statement nodes; lineage = union of the last statement's outputs. */
export function analyseStatements(env: Env, nodes: Node[]): Lin {
  let last: Lin = NO_LIN;
  for (const n of nodes) {
    const out = runStatement(env, n).output;
    last = out ? mixed(out.map((o) => ({ sources: o.sources, direct: o.direct }))) : NO_LIN;
  }
  return last;
}

function analyseAtomicText(env: Env, body: string): Lin {
  try {
    const tree = parseSync(`CREATE FUNCTION sg_body() RETURNS record LANGUAGE sql ${body}`) as unknown as Node;
    const stmt = list(tree.stmts)[0]?.stmt as Node | undefined;
    return analyseSqlBodyNode(env, inner(stmt ?? {}).sql_body as Node | undefined);
  } catch (e) {
    unanalysable(env, `BEGIN ATOMIC body does not parse: ${e instanceof Error ? e.message : String(e)}`);
    return NO_LIN;
  }
}

/** The sql_body of CREATE FUNCTION ... BEGIN ATOMIC: a List of Lists of statements (or one statement). */
export function analyseSqlBodyNode(env: Env, body: Node | undefined): Lin {
  if (!body) return NO_LIN;
  const nodes: Node[] = [];
  const flatten = (n: Node): void => {
    if (tag(n) === 'List') { for (const i of list(inner(n).items)) flatten(i); return; }
    nodes.push(n);
  };
  flatten(body);
  return analyseStatements(env, nodes);
}
