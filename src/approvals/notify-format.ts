// Webhook bodies for a review waiting for a decision: plain JSON, or a Slack-compatible message.
import type { Review } from '../store/types.ts';

const maxSql = 2500;
const maxParam = 200;

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length - max} more characters)` : text;
}

function howToDecide(review: Review, publicUrl?: string): { approve: string; deny: string; url?: string } {
  return {
    approve: `scopegate review approve ${review.id}`,
    deny: `scopegate review deny ${review.id} --reason TEXT`,
    ...(publicUrl ? { url: `${publicUrl.replace(/\/+$/, '')}/api/reviews/${review.id}` } : {}),
  };
}

export function jsonBody(review: Review, publicUrl?: string): object {
  return {
    type: 'review_requested',
    review: {
      id: review.id,
      status: review.status,
      identity: review.identity,
      groups: review.groups,
      upstream: review.upstream,
      session: review.session,
      sql: clip(review.sql, maxSql),
      params: review.params?.map((p) => (p === null ? null : clip(p, maxParam))) ?? null,
      reasons: review.reasons,
      mode: review.mode,
      createdAt: review.createdAt,
      expiresAt: review.expiresAt,
    },
    decide: howToDecide(review, publicUrl),
  };
}

/** Slack mrkdwn: &, < and > must be escaped; backticks would end the code block. */
function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/```/g, "'''");
}

export function slackBody(review: Review, publicUrl?: string): { text: string; blocks: object[] } {
  const how = howToDecide(review, publicUrl);
  const who = `*${escape(review.identity)}*${review.groups.length ? ` (${escape(review.groups.join(', '))})` : ''}`;
  const params = review.params?.length
    ? `\nparameters: ${review.params.map((p, i) => `$${i + 1} = ${p === null ? 'NULL' : `'${escape(clip(p, maxParam))}'`}`).join(', ')}`
    : '';
  const mrkdwn = (text: string): object => ({ type: 'mrkdwn', text });
  return {
    text: `scopegate review ${review.id}: ${review.identity} wants to run a statement on ${review.upstream} (expires ${review.expiresAt})`,
    blocks: [
      { type: 'section', text: mrkdwn(`:lock: Review \`${review.id}\`: ${who} wants to run on *${escape(review.upstream)}*:`) },
      { type: 'section', text: mrkdwn(`\`\`\`${escape(clip(review.sql, maxSql))}\`\`\`${params}`) },
      { type: 'context', elements: [mrkdwn(`why: ${escape(review.reasons.join('; ') || 'policy review rule')} · expires ${review.expiresAt}`)] },
      { type: 'section', text: mrkdwn(`approve: \`${how.approve}\`\ndeny: \`${how.deny}\`${how.url ? `\n<${how.url}|open in the admin API>` : ''}`) },
    ],
  };
}
