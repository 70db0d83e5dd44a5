// Approvals: reviews of held statements and time-boxed grants, decided by people.
export { outcomeOf } from './outcome.ts';
export { ApprovalService, type ApprovalServiceOptions, type ConsumeRequest, type ReviewRequest } from './service.ts';
export type { GrantRequest } from './grants.ts';
export { reviewSettingsFor, allApproverGroups, reviewPolicyNames } from './settings.ts';
export { WebhookNotifier, type WebhookNotifierOptions } from './notify.ts';
export { sessionApprovals, type SessionApprovals } from './session-port.ts';
export { decisionHint, heldNotice, asyncRequiredMessage, outcomeMessage } from './hints.ts';
export { parseDuration, formatDuration } from './duration.ts';
export { newId, idPattern } from './ids.ts';
export {
  ApprovalError,
  httpStatusOf,
  systemClock,
  type ApprovalErrorCode,
  type ApprovalEvent,
  type Clock,
  type Grant,
  type GrantScope,
  type Review,
  type ReviewNotifier,
  type ReviewOutcome,
  type ReviewSettings,
  type WebhookSettings,
} from './types.ts';
