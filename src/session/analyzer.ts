// Analysis with live catalog facts: parse (cached), then analyse, fetching
// missing catalog facts in rounds until the analysis is complete.
import { analyzeQuery, parseQuery } from '../analysis/index.ts';
import type { AnalysisError, QueryAnalysis } from '../analysis/types.ts';
import type { Catalog } from '../upstream/catalog.ts';

const maxRounds = 24;
const cacheSize = 5000;

export interface AnalyzerLimits {
  maxSqlBytes: number;
}

export class StatementAnalyzer {
  private cache = new Map<string, QueryAnalysis>();
  private cacheGeneration = -1;

  constructor(
    private readonly catalog: Catalog,
    private readonly database: string,
    private readonly limits: AnalyzerLimits,
  ) {}

  /** Synchronous fast path: a cached analysis for this exact text, if the catalog has not changed since. */
  cached(sql: string, tempRelations: ReadonlySet<string>): QueryAnalysis | undefined {
    if (tempRelations.size > 0 || this.cacheGeneration !== this.catalog.generation || !this.catalog.fresh()) return undefined;
    return this.cache.get(sql);
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
      this.cache.clear();
      this.cacheGeneration = generation;
    }
    if (this.cache.size >= cacheSize) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(sql, analysis);
  }
}
