// Who may act on a review or a grant. Approving needs membership in an approver group and is
// never open to the requester; denying, withdrawing and revoking one's own request reduce access,
// so the requester may always do them.
import type { Identity } from '../policy/types.ts';
import { ApprovalError } from './types.ts';

export function isApprover(who: Identity, groups: readonly string[]): boolean {
  return who.groups.some((g) => groups.includes(g));
}

export function checkMayDecide(who: Identity, requester: string, groups: readonly string[], decision: 'approve' | 'deny', what: string): void {
  if (decision === 'deny' && who.name === requester) return;
  if (!isApprover(who, groups)) {
    const names = groups.length ? groups.join(', ') : 'none configured';
    throw new ApprovalError('forbidden', `${who.name} is not in an approver group for this ${what} (approver groups: ${names})`);
  }
  if (who.name === requester) {
    throw new ApprovalError('self-approval', `${who.name} requested this ${what} and cannot approve it; another approver must`);
  }
}
