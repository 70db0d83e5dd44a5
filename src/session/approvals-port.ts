// What a session needs from the approval service: the service's own session-facing view.
// Re-exported under the session's name so session/ depends on the shape, not on the service.
export type { SessionApprovals as ApprovalsPort } from '../approvals/session-port.ts';
