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

/** The fields of every kind; a kind leaves the ones it does not use empty. */
interface Fields {
  plans: ResultPlan[] | undefined;
  index: number;
  sentinel: PgError | undefined;
  undo: Undo | undefined;
  portal: PortalEntry | undefined;
  swallow: boolean;
  decode: boolean;
  plan: ResultPlan | undefined;
}

export type Expectation = Fields &
  (
    /** A simple Query: one plan per statement, then ReadyForQuery. A sentinel query stands in for a refused one. */
    | { kind: 'query'; plans: ResultPlan[] }
    | { kind: 'parse' }
    | { kind: 'bind' }
    /** `decode`: keep the portal's RowDescription (masking or recording will need it); a swallowed answer is always kept. */
    | { kind: 'describe' }
    | { kind: 'execute'; portal: PortalEntry; plan: ResultPlan }
    | { kind: 'close' }
    | { kind: 'sync' }
  );

/**
 * Every expectation is built here with the same fields in the same order, so
 * all kinds share one object shape and the relay's reads of them stay
 * monomorphic (several shapes made each read a megamorphic lookup).
 */
function make<K extends Expectation['kind']>(
  kind: K,
  plans: ResultPlan[] | undefined,
  sentinel: PgError | undefined,
  undo: Undo | undefined,
  portal: PortalEntry | undefined,
  swallow: boolean,
  decode: boolean,
  plan: ResultPlan | undefined,
): Extract<Expectation, { kind: K }> {
  return { kind, plans, index: 0, sentinel, undo, portal, swallow, decode, plan } as Extract<Expectation, { kind: K }>;
}

const none = undefined;
export const expectQuery = (plans: ResultPlan[], sentinel?: PgError) => make('query', plans, sentinel, none, none, false, false, none);
export const expectParse = (undo?: Undo, sentinel?: PgError) => make('parse', none, sentinel, undo, none, false, false, none);
export const expectBind = (undo?: Undo) => make('bind', none, none, undo, none, false, false, none);
export const expectDescribe = (portal: PortalEntry | undefined, swallow: boolean, decode: boolean) => make('describe', none, none, none, portal, swallow, decode, none);
export const expectExecute = (portal: PortalEntry, plan: ResultPlan) => make('execute', none, none, none, portal, false, false, plan);
export const expectClose = (undo?: Undo) => make('close', none, none, undo, none, false, false, none);
/** A Sync carries no state of its own (the relay changes `index` of query expectations only), so all share one. */
const SYNC = make('sync', none, none, none, none, false, false, none);
export const expectSync = () => SYNC;
