// Analysis with live catalog facts: parse (cached), then analyse, fetching
// missing catalog facts in rounds until the analysis is complete.
import { analyzeQuery, literalFree, literalKey, parseQuery } from '../analysis/index.ts';
import type { AnalysisError, QueryAnalysis } from '../analysis/types.ts';
import type { Catalog } from '../upstream/catalog.ts';

const maxRounds = 24;
const cacheSize = 5000;

export interface AnalyzerLimits {
  maxSqlBytes: number;
}

/** A bounded map that forgets its oldest entry when full. */
class Bounded<V> extends Map<string, V> {
  remember(key: string, value: V): void {
    if (this.size >= cacheSize) this.delete(this.keys().next().value as string);
    this.set(key, value);
  }
}

export class StatementAnalyzer {
  /** Exact SQL text → analysis. */
  private exact = new Bounded<QueryAnalysis>();
  /** Text with literals blanked → analysis, only for analyses that do not depend on literal values. */
  private shapes = new Bounded<QueryAnalysis>();
  private cacheGeneration = -1;

  constructor(
    private readonly catalog: Catalog,
    private readonly database: string,
    private readonly limits: AnalyzerLimits,
  ) {}

  /** Synchronous fast path: a cached analysis for this text, if the catalog has not changed since. */
  cached(sql: string, tempRelations: ReadonlySet<string>): QueryAnalysis | undefined {
    if (tempRelations.size > 0 || this.cacheGeneration !== this.catalog.generation || !this.catalog.fresh()) return undefined;
    const hit = this.exact.get(sql);
    if (hit) return hit;
    const key = literalKey(sql);
    const shape = key === null ? undefined : this.shapes.get(key);
    // Same statement with other literal values: reuse the analysis, with this text for the audit trail.
    return shape && { statements: [{ ...shape.statements[0], sql }] };
  }

  async analyze(sql: string, tempRelations: ReadonlySet<string>): Promise<QueryAnalysis | AnalysisError> {
    const hit = this.cached(sql, tempRelations);
    if (hit) return hit;
    const parsed = parseQuery(sql, { maxLength: this.limits.maxSqlBytes });
    if ('code' in parsed) return parsed;
    const context = { database: this.database, tempRelations };
    try {
      await this.catalog.prepare();
      for (let round = 0; round < maxRounds; round++) {
        const generation = this.catalog.generation;
        const result = analyzeQuery(parsed, this.catalog.snapshot(), context);
        if (result.ok) {
          if (tempRelations.size === 0) this.remember(sql, result.analysis, generation);
          return result.analysis;
        }
        if ('error' in result) return result.error;
        await this.catalog.load(result.missing);
      }
    } catch (err) {
      return { code: '58000', message: `catalog lookup failed: ${(err as Error).message}` };
    }
    return { code: '54001', message: 'statement needs too many catalog lookups to analyse' };
  }

  private remember(sql: string, analysis: QueryAnalysis, generation: number): void {
    if (generation !== this.cacheGeneration) {
      this.exact.clear();
      this.shapes.clear();
      this.cacheGeneration = generation;
    }
    this.exact.remember(sql, analysis);
    const key = literalFree(analysis) ? literalKey(sql) : null;
    if (key !== null) this.shapes.remember(key, analysis);
  }
}
