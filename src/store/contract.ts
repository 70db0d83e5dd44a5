// The behaviour every Store must have. Run it against an implementation with
//   storeContract('embedded', async () => ({ store, reopen, cleanup }))
// from a test file; a shared store (Postgres) also passes `peer` to test cross-replica changes.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { StoreError, type Grant, type Review, type Store, type StoreChange } from './types.ts';

export interface StoreHarness {
  store: Store;
  /** Closes the current store and opens a new one over the same state (a restart). */
  reopen(): Promise<Store>;
  /** A second, independent handle on the same state (another replica); absent for single-process stores. */
  peer?(): Promise<Store>;
  /** Releases everything (the store may already be closed). */
  cleanup(): Promise<void>;
}

let seq = 0;

export function sampleReview(overrides: Partial<Review> = {}): Review {
  seq++;
  return {
    id: `rv_contract${String(seq).padStart(4, '0')}`,
    status: 'pending',
    identity: 'reporter',
    groups: ['reporting'],
    upstream: 'corpus',
    session: 's1',
    sql: 'UPDATE analytics.quality_flags SET ok = $1 WHERE id = $2',
    params: ['true', null],
    reasons: ['policy reporting: review update analytics.quality_flags'],
    mode: 'hold',
    approverGroups: ['dba'],
    createdAt: new Date(Date.UTC(2025, 0, 1, 0, 0, seq)).toISOString(),
    expiresAt: new Date(Date.UTC(2025, 0, 1, 1, 0, seq)).toISOString(),
    ...overrides,
  };
}

export function sampleGrant(overrides: Partial<Grant> = {}): Grant {
  seq++;
  return {
    id: `gr_contract${String(seq).padStart(4, '0')}`,
    status: 'requested',
    identity: 'reporter',
    upstream: 'corpus',
    scopes: [{ privilege: 'read', objects: ['public.customers'] }],
    durationS: 3600,
    justification: 'incident 42',
    requestedAt: new Date(Date.UTC(2025, 0, 1, 0, 0, seq)).toISOString(),
    ...overrides,
  };
}

/** Resolves with the first change matching `match`, or rejects after `ms`. */
export function nextChange(store: Store, match: (c: StoreChange) => boolean, ms = 3000): Promise<StoreChange> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error('no matching store change'));
    }, ms);
    const off = store.onChange((c) => {
      if (!match(c)) return;
      clearTimeout(timer);
      off();
      resolve(c);
    });
  });
}

