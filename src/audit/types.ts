// Audit events: what happened, to whom, decided how. Never raw masked values.
import type { GrantScope } from '../store/types.ts';
// Every field is documented in EVENTS.md (schema v1). Event `type` names are
// stable; new optional fields may be added within v1, nothing is renamed.

/** What callers pass to `AuditSink.write`. `at` is an ISO-8601 UTC time from the injected clock. */
export type AuditEvent =
  | SessionStartEvent
  | SessionEndEvent
  | StatementEvent
  | ReviewRequestedEvent
  | ReviewDecidedEvent
  | GrantRequestedEvent
  | GrantDecidedEvent
  | PolicyReloadedEvent
  | AuthFailedEvent
  | AuditRecoveredEvent;

export type AuditEventType = AuditEvent['type'];
export type Verdict = 'allow' | 'deny' | 'review';

export interface SessionStartEvent {
  type: 'session_start';
  at: string;
  session: string;
  identity: string;
  groups: string[];
  upstream: string;
  /** Client address as host:port. */
  client: string;
  tls: boolean;
  /** Authentication method: token | oidc | … */
  method: string;
  /** Startup `application_name`, when the client sent one. */
  application?: string;
}

export interface SessionEndEvent {
  type: 'session_end';
  at: string;
  session: string;
  identity: string;
  upstream: string;
  /** Why the session ended: "client terminated", a FATAL message, "gateway shutdown", … */
  reason: string;
  statements: number;
  denials?: number;
  durationMs: number;
}

export interface StatementEvent {
  type: 'statement';
  at: string;
  session: string;
  identity: string;
  upstream: string;
  sql: string;
  /** Bound parameters as text (null = SQL NULL), already redacted by the caller (see REDACTED). */
  params?: (string | null)[];
  /** fingerprintSql(sql): the same statement with other literal values has the same fingerprint. */
  fingerprint?: string;
  verdict: Verdict;
  /** For deny/review: the rule sentences that decided it. */
  reasons?: string[];
  /** Source columns masked in the result (schema.table.column), never values. */
  masked?: string[];
  /** Review that held (or released) the statement. */
  review?: string;
  /** Time-boxed grant that allowed it. */
  grant?: string;
  /** simple (Query) or extended (Parse/Bind/Execute). */
  protocol?: 'simple' | 'extended';
  /** From forwarding to completion, for statements that ran. */
  durationMs?: number;
  rows?: number;
  /** CommandComplete tag, e.g. "SELECT 10", when it succeeded. */
  tag?: string;
  /** SQLSTATE of the error, when it failed in the database. */
  error?: string;
  /** The first rows of the result as the client received them (masked), when the policy records results. */
  result?: { columns: string[]; rows: (string | null)[][] };
}

// Review and grant events: the shapes the approvals service emits (approvals/types.ts ApprovalEvent),
// so its events go to the audit as they are.

export interface ReviewRequestedEvent {
  type: 'review_requested';
  at: string;
  /** Review id. */
  id: string;
  session: string;
  identity: string;
  upstream: string;
  sql: string;
  params?: (string | null)[];
  fingerprint?: string;
  reasons: string[];
  mode: 'hold' | 'async';
  expiresAt: string;
}

export interface ReviewDecidedEvent {
  type: 'review_decided';
  at: string;
  /** Review id. */
  id: string;
  identity: string;
  upstream: string;
  session?: string;
  /** consumed: an async approval was used by the re-sent statement. */
  status: 'approved' | 'denied' | 'expired' | 'withdrawn' | 'consumed';
  /** The approver, or what decided (e.g. "scopegate" for a timeout). */
  by: string;
  reason?: string;
}

export interface GrantRequestedEvent {
  type: 'grant_requested';
  at: string;
  /** Grant id. */
  id: string;
  identity: string;
  /** null: every upstream the identity may use. */
  upstream: string | null;
  scopes: GrantScope[];
  durationS: number;
  justification: string;
}

export interface GrantDecidedEvent {
  type: 'grant_decided';
  at: string;
  /** Grant id. */
  id: string;
  identity: string;
  upstream: string | null;
  /** active: approved and in force until expiresAt. */
  status: 'active' | 'denied' | 'revoked' | 'expired';
  by: string;
  reason?: string;
  expiresAt?: string;
}

export interface PolicyReloadedEvent {
  type: 'policy_reloaded';
  at: string;
  /** Config file path (or "api" for a change made through the admin API). */
  source: string;
  ok: boolean;
  /** sha256 of the new config text, when ok. */
  version?: string;
  policies?: number;
  identities?: number;
  /** Why the reload was rejected (the old policy stays in force). */
  error?: string;
  by?: string;
}

export interface AuthFailedEvent {
  type: 'auth_failed';
  at: string;
  client: string;
  /** The startup `user` and `database`, as sent. */
  user: string;
  database: string;
  reason: string;
}

/** Written by the audit itself, in the chain, after it repaired or lost something. */
export interface AuditRecoveredEvent {
  type: 'audit_recovered';
  at: string;
  problem: 'partial_line_discarded' | 'write_failed' | 'file_removed';
  file?: string;
  /** partial_line_discarded: bytes cut from the end of the file (a write the crash interrupted). */
  bytes?: number;
  /** write_failed: the error, when it started, and events dropped meanwhile (a gap in seq). */
  error?: string;
  since?: string;
  dropped?: number;
}

/** An event as written: the event plus its place in the hash chain. */
export type AuditRecord = AuditEvent & {
  v: 1;
  seq: number;
  /** `hash` of the previous record (64 zeros before the first). */
  prev: string;
  /** sha256 (hex) of this record's line without its `hash` member; see chain.ts. */
  hash: string;
};

/**
 * Every sink: writes are accepted synchronously and written in batches later.
 *
 * - `write(event)` never throws and never does I/O; when the sink is not
 *   healthy the event is still queued (or counted as dropped when the backlog
 *   is full).
 * - `flush()` resolves once every event accepted before the call has reached
 *   the sink's destination (file: write(2) returned, so it survives the
 *   process being killed; stdout: accepted by the stream; webhook: answered
 *   2xx). It rejects with an AuditUnavailableError when the sink is failing or
 *   the write of those events failed (they stay queued and are retried).
 * - `healthy()` is false while writes are failing, the backlog is full or the
 *   sink is closed: with `audit.fail_closed`, refuse statements then.
 * - `close()` flushes what it can and never rejects.
 */
export interface AuditSink {
  /** Takes the event without I/O. It may be serialised later (sinks seal in batches), so it must not change after this call. */
  write(event: AuditEvent): void;
  flush(): Promise<void>;
  close(): Promise<void>;
  healthy(): boolean;
  /** False when events go nowhere, so callers can skip building them. Absent means true. */
  readonly enabled?: boolean;
}

export interface SinkStats {
  /** Events accepted by write(). */
  accepted: number;
  /** Events that reached the destination. */
  written: number;
  /** Events lost: backlog full, or rejected by the destination. */
  dropped: number;
  /** Events waiting to be written. */
  backlog: number;
  /** The current failure, or null. */
  failing: string | null;
}

export class AuditUnavailableError extends Error {
  readonly code = 'AUDIT_UNAVAILABLE';
  constructor(readonly sink: string, message: string, options?: { cause?: unknown }) {
    super(`audit ${sink}: ${message}`, options);
    this.name = 'AuditUnavailableError';
  }
}

/** What callers put in `params` in place of a value they must not record. */
export const REDACTED = '[redacted]';
