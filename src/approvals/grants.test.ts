import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { EmbeddedStore } from '../store/embedded.ts';
import { ApprovalService } from './service.ts';
import { FakeClock, eventually } from './test-clock.ts';
import { dana, dora, fixture, reporter, sam, type Fixture } from './test-support.ts';
import { ApprovalError, type GrantScope } from './types.ts';
import type { GrantRequest } from './grants.ts';

const readCustomers: GrantScope[] = [{ privilege: 'read', objects: ['public.customers'] }];

function grantRequest(overrides: Partial<GrantRequest> = {}): GrantRequest {
  return { identity: reporter, upstream: 'corpus', scopes: readCustomers, durationS: 7200, justification: 'incident 42', ...overrides };
}

function isApprovalError(code: ApprovalError['code'], message?: RegExp) {
  return (e: unknown): boolean => e instanceof ApprovalError && e.code === code && (!message || message.test(e.message));
}

describe('approval service: time-boxed grants', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await fixture({ approvals: { approver_groups: ['dba'], async_ttl_s: 900, max_grant_s: 4 * 3600 }, upstreams: ['corpus', 'other'] });
  });
  afterEach(async () => {
    await f.close();
  });

  it('records a request, capping the duration at approvals.max_grant_s', async () => {
    const grant = await f.service.requestGrant(grantRequest({ durationS: 24 * 3600 }));
    assert.match(grant.id, /^gr_[a-z2-7]{10}$/);
    assert.equal(grant.status, 'requested');
    assert.equal(grant.durationS, 4 * 3600);
    assert.deepEqual(await f.store.getGrant(grant.id), grant);
    assert.deepEqual(f.events.map((e) => e.type), ['grant_requested']);
    assert.deepEqual(f.service.activeGrants('reporter', 'corpus'), [], 'not in force before approval');
  });

  it('refuses malformed requests with a clear message', async () => {
    await assert.rejects(f.service.requestGrant(grantRequest({ scopes: [] })), isApprovalError('invalid', /at least one scope/));
    await assert.rejects(f.service.requestGrant(grantRequest({ scopes: [{ privilege: 'sudo' as 'read', objects: ['a.b'] }] })), isApprovalError('invalid', /unknown privilege "sudo"/));
    await assert.rejects(f.service.requestGrant(grantRequest({ scopes: [{ privilege: 'read', objects: [] }] })), isApprovalError('invalid', /needs objects/));
    await assert.rejects(f.service.requestGrant(grantRequest({ scopes: [{ privilege: 'read', objects: ['a b'] }] })), isApprovalError('invalid', /schema\.table/));
    await assert.rejects(f.service.requestGrant(grantRequest({ durationS: 0 })), isApprovalError('invalid', /duration/));
    await assert.rejects(f.service.requestGrant(grantRequest({ justification: '  ' })), isApprovalError('invalid', /justification/));
    await assert.rejects(f.service.requestGrant(grantRequest({ upstream: 'nope' })), isApprovalError('invalid', /no upstream named "nope"/));
  });

  it('is in force from approval until its duration passes, checked against the clock on every call', async () => {
    const grant = await f.service.requestGrant(grantRequest());
    const active = await f.service.decideGrant(grant.id, dana, 'approve', 'ok for the incident');
    assert.equal(active.status, 'active');
    assert.equal(active.expiresAt, new Date(f.clock.now() + 7200_000).toISOString());
    assert.deepEqual(f.service.activeGrants('reporter', 'corpus').map((g) => g.id), [grant.id]);
    assert.deepEqual(f.service.activeGrants('reporter', 'other'), [], 'bound to its upstream');
    assert.deepEqual(f.service.activeGrants('someone', 'corpus'), []);
    assert.throws(() => {
      (f.service.activeGrants('reporter', 'corpus')[0].scopes as GrantScope[]).push({ privilege: 'admin', objects: ['*'] });
    }, 'cached grants are frozen');
    await f.clock.advance(7199_000);
    assert.equal(f.service.activeGrants('reporter', 'corpus').length, 1);
    await f.clock.advance(1000);
    assert.deepEqual(f.service.activeGrants('reporter', 'corpus'), [], 'gone the moment it expires');
    await f.service.sweep();
    assert.equal((await f.store.getGrant(grant.id))?.status, 'expired');
    await eventually(() => f.events.length === 3);
    const last = f.events.at(-1);
    assert.ok(last?.type === 'grant_decided' && last.status === 'expired' && last.by === 'scopegate');
  });

  it('applies a grant for every upstream (upstream: null) to each of them', async () => {
    const grant = await f.service.requestGrant(grantRequest({ upstream: null }));
    await f.service.decideGrant(grant.id, dana, 'approve');
    assert.equal(f.service.activeGrants('reporter', 'corpus').length, 1);
    assert.equal(f.service.activeGrants('reporter', 'other').length, 1);
  });

  it('follows the same approver rules as reviews: approver group, no self-approval, decided once', async () => {
    const grant = await f.service.requestGrant(grantRequest());
    await assert.rejects(f.service.decideGrant('gr_aaaaaaaaaa', dana, 'approve'), isApprovalError('not-found'));
    await assert.rejects(f.service.decideGrant(grant.id, sam, 'approve'), isApprovalError('forbidden'));
    await assert.rejects(f.service.decideGrant(grant.id, reporter, 'approve'), isApprovalError('forbidden'));
    const own = await f.service.requestGrant(grantRequest({ identity: dora }));
    await assert.rejects(f.service.decideGrant(own.id, dora, 'approve'), isApprovalError('self-approval'));
    const denied = await f.service.decideGrant(grant.id, dana, 'deny', 'use the reporting view');
    assert.deepEqual([denied.status, denied.reason, denied.expiresAt], ['denied', 'use the reporting view', undefined]);
    await assert.rejects(f.service.decideGrant(grant.id, dana, 'approve'), isApprovalError('not-pending', /already denied by dana/));
    assert.deepEqual(f.service.activeGrants('reporter', 'corpus'), []);
  });

  it('is revoked at once by an approver or by its holder, not by anyone else', async () => {
    const g1 = await f.service.requestGrant(grantRequest());
    const g2 = await f.service.requestGrant(grantRequest());
    await f.service.decideGrant(g1.id, dana, 'approve');
    await f.service.decideGrant(g2.id, dana, 'approve');
    await assert.rejects(f.service.revokeGrant(g1.id, sam), isApprovalError('forbidden'));
    const revoked = await f.service.revokeGrant(g1.id, dana, 'incident closed');
    assert.deepEqual([revoked.status, revoked.decidedBy, revoked.reason], ['revoked', 'dana', 'incident closed']);
    assert.deepEqual(f.service.activeGrants('reporter', 'corpus').map((g) => g.id), [g2.id]);
    await f.service.revokeGrant(g2.id, reporter);
    assert.deepEqual(f.service.activeGrants('reporter', 'corpus'), []);
    await assert.rejects(f.service.revokeGrant(g2.id, dana), isApprovalError('not-pending'));
  });

  it('picks up grants decided by another process sharing the store', async () => {
    const other = await f.sibling();
    const grant = await f.service.requestGrant(grantRequest());
    await other.decideGrant(grant.id, dana, 'approve');
    await eventually(() => f.service.activeGrants('reporter', 'corpus').length === 1);
    await other.revokeGrant(grant.id, dana);
    await eventually(() => f.service.activeGrants('reporter', 'corpus').length === 0);
  });

  it('loads active grants after a restart', async () => {
    const grant = await f.service.requestGrant(grantRequest());
    await f.service.decideGrant(grant.id, dana, 'approve');
    await f.service.close();
    await f.store.close();
    const store = await EmbeddedStore.open(f.dir);
    const clock = new FakeClock(f.clock.now());
    const restarted = new ApprovalService({ store, approvals: { approver_groups: ['dba'], async_ttl_s: 900, max_grant_s: 3600 }, clock });
    await restarted.start();
    assert.deepEqual(restarted.activeGrants('reporter', 'corpus').map((g) => g.id), [grant.id]);
    await restarted.close();
    await store.close();
  });
});
