// The event written once for every statement that ran (session.ts builds it
// when the statement completes). Its members are fixed and declared here in
// their order on the line (`at` and `type` lead every record whatever their
// place), so the record writer (record-bytes.ts) serialises it member by
// member instead of enumerating an object of unknown shape; the text is the
// same as for a plain object with these members.
import type { StatementEvent } from './types.ts';

type Result = NonNullable<StatementEvent['result']>;

export class RanStatementEvent implements StatementEvent {
  readonly type: 'statement';
  readonly session: string;
  readonly identity: string;
  readonly upstream: string;
  readonly sql: string;
  readonly fingerprint: string;
  readonly verdict: 'allow';
  readonly masked: string[] | undefined;
  readonly durationMs: number;
  readonly rows: number;
  readonly tag: string | undefined;
  readonly error: string | undefined;
  readonly result: Result | undefined;
  readonly at: string;

  constructor(
    at: string, session: string, identity: string, upstream: string, sql: string, fingerprint: string,
    masked: string[] | undefined, durationMs: number, rows: number, tag: string | undefined, error: string | undefined, result: Result | undefined,
  ) {
    this.type = 'statement';
    this.session = session;
    this.identity = identity;
    this.upstream = upstream;
    this.sql = sql;
    this.fingerprint = fingerprint;
    this.verdict = 'allow';
    this.masked = masked;
    this.durationMs = durationMs;
    this.rows = rows;
    this.tag = tag;
    this.error = error;
    this.result = result;
    this.at = at;
  }
}
