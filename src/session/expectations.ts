// What the gateway expects back from the upstream for each message it forwarded,
// in order. The response relay consumes these as responses arrive.
import type { CopyOptions } from '../masking/copy-masker.ts';
import type { PgError } from '../protocol/errors.ts';
import type { StatementVerdict } from '../policy/types.ts';
import type { PortalEntry, PreparedEntry } from './registry.ts';

/** How to treat the result of one statement. */
export interface ResultPlan {
  sql: string;
  verdict: StatementVerdict;
  copy?: CopyOptions;
  /** Set once the statement finished (for audit). */
  startedAt: number;
}

export type Expectation =
  /** A simple Query: one plan per statement, then ReadyForQuery. A sentinel query stands in for a refused one. */
  | { kind: 'query'; plans: ResultPlan[]; index: number; sentinel?: PgError }
  | { kind: 'parse'; sentinel?: PgError }
  | { kind: 'bind' }
  | { kind: 'describe'; portal?: PortalEntry; prepared?: PreparedEntry; swallow: boolean }
  | { kind: 'execute'; portal: PortalEntry; plan: ResultPlan }
  | { kind: 'close' }
  | { kind: 'sync' };
