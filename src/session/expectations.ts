// What the gateway expects back from the upstream for each message it forwarded,
// in order. The response relay consumes these as responses arrive.
import type { CopyOptions } from '../masking/copy-masker.ts';
import type { PgError } from '../protocol/errors.ts';
import type { StatementVerdict } from '../policy/types.ts';
import type { PortalEntry } from './registry.ts';

/** How to treat the result of one statement. */
export interface ResultPlan {
  sql: string;
  verdict: StatementVerdict;
  copy?: CopyOptions;
  startedAt: number;
  /** Errors of this statement must not be shown as they are (COMMIT can surface errors of a WITH HOLD cursor over masked data). */
  scrubErrors?: boolean;
  /** Record this many result rows (as sent to the client) for the audit. */
  recordRows?: number;
  recorded?: { columns: string[]; rows: (string | null)[][] };
  /** Applied only when the upstream reports the statement complete (PREPARE, DECLARE, CLOSE, temp tables, DDL). */
  onSuccess?: () => void;
}

/** Restores the session registry when the upstream did not carry out a message (it failed, or was skipped until Sync). */
export type Undo = () => void;

export type Expectation =
  /** A simple Query: one plan per statement, then ReadyForQuery. A sentinel query stands in for a refused one. */
  | { kind: 'query'; plans: ResultPlan[]; index: number; sentinel?: PgError }
  | { kind: 'parse'; sentinel?: PgError; undo?: Undo }
  | { kind: 'bind'; undo?: Undo }
  /** `decode`: keep the portal's RowDescription (masking or recording will need it); a swallowed answer is always kept. */
  | { kind: 'describe'; portal?: PortalEntry; swallow: boolean; decode: boolean }
  | { kind: 'execute'; portal: PortalEntry; plan: ResultPlan }
  | { kind: 'close'; undo?: Undo }
  | { kind: 'sync' };
