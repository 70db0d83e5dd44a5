// The approval service as the session sees it (structurally the session's ApprovalsPort):
// settings come from the config by policy name, hints name the CLI command and the API URL.
import type { Config } from '../config/schema.ts';
import type { Identity } from '../policy/types.ts';
import type { Grant, Review } from '../store/types.ts';
import type { ApprovalService } from './service.ts';
import { decisionHint } from './hints.ts';
import { reviewSettingsFor } from './settings.ts';
import type { ReviewOutcome, ReviewSettings } from './types.ts';

export interface SessionApprovals {
  settingsFor(policyNames: string[]): ReviewSettings;
  request(req: {
    identity: Identity;
    upstream: string;
    session: string;
    sql: string;
    params: (string | null)[] | null;
    reasons: string[];
    policyNames: string[];
  }): Promise<Review>;
  wait(id: string, signal: AbortSignal): Promise<ReviewOutcome>;
  consumeApproved(q: { identity: string; upstream: string; sql: string; params: (string | null)[] | null }): Promise<Review | null>;
  activeGrants(identity: string, upstream: string): readonly Grant[];
  howToDecide(id: string): string;
}

export function sessionApprovals(service: ApprovalService, config: Config, publicUrl?: string): SessionApprovals {
  return {
    settingsFor: (policyNames) => reviewSettingsFor(config, policyNames),
    request: ({ identity, upstream, session, sql, params, reasons, policyNames }) =>
      service.request({ identity, upstream, session, sql, params, reasons, settings: reviewSettingsFor(config, policyNames) }),
    wait: (id, signal) => service.wait(id, signal),
    consumeApproved: (q) => service.consumeApproved(q),
    activeGrants: (identity, upstream) => service.activeGrants(identity, upstream),
    howToDecide: (id) => decisionHint({ id }, publicUrl),
  };
}
