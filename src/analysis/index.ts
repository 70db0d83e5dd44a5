// The SQL analysis module: the only place that uses the Postgres parser. Describes; never decides.
export { initAnalysis, parseQuery, isAnalysisError, type ParseLimits } from './parse.ts';
export { analyzeQuery, analyzeSql } from './analyze.ts';
export type * from './types.ts';

export { literalKey, literalFree } from './literal-key.ts';
