import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { parseConfig } from '../config/load.ts';
import type { ApprovalsPort } from '../session/approvals-port.ts';
import { heldNotice, outcomeMessage } from './hints.ts';
import { sessionApprovals } from './session-port.ts';
import { dana, fixture, reporter, type Fixture } from './test-support.ts';

const config = parseConfig(`
upstreams: { corpus: { url: postgres://gw@127.0.0.1/corpus } }
approvals: { approver_groups: [dba], timeout_s: 120 }
policies:
  - name: flags
    for: { groups: [reporting] }
    review_settings: { mode: async, timeout_s: 60 }
`);

describe('the approval service as the session sees it', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await fixture();
  });
  afterEach(async () => {
    await f.close();
  });

  it('fits the session\'s ApprovalsPort and takes settings from the named policies', async () => {
    const port: ApprovalsPort = sessionApprovals(f.service, config, 'https://gw.example');
    assert.deepEqual(port.settingsFor(['flags']).mode, 'async');
    assert.equal(port.settingsFor([]).timeoutS, 120);
    const review = await port.request({ identity: reporter, upstream: 'corpus', session: 's9', sql: 'UPDATE t SET a = 1 WHERE id = 2', params: null, reasons: ['r'], policyNames: ['flags'] });
    assert.equal(review.mode, 'async');
    assert.equal(Date.parse(review.expiresAt) - Date.parse(review.createdAt), 60_000);
    await f.service.decide(review.id, dana, 'approve');
    const consumed = await port.consumeApproved({ identity: 'reporter', upstream: 'corpus', sql: review.sql, params: null });
    assert.equal(consumed?.id, review.id);
    assert.equal(port.howToDecide(review.id), `an approver can run: scopegate review approve ${review.id} or POST https://gw.example/api/reviews/${review.id}/approve`);
    assert.deepEqual(port.activeGrants('reporter', 'corpus'), []);
  });

  it('words the held notice and the refusal for the client', async () => {
    const port = sessionApprovals(f.service, config);
    const review = await port.request({ identity: reporter, upstream: 'corpus', session: 's9', sql: 'DELETE FROM t WHERE id = 1', params: null, reasons: [], policyNames: [] });
    assert.equal(heldNotice(review, f.clock.now()), `scopegate: statement held for review ${review.id} (expires in 2m); an approver can run: scopegate review approve ${review.id}`);
    const waiting = port.wait(review.id, new AbortController().signal);
    await f.service.decide(review.id, dana, 'deny', 'not today');
    assert.equal(outcomeMessage(await waiting), `scopegate: review ${review.id} denied by dana: not today`);
  });
});
