// Decisions are values: what policy concluded about a statement, and why.
import type { Privilege, GuardrailRule } from '../analysis/types.ts';

export type Decision = 'allow' | 'deny' | 'review';

export type MaskStrategy = 'redact' | 'null' | 'last4' | 'email' | 'hash';

export type DetectorName = 'card' | 'ssn' | 'email' | 'phone' | 'token';

/** What happens to one output column: a masking strategy, or content detectors for free text. */
export type ColumnRule = MaskStrategy | { detect: DetectorName[] };

export interface Identity {
  name: string;
  groups: string[];
  /** How the identity was established: 'token' | 'oidc'. */
  method: string;
  claims?: Record<string, unknown>;
}

export interface Reason {
  decision: Decision;
  /** Which rule decided: "policy reporting: allow read analytics.*", "guardrail do-block", "default deny", … */
  rule: string;
  privilege?: Privilege;
  object?: string;
  guardrail?: GuardrailRule;
  /** Where in the statement, e.g. "FROM clause", "view public.v". */
  via?: string;
  /** Human sentence used in error messages. */
  message: string;
}

export interface StatementVerdict {
  decision: Decision;
  reasons: Reason[];
  /** Per output column: the strategy to apply, or null to pass it through. Null when there is no output. */
  masks: (ColumnRule | null)[] | null;
  /** Source columns that caused masking, for audit (never values). */
  maskedColumns: string[];
  /** True when the statement touches a masked column at all (error and notice text must then be scrubbed). */
  touchesMasked: boolean;
}

export interface QueryVerdict {
  decision: Decision;
  statements: StatementVerdict[];
  /** The reason that decided the query (first deny, else first review). */
  decisive?: Reason;
}
