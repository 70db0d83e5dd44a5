// analyzeQuery: every statement of a parsed query, against a catalog snapshot; missing facts are requested.
import type { AnalysisContext, AnalysisResult, CatalogRequest, CatalogSnapshot, StatementAnalysis } from './types.ts';
import type { ParsedQuery } from './types.ts';
import { newSink, rootEnv, unanalysable } from './env.ts';
import { isAnalysisError, parseQuery, statementTree, type ParseLimits } from './parse.ts';
import { literalReads } from './ast.ts';
import { buildAnalysis } from './statements.ts';

/** Describe what every statement of `parsed` does. Synchronous and pure. */
export function analyzeQuery(parsed: ParsedQuery, catalog: CatalogSnapshot, context: AnalysisContext): AnalysisResult {
  const statements: StatementAnalysis[] = [];
  const missing = new Map<string, CatalogRequest>();
  let temps = context.tempRelations;
  for (const s of parsed.statements) {
    const sink = newSink();
    const env = rootEnv(catalog, { ...context, tempRelations: temps }, sink);
    let a: StatementAnalysis;
    const readsBefore = literalReads();
    try {
      a = buildAnalysis(env, statementTree(s), s.sql);
      if (literalReads() !== readsBefore) a.readsLiterals = true;
    } catch (e) {
      sink.guardrails.length = 0;
      unanalysable(env, e instanceof RangeError ? 'statement nested too deeply to analyse' : `internal analysis error: ${e instanceof Error ? e.message : String(e)}`);
      a = { kind: 'other', node: s.node, sql: s.sql, actions: sink.actions, guardrails: sink.guardrails, output: null, uses: sink.uses };
    }
    for (const [k, r] of sink.missing) missing.set(k, r);
    if (a.createsTemp) temps = new Set([...temps, ...a.createsTemp]);
    statements.push(a);
  }
  if (missing.size > 0) return { ok: false, missing: [...missing.values()] };
  return { ok: true, analysis: { statements } };
}

/** parseQuery + analyzeQuery. */
export function analyzeSql(sql: string, catalog: CatalogSnapshot, context: AnalysisContext, limits?: ParseLimits): AnalysisResult {
  const parsed = parseQuery(sql, limits);
  if (isAnalysisError(parsed)) return { ok: false, error: parsed };
  return analyzeQuery(parsed, catalog, context);
}