export function storeContract(name: string, makeStore: () => Promise<StoreHarness>): void {
  describe(`Store contract: ${name}`, () => {
    let h: StoreHarness;
    let store: Store;
    beforeEach(async () => {
      h = await makeStore();
      store = h.store;
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it('creates a review and reads it back; an unknown id reads as null', async () => {
      const r = sampleReview();
      await store.createReview(r);
      assert.deepEqual(await store.getReview(r.id), r);
      assert.equal(await store.getReview('rv_missing'), null);
    });

    it('hands out copies: mutating a value in or out does not change the store', async () => {
      const r = sampleReview();
      await store.createReview(r);
      r.sql = 'changed after create';
      const got = await store.getReview(r.id);
      assert.ok(got);
      assert.notEqual(got.sql, 'changed after create');
      got.reasons.push('mutated');
      (got.params as (string | null)[])[0] = 'mutated';
      const again = await store.getReview(r.id);
      assert.deepEqual(again?.reasons, ['policy reporting: review update analytics.quality_flags']);
      assert.deepEqual(again?.params, ['true', null]);
    });

    it('refuses a second review or grant with the same id', async () => {
      const r = sampleReview();
      await store.createReview(r);
      await assert.rejects(store.createReview({ ...r, sql: 'SELECT 2' }), (e: unknown) => e instanceof StoreError && e.code === 'duplicate');
      assert.equal((await store.getReview(r.id))?.sql, r.sql);
      const g = sampleGrant();
      await store.createGrant(g);
      await assert.rejects(store.createGrant(g), (e: unknown) => e instanceof StoreError && e.code === 'duplicate');
    });

    it('lists reviews newest first, filtered by status and identity, capped by limit', async () => {
      const a = sampleReview({ identity: 'alice' });
      const b = sampleReview({ identity: 'bob', status: 'approved' });
      const c = sampleReview({ identity: 'alice', status: 'denied' });
      for (const r of [b, a, c]) await store.createReview(r);
      assert.deepEqual((await store.listReviews()).map((r) => r.id), [c.id, b.id, a.id]);
      assert.deepEqual((await store.listReviews({ identity: 'alice' })).map((r) => r.id), [c.id, a.id]);
      assert.deepEqual((await store.listReviews({ status: 'approved' })).map((r) => r.id), [b.id]);
      assert.deepEqual((await store.listReviews({ status: 'pending', identity: 'bob' })).map((r) => r.id), []);
      assert.deepEqual((await store.listReviews({ limit: 2 })).map((r) => r.id), [c.id, b.id]);
    });

    it('updates a review only from the expected status (compare-and-set), never its id', async () => {
      const r = sampleReview();
      await store.createReview(r);
      assert.equal(await store.updateReview(r.id, 'approved', { status: 'denied' }), null);
      assert.equal(await store.updateReview('rv_missing', 'pending', { status: 'denied' }), null);
      const updated = await store.updateReview(r.id, 'pending', { status: 'approved', decidedBy: 'dana', decidedAt: r.createdAt, id: 'rv_other' });
      assert.equal(updated?.id, r.id);
      assert.equal(updated?.status, 'approved');
      assert.equal(updated?.decidedBy, 'dana');
      assert.equal(updated?.sql, r.sql);
      assert.deepEqual(await store.getReview(r.id), updated);
      assert.equal(await store.getReview('rv_other'), null);
      assert.equal(await store.updateReview(r.id, 'pending', { status: 'denied' }), null);
    });

    it('clears a field patched to undefined, also across a restart', async () => {
      const r = sampleReview({ reason: 'first' });
      await store.createReview({ ...r, decidedBy: undefined });
      const updated = await store.updateReview(r.id, 'pending', { reason: undefined, status: 'expired' });
      assert.equal(updated && 'reason' in updated, false);
      assert.equal('decidedBy' in ((await store.getReview(r.id)) ?? {}), false);
      store = await h.reopen();
      assert.deepEqual(await store.getReview(r.id), updated);
    });

    it('lets exactly one of many concurrent decisions win', async () => {
      const r = sampleReview();
      await store.createReview(r);
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => store.updateReview(r.id, 'pending', { status: i % 2 ? 'approved' : 'denied', decidedBy: `a${i}` })),
      );
      const winners = results.filter((x) => x !== null);
      assert.equal(winners.length, 1);
      assert.deepEqual(await store.getReview(r.id), winners[0]);
    });

    it('stores, lists and compare-and-sets grants', async () => {
      const g1 = sampleGrant({ identity: 'alice' });
      const g2 = sampleGrant({ identity: 'bob', upstream: null, status: 'active', expiresAt: '2025-01-02T00:00:00.000Z' });
      await store.createGrant(g1);
      await store.createGrant(g2);
      assert.deepEqual(await store.getGrant(g2.id), g2);
      assert.equal(await store.getGrant('gr_missing'), null);
      assert.deepEqual((await store.listGrants()).map((g) => g.id), [g2.id, g1.id]);
      assert.deepEqual((await store.listGrants({ status: 'active' })).map((g) => g.id), [g2.id]);
      assert.deepEqual((await store.listGrants({ identity: 'alice' })).map((g) => g.id), [g1.id]);
      assert.deepEqual((await store.listGrants({ limit: 1 })).map((g) => g.id), [g2.id]);
      assert.equal(await store.updateGrant(g1.id, 'active', { status: 'revoked' }), null);
      const active = await store.updateGrant(g1.id, 'requested', { status: 'active', expiresAt: '2025-01-01T02:00:00.000Z' });
      assert.equal(active?.status, 'active');
      assert.deepEqual(active?.scopes, g1.scopes);
      assert.deepEqual(await store.getGrant(g1.id), active);
    });

    it('notifies listeners of every change, not of failed compare-and-sets, until they unsubscribe', async () => {
      const seen: StoreChange[] = [];
      const off = store.onChange((c) => seen.push(c));
      const r = sampleReview();
      const g = sampleGrant();
      await store.createReview(r);
      await store.updateReview(r.id, 'pending', { status: 'approved' });
      await store.updateReview(r.id, 'pending', { status: 'denied' });
      await store.createGrant(g);
      await store.updateGrant(g.id, 'requested', { status: 'denied' });
      await waitUntil(() => seen.length >= 4);
      off();
      await store.updateGrant(g.id, 'denied', { status: 'revoked' });
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(seen, [
        { kind: 'review', id: r.id },
        { kind: 'review', id: r.id },
        { kind: 'grant', id: g.id },
        { kind: 'grant', id: g.id },
      ]);
    });

    it('keeps working when a listener throws', async () => {
      store.onChange(() => {
        throw new Error('listener bug');
      });
      const seen: string[] = [];
      store.onChange((c) => seen.push(c.id));
      const r = sampleReview();
      await store.createReview(r);
      await waitUntil(() => seen.length === 1);
      assert.equal((await store.getReview(r.id))?.id, r.id);
    });

    it('keeps reviews and grants, with their latest state, across a restart', async () => {
      const r1 = sampleReview();
      const r2 = sampleReview({ mode: 'async', asyncTtlS: 900 });
      const g = sampleGrant();
      await store.createReview(r1);
      await store.createReview(r2);
      await store.createGrant(g);
      const decided = await store.updateReview(r1.id, 'pending', { status: 'denied', decidedBy: 'dana', reason: 'no' });
      const active = await store.updateGrant(g.id, 'requested', { status: 'active', expiresAt: '2025-01-01T05:00:00.000Z' });
      store = await h.reopen();
      assert.deepEqual(await store.getReview(r1.id), decided);
      assert.deepEqual(await store.getReview(r2.id), r2);
      assert.deepEqual(await store.getGrant(g.id), active);
      assert.equal((await store.listReviews()).length, 2);
      store = await h.reopen();
      assert.deepEqual(await store.getReview(r1.id), decided);
    });

    it('rejects calls after close', async () => {
      await store.close();
      await assert.rejects(store.getReview('rv_x'));
      await assert.rejects(store.createReview(sampleReview()));
    });

    it('tells another handle on the same state about changes (shared stores only)', async (t) => {
      if (!h.peer) {
        t.skip('single-process store');
        return;
      }
      const peer = await h.peer();
      try {
        const r = sampleReview();
        const created = nextChange(peer, (c) => c.id === r.id);
        await store.createReview(r);
        await created;
        const decided = nextChange(peer, (c) => c.id === r.id);
        await store.updateReview(r.id, 'pending', { status: 'approved', decidedBy: 'dana' });
        await decided;
        assert.equal((await peer.getReview(r.id))?.status, 'approved');
        assert.equal(await peer.updateReview(r.id, 'pending', { status: 'denied' }), null);
      } finally {
        await peer.close();
      }
    });
  });
}

async function waitUntil(cond: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
