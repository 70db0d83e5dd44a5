import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { dana, dora, fixture, reporter, reviewRequest, sam, type Fixture } from '../approvals/test-support.ts';
import { sha256Hex, TokenDirectory } from '../identity/tokens.ts';
import type { Grant, Review } from '../store/types.ts';
import { buildAdminServer } from './server.ts';

const tokens = { reporter: 'tok-reporter', dana: 'tok-dana', dora: 'tok-dora', sam: 'tok-sam' } as const;
type Who = keyof typeof tokens;

const directory = new TokenDirectory(
  [reporter, dana, dora, sam].map((i) => ({ name: i.name, sha256: sha256Hex(tokens[i.name as Who]), groups: i.groups })),
);

describe('admin API', () => {
  let f: Fixture;
  let app: FastifyInstance;

  async function call(who: Who | null, method: 'GET' | 'POST', url: string, body?: unknown) {
    const res = await app.inject({
      method,
      url,
      headers: who ? { authorization: `Bearer ${tokens[who]}` } : {},
      ...(body !== undefined ? { payload: body as object } : {}),
    });
    return { status: res.statusCode, body: res.json() as Record<string, unknown>, headers: res.headers };
  }

  beforeEach(async () => {
    f = await fixture();
    app = await buildAdminServer({
      approvals: f.service,
      authenticate: (t) => directory.authenticate(t),
      approverGroups: ['dba'],
      publicUrl: 'https://gw.example',
      extraRoutes: async (scope) => {
        scope.get('/api/extra', async (req) => ({ who: req.identity?.name }));
        scope.get('/api/boom', async () => {
          throw new Error('secret internal detail');
        });
      },
    });
  });
  afterEach(async () => {
    await app.close();
    await f.close();
  });

  it('refuses requests without a valid bearer token', async () => {
    for (const headers of [{}, { authorization: 'Basic abc' }, { authorization: 'Bearer wrong' }, { authorization: 'Bearer' }]) {
      const res = await app.inject({ method: 'GET', url: '/api/reviews', headers });
      assert.equal(res.statusCode, 401);
      assert.equal(res.json().error, 'unauthorized');
      assert.match(String(res.headers['www-authenticate']), /^Bearer/);
    }
    assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
    assert.equal((await call(null, 'GET', '/api/extra')).status, 401, 'extra routes sit behind the same auth');
  });

  it('tells callers who they are', async () => {
    assert.deepEqual((await call('dana', 'GET', '/api/whoami')).body, { name: 'dana', groups: ['dba'], approver: true });
    assert.deepEqual((await call('reporter', 'GET', '/api/whoami')).body, { name: 'reporter', groups: ['reporting'], approver: false });
    assert.deepEqual((await call('sam', 'GET', '/api/extra')).body, { who: 'sam' });
  });

  it('lists every review to approvers and only their own to others, filtered by status', async () => {
    const mine = await f.service.request(reviewRequest());
    const doras = await f.service.request(reviewRequest({ identity: dora }));
    await f.service.decide(doras.id, dana, 'approve');
    const all = await call('dana', 'GET', '/api/reviews');
    assert.equal(all.status, 200);
    assert.deepEqual((all.body.reviews as Review[]).map((r) => r.id).sort(), [mine.id, doras.id].sort());
    const pending = await call('dana', 'GET', '/api/reviews?status=pending');
    assert.deepEqual((pending.body.reviews as Review[]).map((r) => r.id), [mine.id]);
    const byIdentity = await call('dana', 'GET', '/api/reviews?identity=dora&status=all');
    assert.deepEqual((byIdentity.body.reviews as Review[]).map((r) => r.id), [doras.id]);
    const own = await call('reporter', 'GET', '/api/reviews?identity=dora');
    assert.deepEqual((own.body.reviews as Review[]).map((r) => r.id), [mine.id]);
    assert.deepEqual((await call('sam', 'GET', '/api/reviews')).body.reviews, []);
    const bad = await call('dana', 'GET', '/api/reviews?status=bogus');
    assert.deepEqual([bad.status, bad.body.error], [400, 'bad-request']);
  });

  it('shows a review to approvers and its requester only', async () => {
    const review = await f.service.request(reviewRequest());
    const shown = await call('dana', 'GET', `/api/reviews/${review.id}`);
    assert.equal(shown.status, 200);
    assert.equal((shown.body.review as Review).sql, review.sql);
    assert.deepEqual(shown.body.decide, { approve: `https://gw.example/api/reviews/${review.id}/approve`, deny: `https://gw.example/api/reviews/${review.id}/deny` });
    assert.equal((await call('reporter', 'GET', `/api/reviews/${review.id}`)).status, 200);
    const other = await call('sam', 'GET', `/api/reviews/${review.id}`);
    assert.deepEqual([other.status, other.body.error], [403, 'forbidden']);
    const missing = await call('dana', 'GET', '/api/reviews/rv_aaaaaaaaaa');
    assert.deepEqual([missing.status, missing.body.error], [404, 'not-found']);
  });

  it('approves a review once, releasing the held statement', async () => {
    const review = await f.service.request(reviewRequest());
    const waiting = f.service.wait(review.id);
    const ok = await call('dana', 'POST', `/api/reviews/${review.id}/approve`, { reason: 'fine' });
    assert.equal(ok.status, 200);
    assert.deepEqual([(ok.body.review as Review).status, (ok.body.review as Review).decidedBy], ['approved', 'dana']);
    assert.equal((await waiting).status, 'approved');
    const again = await call('dora', 'POST', `/api/reviews/${review.id}/deny`, {});
    assert.deepEqual([again.status, again.body.error], [409, 'not-pending']);
    assert.match(String(again.body.message), /already approved by dana/);
  });

  it('denies with a reason, also without a body', async () => {
    const a = await f.service.request(reviewRequest());
    const denied = await call('dana', 'POST', `/api/reviews/${a.id}/deny`, { reason: 'too broad' });
    assert.deepEqual([(denied.body.review as Review).status, (denied.body.review as Review).reason], ['denied', 'too broad']);
    const b = await f.service.request(reviewRequest());
    const res = await app.inject({ method: 'POST', url: `/api/reviews/${b.id}/deny`, headers: { authorization: `Bearer ${tokens.dana}` } });
    assert.equal(res.statusCode, 200);
  });

  it('refuses decisions by non-approvers, self-approval, unknown ids and malformed bodies', async () => {
    const review = await f.service.request(reviewRequest({ identity: dora }));
    const forbidden = await call('sam', 'POST', `/api/reviews/${review.id}/approve`, {});
    assert.deepEqual([forbidden.status, forbidden.body.error], [403, 'forbidden']);
    const self = await call('dora', 'POST', `/api/reviews/${review.id}/approve`, {});
    assert.deepEqual([self.status, self.body.error], [403, 'self-approval']);
    const missing = await call('dana', 'POST', '/api/reviews/rv_aaaaaaaaaa/approve', {});
    assert.deepEqual([missing.status, missing.body.error], [404, 'not-found']);
    const extra = await call('dana', 'POST', `/api/reviews/${review.id}/approve`, { reason: 'ok', approver: 'someone' });
    assert.deepEqual([extra.status, extra.body.error], [400, 'bad-request']);
    const notJson = await app.inject({ method: 'POST', url: `/api/reviews/${review.id}/approve`, headers: { authorization: `Bearer ${tokens.dana}`, 'content-type': 'application/json' }, payload: '{nope' });
    assert.equal(notJson.statusCode, 400);
    assert.equal((await f.service.getReview(review.id))?.status, 'pending');
  });

  it('lets an identity request a grant for itself with a human duration', async () => {
    const res = await call('reporter', 'POST', '/api/grants', {
      upstream: 'corpus', scopes: [{ privilege: 'read', objects: ['public.customers', 'analytics.*'] }], duration: '2h', justification: 'incident 42',
    });
    assert.equal(res.status, 201);
    const grant = res.body.grant as Grant;
    assert.deepEqual([grant.identity, grant.status, grant.durationS, grant.upstream], ['reporter', 'requested', 7200, 'corpus']);
    assert.equal(res.headers.location, `https://gw.example/api/grants/${grant.id}`);
    const seconds = await call('reporter', 'POST', '/api/grants', { scopes: [{ privilege: 'read', objects: ['a.b'] }], duration: 600, justification: 'x' });
    assert.deepEqual([(seconds.body.grant as Grant).durationS, (seconds.body.grant as Grant).upstream], [600, null]);
  });

  it('refuses malformed grant requests', async () => {
    const scopes = [{ privilege: 'read', objects: ['a.b'] }];
    const cases: [unknown, string][] = [
      [{ scopes, duration: 'soon', justification: 'x' }, 'invalid'],
      [{ scopes, duration: '2h' }, 'bad-request'],
      [{ scopes: [{ privilege: 'sudo', objects: ['a.b'] }], duration: '2h', justification: 'x' }, 'invalid'],
      [{ scopes: [], duration: '2h', justification: 'x' }, 'bad-request'],
      [{ scopes, duration: '2h', justification: 'x', identity: 'dana' }, 'bad-request'],
    ];
    for (const [body, error] of cases) {
      const res = await call('reporter', 'POST', '/api/grants', body);
      assert.deepEqual([res.status, res.body.error], [400, error], JSON.stringify(body));
    }
  });

  it('approves, denies and revokes grants under the approver rules', async () => {
    const scopes = [{ privilege: 'read' as const, objects: ['public.customers'] }];
    const g = await f.service.requestGrant({ identity: reporter, upstream: 'corpus', scopes, durationS: 3600, justification: 'x' });
    assert.equal((await call('reporter', 'GET', `/api/grants/${g.id}`)).status, 200);
    assert.equal((await call('sam', 'GET', `/api/grants/${g.id}`)).status, 403);
    assert.equal((await call('dana', 'GET', '/api/grants/gr_aaaaaaaaaa')).status, 404);
    assert.deepEqual((await call('sam', 'POST', `/api/grants/${g.id}/approve`, {})).body.error, 'forbidden');
    const approved = await call('dana', 'POST', `/api/grants/${g.id}/approve`, { reason: 'ok' });
    assert.equal((approved.body.grant as Grant).status, 'active');
    assert.equal(f.service.activeGrants('reporter', 'corpus').length, 1);
    assert.equal((await call('dora', 'POST', `/api/grants/${g.id}/approve`, {})).status, 409);
    assert.equal((await call('sam', 'POST', `/api/grants/${g.id}/revoke`, {})).status, 403);
    const revoked = await call('dana', 'POST', `/api/grants/${g.id}/revoke`, { reason: 'done' });
    assert.equal((revoked.body.grant as Grant).status, 'revoked');
    assert.equal(f.service.activeGrants('reporter', 'corpus').length, 0);

    const own = await f.service.requestGrant({ identity: dora, upstream: null, scopes, durationS: 60, justification: 'x' });
    assert.deepEqual((await call('dora', 'POST', `/api/grants/${own.id}/approve`, {})).body.error, 'self-approval');
    assert.equal(((await call('dana', 'POST', `/api/grants/${own.id}/deny`, {})).body.grant as Grant).status, 'denied');

    const lists = await call('dana', 'GET', '/api/grants?status=revoked');
    assert.deepEqual((lists.body.grants as Grant[]).map((x) => x.id), [g.id]);
    assert.deepEqual(((await call('reporter', 'GET', '/api/grants')).body.grants as Grant[]).map((x) => x.id), [g.id]);
    assert.equal(((await call('dana', 'GET', '/api/grants')).body.grants as Grant[]).length, 2);
  });

  it('answers unknown routes and internal errors as JSON without internals', async () => {
    const missing = await call('dana', 'GET', '/api/nothing');
    assert.deepEqual([missing.status, missing.body.error], [404, 'not-found']);
    const boom = await call('dana', 'GET', '/api/boom');
    assert.deepEqual(boom.body, { error: 'internal', message: 'internal error (see the gateway log)' });
    assert.equal(boom.status, 500);
  });
});
