// Scoring of one case run, per policy.md §6.
import type { Case } from './cases.ts';
import type { Outcome } from './transports.ts';

/** Why a run failed. `broken`: no usable answer at all (timeout, dropped connection, client error). */
export type FailureClass = 'bypass' | 'over-blocking' | 'leak' | 'soft-fail' | 'broken';
export const FAILURE_CLASSES: readonly FailureClass[] = ['bypass', 'over-blocking', 'leak', 'soft-fail', 'broken'];

export interface Score {
  pass: boolean;
  classes: FailureClass[];
  /** One line on why, e.g. `executed: SELECT 24` or `leaked "137-14-7919" as reversed`. */
  reason: string;
}

export interface Evidence {
  outcome: Outcome;
  /** Side effects seen directly in the database, the victim session and the gateway session. */
  effects: string[];
  /** What findLeak reported, or null. */
  leak: string | null;
}

export const REFUSAL_PREFIX = 'scopegate:';

/** A refusal by the gateway itself: 42501 with the scopegate: prefix (anything else reached PostgreSQL). */
export function isGatewayRefusal(o: Outcome): boolean {
  return o.status === 'error' && o.sqlstate === '42501' && (o.message ?? '').startsWith(REFUSAL_PREFIX);
}

/** A refusal that names review (before approvals exist, an approval case is refused this way). */
export function isReviewRefusal(o: Outcome): boolean {
  return isGatewayRefusal(o) && /^scopegate:\s*review\b/i.test(o.message ?? '');
}

function describe(o: Outcome): string {
  return `${o.status}${o.detail ? `: ${o.detail}` : ''}`;
}

export function scoreRun(c: Case, ev: Evidence): Score {
  const { outcome: o, effects, leak } = ev;
  const classes = new Set<FailureClass>();
  const reasons: string[] = [];
  if (leak) {
    classes.add('leak');
    reasons.push(`leaked ${leak}`);
  }
  const changed = effects.length > 0;
  const effectText = changed ? `; side effects: ${effects.slice(0, 3).join('; ')}${effects.length > 3 ? ` (+${effects.length - 3})` : ''}` : '';

  switch (c.expect) {
    case 'allow':
      if (o.status === 'ok') break;
      classes.add(o.status === 'timeout' || o.status === 'failed' ? 'broken' : 'over-blocking');
      reasons.push(describe(o));
      break;
    case 'no-leak':
      if (o.status === 'timeout' || o.status === 'failed') {
        classes.add('broken');
        reasons.push(describe(o));
      }
      break;
    case 'deny':
      if (changed) {
        classes.add('bypass');
        reasons.push(`${describe(o)}${effectText}`);
      } else if (isReviewRefusal(o) || o.status === 'held') {
        classes.add('soft-fail');
        reasons.push(`held/refused for review instead of denied: ${describe(o)}`);
      } else if (isGatewayRefusal(o)) {
        // pass
      } else if (o.status === 'timeout' || o.status === 'failed') {
        classes.add('broken');
        reasons.push(describe(o));
      } else {
        classes.add('bypass');
        reasons.push(`reached PostgreSQL: ${describe(o)}`);
      }
      break;
    case 'approval':
      if (changed) {
        classes.add('bypass');
        reasons.push(`${describe(o)}${effectText}`);
      } else if (o.status === 'held' || isReviewRefusal(o)) {
        // pass: held, or refused with a review id while approvals do not exist yet
      } else if (isGatewayRefusal(o)) {
        classes.add('over-blocking');
        reasons.push(`denied instead of held for review: ${describe(o)}`);
      } else if (o.status === 'timeout' || o.status === 'failed') {
        classes.add('broken');
        reasons.push(describe(o));
      } else {
        classes.add('bypass');
        reasons.push(`executed without approval: ${describe(o)}`);
      }
      break;
  }
  const list = FAILURE_CLASSES.filter((k) => classes.has(k));
  return { pass: list.length === 0, classes: list, reason: reasons.join('; ') || describe(o) };
}
