// Routine calls: name rules, volatility, SECURITY DEFINER, execute actions and body analysis.
import { addAction, addGuardrail, addUses, unanalysable, type Env } from './env.ts';
import { mixed, NO_LIN, type Lin } from './lineage.ts';
import { resolveFunctions, SYSTEM_SCHEMAS } from './resolve.ts';
import { asksAboutNamedObjects, functionRule, SAFE_VOLATILE } from './function-rules.ts';
import { analyseRoutineBody } from './bodies.ts';
import type { FunctionInfo } from './types.ts';

export type CallSite = 'expression' | 'from' | 'call' | 'trigger';

const VIA: Record<CallSite, string> = {
  expression: 'function call', from: 'FROM function', call: 'CALL', trigger: 'trigger function',
};

export interface CallResult {
  /** Sources of the values the routine bodies return (never direct). */
  lin: Lin;
  /** Every overload the name resolved to. */
  fns: FunctionInfo[];
}

/** Record everything a call of the routine named `parts` implies; resolve overloads by name. */
export function callRoutine(env: Env, parts: string[], site: CallSite): CallResult {
  const r = resolveFunctions(env, parts);
  if (r.status === 'absent') unanalysable(env, `function ${r.name} does not exist`);
  if (r.status !== 'found') return { lin: NO_LIN, fns: [] };
  const lins: Lin[] = [];
  for (const fi of r.fns) {
    const rule = functionRule(fi.name);
    if (rule) addGuardrail(env, rule, `${fi.name}()`);
    if (SYSTEM_SCHEMAS.has(fi.schema)) {
      if (asksAboutNamedObjects(fi.name)) env.sink.readsCatalog = true;
      if (!rule && fi.volatility === 'volatile' && !SAFE_VOLATILE.has(fi.name)) {
        addGuardrail(env, 'side-effect-function', `${fi.name}() is volatile`);
      }
      continue;
    }
    const qn = `${fi.schema}.${fi.name}`;
    addAction(env, 'execute', qn, VIA[site]);
    if (fi.securityDefiner) addGuardrail(env, 'security-definer', `${qn}() is SECURITY DEFINER`);
    lins.push(analyseRoutineBody(env, fi, rule !== undefined));
  }
  return { lin: mixed(lins), fns: r.fns };
}

/**
 * How many rows a set-returning function yields depends on its arguments
 * (generate_series(1, n), regexp_matches(s, 'x', 'g')), and counting those rows
 * reads the values back: its arguments decide rows like a predicate does.
 */
export function noteCardinalityArgs(env: Env, fns: readonly FunctionInfo[], argLins: readonly Lin[]): void {
  if (!fns.some((f) => f.returnsSet)) return;
  for (const l of argLins) addUses(env, l.sources, 'predicate');
}
