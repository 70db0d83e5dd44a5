// What a finished review means for the statement, and small helpers of the review flow.
import type { Review } from '../store/types.ts';
import { ApprovalError, type ReviewOutcome } from './types.ts';

export function outcomeOf(review: Review): ReviewOutcome {
  switch (review.status) {
    case 'approved':
      return { status: 'approved', review };
    case 'denied':
      return { status: 'denied', reason: `denied by ${review.decidedBy ?? 'an approver'}${review.reason ? `: ${review.reason}` : ''}`, review };
    case 'expired':
    case 'withdrawn':
      return { status: review.status, reason: review.reason ?? review.status, review };
    case 'consumed':
      return { status: 'expired', reason: 'the approval was already used', review };
    case 'pending':
      throw new Error(`review ${review.id} is still pending`);
  }
}

export function notPending(review: Review): ApprovalError {
  const by = review.decidedBy ? ` by ${review.decidedBy}` : '';
  return new ApprovalError('not-pending', `review ${review.id} is already ${review.status}${by}`);
}

export function timeoutReason(review: Review): string {
  const seconds = Math.round((Date.parse(review.expiresAt) - Date.parse(review.createdAt)) / 1000);
  return `timed out after ${seconds}s`;
}

export function sameParams(a: (string | null)[] | null, b: (string | null)[] | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
