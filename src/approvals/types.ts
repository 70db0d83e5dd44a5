// Values shared by the approval service, the notifier, the admin API and the CLI.
import type { Grant, GrantScope, Review } from '../store/types.ts';

export interface WebhookSettings {
  url: string;
  /** Environment variable holding the HMAC secret; unsigned when absent. */
  secretEnv?: string;
  format: 'json' | 'slack';
}

/** How one `review` verdict is handled: the merge of approvals: defaults and the policies' review_settings. */
export interface ReviewSettings {
  /** hold: the statement waits in the session; async: refused now, runs when re-sent after approval. */
  mode: 'hold' | 'async';
  timeoutS: number;
  asyncTtlS: number;
  /** Who may decide; empty means the config's approvals.approver_groups. */
  approverGroups: string[];
  /** Every webhook of the policies involved (deduplicated). */
  webhooks: WebhookSettings[];
}

export type ReviewOutcome =
  | { status: 'approved'; review: Review }
  | { status: 'denied' | 'expired' | 'withdrawn'; reason: string; review: Review };

export type ApprovalErrorCode = 'not-found' | 'not-pending' | 'forbidden' | 'self-approval' | 'invalid';

/** A refused approval action; the admin API maps the code to an HTTP status. */
export class ApprovalError extends Error {
  constructor(readonly code: ApprovalErrorCode, message: string) {
    super(message);
    this.name = 'ApprovalError';
  }
}

export const httpStatusOf: Record<ApprovalErrorCode, number> = {
  'not-found': 404,
  'not-pending': 409,
  forbidden: 403,
  'self-approval': 403,
  invalid: 400,
};

/**
 * Audit events, one per request and per status change. review_decided also covers the
 * system's transitions (expired, withdrawn, consumed) with `by` naming who or what.
 * Payloads carry names, ids and the SQL text; never tokens or parameter values.
 */
export type ApprovalEvent =
  | {
      type: 'review_requested'; id: string; identity: string; upstream: string; session: string;
      sql: string; reasons: string[]; mode: 'hold' | 'async'; expiresAt: string; at: string;
    }
  | {
      type: 'review_decided'; id: string; identity: string; upstream: string;
      status: 'approved' | 'denied' | 'expired' | 'withdrawn' | 'consumed'; by: string; reason?: string; at: string;
    }
  | {
      type: 'grant_requested'; id: string; identity: string; upstream: string | null;
      scopes: GrantScope[]; durationS: number; justification: string; at: string;
    }
  | {
      type: 'grant_decided'; id: string; identity: string; upstream: string | null;
      status: 'active' | 'denied' | 'revoked' | 'expired'; by: string; reason?: string; expiresAt?: string; at: string;
    };

export type TimerHandle = unknown;

/** Injected time: tests drive a fake clock; production uses Date.now and unref'd Node timers. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, Math.min(Math.max(0, ms), 2 ** 31 - 1));
    t.unref();
    return t;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

/** Notifies humans that a review waits (webhooks); must never block or throw. */
export interface ReviewNotifier {
  notify(review: Review, settings: ReviewSettings): void;
}

export type { Grant, GrantScope, Review };
