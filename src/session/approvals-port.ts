// What a session needs from the approval service (the service lives in approvals/).
import type { Identity } from '../policy/types.ts';
import type { Grant, Review } from '../store/types.ts';

export interface HoldSettings {
  mode: 'hold' | 'async';
  timeoutS: number;
}

export type HoldOutcome =
  | { status: 'approved'; review: Review }
  | { status: 'denied' | 'expired' | 'withdrawn'; reason: string; review: Review };

export interface ApprovalsPort {
  settingsFor(policyNames: string[]): HoldSettings;
  request(req: {
    identity: Identity;
    upstream: string;
    session: string;
    sql: string;
    params: (string | null)[] | null;
    reasons: string[];
    policyNames: string[];
  }): Promise<Review>;
  wait(id: string, signal: AbortSignal): Promise<HoldOutcome>;
  consumeApproved(q: { identity: string; upstream: string; sql: string; params: (string | null)[] | null }): Promise<Review | null>;
  activeGrants(identity: string, upstream: string): Grant[];
  /** How an approver decides, for the notice the client sees. */
  howToDecide(id: string): string;
}
