// Texts the session shows the client about a review: the notice when a statement is held and
// the error when it does not run.
import type { Review } from '../store/types.ts';
import { formatDuration } from './duration.ts';
import type { ReviewOutcome } from './types.ts';

/** "how to approve" for people: the CLI command, and the API URL when the admin API is public. */
export function decisionHint(review: Pick<Review, 'id'>, publicUrl?: string): string {
  const cli = `scopegate review approve ${review.id}`;
  const url = publicUrl ? ` or POST ${publicUrl.replace(/\/+$/, '')}/api/reviews/${review.id}/approve` : '';
  return `an approver can run: ${cli}${url}`;
}

/** NoticeResponse text when a statement is held. */
export function heldNotice(review: Review, now: number, publicUrl?: string): string {
  const left = formatDuration((Date.parse(review.expiresAt) - now) / 1000);
  return `scopegate: statement held for review ${review.id} (expires in ${left}); ${decisionHint(review, publicUrl)}`;
}

/** Async mode: the error text when a statement was sent for review and must be re-sent after approval. */
export function asyncRequiredMessage(review: Review): string {
  return `scopegate: review required: sent for approval as ${review.id}; run the identical statement again once it is approved`;
}

/** The 42501 message for a held statement that will not run. */
export function outcomeMessage(outcome: ReviewOutcome): string {
  if (outcome.status === 'approved') return `scopegate: review ${outcome.review.id} approved by ${outcome.review.decidedBy ?? 'an approver'}`;
  if (outcome.status === 'denied') return `scopegate: review ${outcome.review.id} ${outcome.reason}`; // "denied by …"
  return `scopegate: review ${outcome.review.id} ${outcome.status}: ${outcome.reason}`;
}
