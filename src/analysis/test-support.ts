// Shared helpers for the analysis unit tests.
import { initAnalysis } from './parse.ts';
import { analyzeSql } from './analyze.ts';
import { fixtureCatalog, type FixtureOptions } from './test-catalog.ts';
import type { AnalysisContext, CatalogSnapshot, StatementAnalysis } from './types.ts';

await initAnalysis();

export const CTX: AnalysisContext = { database: 'corpus', tempRelations: new Set() };

/** Analyse with the full fixture catalog; throws if the result is not ok. */
export function analyse(sql: string, opts: FixtureOptions & { catalog?: CatalogSnapshot; context?: AnalysisContext } = {}): StatementAnalysis[] {
  const r = analyzeSql(sql, opts.catalog ?? fixtureCatalog(opts), opts.context ?? CTX);
  if (!r.ok) throw new Error(`analysis failed: ${JSON.stringify(r)}`);
  return r.analysis.statements;
}

export function one(sql: string, opts: Parameters<typeof analyse>[1] = {}): StatementAnalysis {
  const s = analyse(sql, opts);
  if (s.length !== 1) throw new Error(`expected one statement, got ${s.length}`);
  return s[0];
}

export function actions(s: StatementAnalysis): string[] {
  return s.actions.map((a) => `${a.privilege}:${a.object}`);
}

export function rules(s: StatementAnalysis): string[] {
  return s.guardrails.map((g) => g.rule);
}

export function uses(s: StatementAnalysis): string[] {
  return s.uses.map((u) => `${u.column}:${u.context}`);
}

/** Output columns as "name<sources>" with a trailing "!" for direct ones. */
export function outputs(s: StatementAnalysis): string[] {
  return (s.output ?? []).map((o) => `${o.name}<${o.sources.join('|')}>${o.direct ? '!' : ''}`);
}
