import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { idPattern } from './ids.ts';
import { asyncSettings, dana, dora, fixture, reporter, reviewRequest, sam, type Fixture } from './test-support.ts';
import { ApprovalError } from './types.ts';

function isApprovalError(code: ApprovalError['code']) {
  return (e: unknown): boolean => e instanceof ApprovalError && e.code === code;
}

describe('approval service: reviews', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await fixture();
  });
  afterEach(async () => {
    await f.close();
  });

  it('records a pending review with a short url-safe id, expiry, event and notification', async () => {
    const review = await f.service.request(reviewRequest());
    assert.match(review.id, idPattern);
    assert.equal(review.status, 'pending');
    assert.equal(review.identity, 'reporter');
    assert.deepEqual(review.groups, ['reporting']);
    assert.deepEqual(review.params, ['true', '7']);
    assert.equal(Date.parse(review.expiresAt) - Date.parse(review.createdAt), 300_000);
    assert.deepEqual(await f.store.getReview(review.id), review);
    assert.equal(f.notified[0]?.id, review.id);
    assert.deepEqual(f.events.map((e) => e.type), ['review_requested']);
    assert.equal(JSON.stringify(f.events).includes('"true"'), false, 'parameter values stay out of audit events');
  });

  it('releases a held statement when an approver approves it', async () => {
    const review = await f.service.request(reviewRequest());
    const waiting = f.service.wait(review.id, new AbortController().signal);
    await f.clock.advance(1000);
    const decided = await f.service.decide(review.id, dana, 'approve', 'looks fine');
    const outcome = await waiting;
    assert.equal(outcome.status, 'approved');
    assert.equal(outcome.review.decidedBy, 'dana');
    assert.equal(decided.reason, 'looks fine');
    assert.deepEqual(f.events.at(-1), { type: 'review_decided', id: review.id, identity: 'reporter', upstream: 'corpus', status: 'approved', by: 'dana', reason: 'looks fine', at: '2025-01-01T12:00:01.000Z' });
  });

  it('fails a held statement when denied, with who denied it and why', async () => {
    const review = await f.service.request(reviewRequest());
    const waiting = f.service.wait(review.id);
    await f.service.decide(review.id, dana, 'deny', 'too broad');
    const outcome = await waiting;
    assert.equal(outcome.status, 'denied');
    assert.equal(outcome.status === 'denied' && outcome.reason, 'denied by dana: too broad');
  });

  it('expires a held statement at its timeout and says so', async () => {
    const review = await f.service.request(reviewRequest());
    const waiting = f.service.wait(review.id);
    await f.clock.advance(299_000);
    assert.equal((await f.store.getReview(review.id))?.status, 'pending');
    await f.clock.advance(1000);
    const outcome = await waiting;
    assert.deepEqual([outcome.status, outcome.status !== 'approved' && outcome.reason], ['expired', 'timed out after 300s']);
    assert.equal((await f.store.getReview(review.id))?.status, 'expired');
    await assert.rejects(f.service.decide(review.id, dana, 'approve'), isApprovalError('not-pending'));
  });

  it('withdraws the review when the client cancels or disconnects', async () => {
    const review = await f.service.request(reviewRequest());
    const ac = new AbortController();
    const waiting = f.service.wait(review.id, ac.signal);
    ac.abort();
    const outcome = await waiting;
    assert.deepEqual([outcome.status, outcome.status !== 'approved' && outcome.reason], ['withdrawn', 'client cancelled or disconnected']);
    const stored = await f.store.getReview(review.id);
    assert.equal(stored?.status, 'withdrawn');
    await assert.rejects(f.service.decide(review.id, dana, 'approve'), isApprovalError('not-pending'));
    assert.equal(f.clock.pendingTimers(), 1, 'only the sweep timer is left');
  });

  it('withdraws at once when the signal was already aborted', async () => {
    const review = await f.service.request(reviewRequest());
    const outcome = await f.service.wait(review.id, AbortSignal.abort('session closed'));
    assert.deepEqual([outcome.status, outcome.status !== 'approved' && outcome.reason], ['withdrawn', 'session closed']);
  });

  it('answers at once for a decided review and refuses an unknown id', async () => {
    const review = await f.service.request(reviewRequest());
    await f.service.decide(review.id, dana, 'approve');
    assert.equal((await f.service.wait(review.id)).status, 'approved');
    await assert.rejects(f.service.wait('rv_aaaaaaaaaa'), isApprovalError('not-found'));
  });

  it('releases a statement held here when another process sharing the store decides it', async () => {
    const other = await f.sibling();
    const review = await f.service.request(reviewRequest());
    const waiting = f.service.wait(review.id);
    await other.decide(review.id, dana, 'approve');
    assert.equal((await waiting).status, 'approved');
    const second = await f.service.request(reviewRequest());
    const waiting2 = f.service.wait(second.id);
    await f.store.updateReview(second.id, 'pending', { status: 'denied', decidedBy: 'sam' });
    assert.equal((await waiting2).status, 'denied');
  });

  it('lets only an approver-group member decide, never the requester', async () => {
    const review = await f.service.request(reviewRequest());
    await assert.rejects(f.service.decide('rv_aaaaaaaaaa', dana, 'approve'), isApprovalError('not-found'));
    await assert.rejects(f.service.decide(review.id, sam, 'approve'), isApprovalError('forbidden'));
    await assert.rejects(f.service.decide(review.id, reporter, 'approve'), isApprovalError('forbidden'));
    const own = await f.service.request(reviewRequest({ identity: dora }));
    await assert.rejects(f.service.decide(own.id, dora, 'approve'), isApprovalError('self-approval'));
    assert.equal((await f.store.getReview(own.id))?.status, 'pending');
    await f.service.decide(own.id, dana, 'approve');
  });

  it('lets the requester deny (withdraw) their own review', async () => {
    const review = await f.service.request(reviewRequest());
    const denied = await f.service.decide(review.id, reporter, 'deny', 'wrong table');
    assert.equal(denied.status, 'denied');
    assert.equal(denied.decidedBy, 'reporter');
  });

  it('uses the policy approver groups when set, the config ones otherwise, and nobody when neither', async () => {
    const bySecurity = await f.service.request(reviewRequest({ settings: { ...asyncSettings, mode: 'hold', approverGroups: ['security'] } }));
    await assert.rejects(f.service.decide(bySecurity.id, dana, 'approve'), isApprovalError('forbidden'));
    assert.equal((await f.service.decide(bySecurity.id, sam, 'approve')).status, 'approved');
    await f.close();
    f = await fixture({ approvals: { approver_groups: [], async_ttl_s: 900, max_grant_s: 3600 } });
    const nobody = await f.service.request(reviewRequest());
    await assert.rejects(f.service.decide(nobody.id, dana, 'approve'), (e: unknown) => e instanceof ApprovalError && e.code === 'forbidden' && /none configured/.test(e.message));
  });

  it('decides a review once: a second decision and racing decisions are refused', async () => {
    const review = await f.service.request(reviewRequest());
    await f.service.decide(review.id, dana, 'approve');
    await assert.rejects(f.service.decide(review.id, dora, 'deny'), (e: unknown) => e instanceof ApprovalError && e.code === 'not-pending' && /already approved by dana/.test(e.message));
    const racing = await f.service.request(reviewRequest());
    const results = await Promise.allSettled([f.service.decide(racing.id, dana, 'approve'), f.service.decide(racing.id, dora, 'deny')]);
    assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
  });

  it('refuses to approve a review whose time has passed and marks it expired', async () => {
    await f.close();
    f = await fixture({ sweepIntervalMs: 24 * 3600_000 });
    const review = await f.service.request(reviewRequest({ settings: asyncSettings }));
    await f.clock.advance(301_000);
    assert.equal((await f.store.getReview(review.id))?.status, 'pending', 'no sweep ran');
    await assert.rejects(f.service.decide(review.id, dana, 'approve'), isApprovalError('not-pending'));
    assert.equal((await f.store.getReview(review.id))?.status, 'expired');
  });

  it('sweeps overdue async reviews to expired', async () => {
    const review = await f.service.request(reviewRequest({ settings: asyncSettings }));
    await f.clock.advance(305_000);
    await f.service.sweep();
    const stored = await f.store.getReview(review.id);
    assert.deepEqual([stored?.status, stored?.reason], ['expired', 'timed out after 300s']);
  });

  it('async mode: the approval runs exactly the approved statement, once, within the TTL', async () => {
    const req = reviewRequest({ settings: asyncSettings });
    const review = await f.service.request(req);
    const same = { identity: reporter, upstream: 'corpus', sql: req.sql, params: req.params };
    assert.equal(await f.service.consumeApproved(same), null, 'not approved yet');
    await f.service.decide(review.id, dana, 'approve');
    assert.equal(await f.service.consumeApproved({ ...same, sql: `${req.sql} ` }), null);
    assert.equal(await f.service.consumeApproved({ ...same, params: ['false', '7'] }), null);
    assert.equal(await f.service.consumeApproved({ ...same, params: null }), null);
    assert.equal(await f.service.consumeApproved({ ...same, upstream: 'other' }), null);
    assert.equal(await f.service.consumeApproved({ ...same, identity: dora }), null);
    const consumed = await f.service.consumeApproved(same);
    assert.equal(consumed?.id, review.id);
    assert.equal(consumed?.status, 'consumed');
    assert.equal(await f.service.consumeApproved(same), null, 'used once');
    const last = f.events.at(-1);
    assert.equal(last?.type === 'review_decided' && last.status, 'consumed');
  });

  it('async mode: an approval older than the TTL, or a hold-mode approval, is not consumable', async () => {
    const req = reviewRequest({ settings: asyncSettings });
    const late = await f.service.request(req);
    await f.service.decide(late.id, dana, 'approve');
    await f.clock.advance(901_000);
    const same = { identity: reporter, upstream: 'corpus', sql: req.sql, params: req.params };
    assert.equal(await f.service.consumeApproved(same), null);
    const held = await f.service.request(reviewRequest());
    await f.service.decide(held.id, dana, 'approve');
    assert.equal(await f.service.consumeApproved(same), null);
  });

  it('at start, expires statements a previous run was holding, keeping them visible; async ones stay pending', async () => {
    const held = await f.service.request(reviewRequest());
    const later = await f.service.request(reviewRequest({ settings: asyncSettings }));
    const done = await f.service.request(reviewRequest());
    await f.service.decide(done.id, dana, 'deny');
    assert.equal(await f.service.expirePending('gateway restarted while the statement was held'), 1);
    const stored = await f.service.getReview(held.id);
    assert.deepEqual([stored?.status, stored?.reason], ['expired', 'gateway restarted while the statement was held']);
    assert.equal((await f.service.getReview(later.id))?.status, 'pending');
    assert.equal((await f.service.getReview(done.id))?.status, 'denied');
    assert.equal((await f.service.listReviews()).length, 3);
  });

  it('still records the review when the notifier or the audit callback throws', async () => {
    await f.close();
    f = await fixture({
      notifier: { notify: () => { throw new Error('boom'); } },
      onEvent: () => { throw new Error('audit down'); },
    });
    const review = await f.service.request(reviewRequest());
    assert.equal((await f.store.getReview(review.id))?.status, 'pending');
  });

  it('releases held statements as expired when the service closes', async () => {
    const review = await f.service.request(reviewRequest());
    const waiting = f.service.wait(review.id);
    await f.service.close();
    const outcome = await waiting;
    assert.deepEqual([outcome.status, outcome.status !== 'approved' && outcome.reason], ['expired', 'gateway shutting down']);
  });
});
