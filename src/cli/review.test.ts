import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cliTokens, runCli, startLiveAdmin, type LiveAdmin } from '../admin/test-server.ts';
import { dora, reviewRequest } from '../approvals/test-support.ts';

describe('scopegate review (CLI against a live admin API)', () => {
  let admin: LiveAdmin;
  before(async () => {
    admin = await startLiveAdmin();
  });
  after(async () => {
    await admin.close();
  });

  const as = (who: keyof typeof cliTokens) => ['--admin', admin.url, '--token', cliTokens[who]];

  it('lists pending reviews', async () => {
    const review = await admin.f.service.request(reviewRequest({ sql: 'UPDATE analytics.quality_flags\n  SET ok = $1 WHERE id = $2' }));
    const res = await runCli(['review', 'list', ...as('dana')]);
    assert.equal(res.code, 0, res.stderr);
    const [header, ...rows] = res.stdout.trim().split('\n');
    assert.match(header, /^ID\s+STATUS\s+IDENTITY\s+UPSTREAM\s+WHEN\s+SQL$/);
    const row = rows.find((r) => r.startsWith(review.id));
    assert.ok(row, res.stdout);
    assert.match(row, /pending\s+reporter\s+corpus\s+in (5m|4m \d+s)\s+UPDATE analytics.quality_flags SET ok = \$1 WHERE id = \$2/);
  });

  it('shows a review: SQL, parameters, identity, reasons, status, expiry and how to decide', async () => {
    const review = await admin.f.service.request(reviewRequest({ params: ["it's", null] }));
    const res = await runCli(['review', 'show', review.id, ...as('dana')]);
    assert.equal(res.code, 0, res.stderr);
    const out = res.stdout;
    assert.match(out, new RegExp(`review ${review.id}: PENDING`));
    assert.match(out, /identity: +reporter \(groups: reporting\)/);
    assert.match(out, /upstream: +corpus/);
    assert.match(out, /expires: +\S+ \(in (4m \d+s|5m)\)/);
    assert.match(out, /- policy "reporting": review update analytics.quality_flags/);
    assert.match(out, /sql:\n +UPDATE analytics.quality_flags SET ok = \$1 WHERE id = \$2/);
    assert.match(out, /\$1 = 'it''s'\n +\$2 = NULL/);
    assert.match(out, new RegExp(`scopegate review approve ${review.id}`));
  });

  it('approves with a reason, and refuses a second decision with a non-zero exit', async () => {
    const review = await admin.f.service.request(reviewRequest());
    const waiting = admin.f.service.wait(review.id);
    const ok = await runCli(['review', 'approve', review.id, '--reason', 'checked', ...as('dana')]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, new RegExp(`approved ${review.id}: reporter's statement on corpus \\(checked\\)`));
    assert.equal((await waiting).status, 'approved');
    const again = await runCli(['review', 'deny', review.id, ...as('dora')]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already approved by dana \(HTTP 409 not-pending\)/);
  });

  it('denies; refuses self-approval and non-approvers', async () => {
    const review = await admin.f.service.request(reviewRequest({ identity: dora }));
    const self = await runCli(['review', 'approve', review.id, ...as('dora')]);
    assert.equal(self.code, 1);
    assert.match(self.stderr, /cannot approve it.*HTTP 403 self-approval/);
    const sam = await runCli(['review', 'approve', review.id, ...as('sam')]);
    assert.match(sam.stderr, /HTTP 403 forbidden/);
    const denied = await runCli(['review', 'deny', review.id, '--reason', 'too broad', ...as('dana')]);
    assert.equal(denied.code, 0, denied.stderr);
    assert.match(denied.stdout, /denied rv_\w+: dora's statement on corpus \(too broad\)/);
  });

  it('takes the URL and token from the environment, or the admin address from --config', async () => {
    await admin.f.service.request(reviewRequest());
    const env = await runCli(['review', 'list', '--status', 'all'], { SCOPEGATE_ADMIN_URL: admin.url, SCOPEGATE_TOKEN: cliTokens.reporter });
    assert.equal(env.code, 0, env.stderr);
    assert.ok(env.stdout.split('\n').slice(1).filter(Boolean).every((l) => /\breporter\b/.test(l)), 'a requester sees only their own');
    const dir = mkdtempSync(join(tmpdir(), 'scopegate-cli-'));
    const config = join(dir, 'scopegate.yaml');
    writeFileSync(config, `admin: ${new URL(admin.url).host}\nupstreams: { corpus: { url: postgres://gw@127.0.0.1/corpus } }\n`);
    const viaConfig = await runCli(['review', 'list', '--config', config], { SCOPEGATE_TOKEN: cliTokens.dana });
    assert.equal(viaConfig.code, 0, viaConfig.stderr);
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails clearly: bad token, unknown id, unreachable API, missing token, bad usage', async () => {
    const bad = await runCli(['review', 'list', '--admin', admin.url, '--token', 'nope']);
    assert.deepEqual([bad.code, /HTTP 401 unauthorized/.test(bad.stderr)], [1, true]);
    const missing = await runCli(['review', 'show', 'rv_aaaaaaaaaa', ...as('dana')]);
    assert.deepEqual([missing.code, /no review rv_aaaaaaaaaa \(HTTP 404 not-found\)/.test(missing.stderr)], [1, true]);
    const down = await runCli(['review', 'list', '--admin', 'http://127.0.0.1:9', '--token', 'x']);
    assert.deepEqual([down.code, /cannot reach the admin API at http:\/\/127.0.0.1:9/.test(down.stderr)], [1, true]);
    const noToken = await runCli(['review', 'list', '--admin', admin.url]);
    assert.deepEqual([noToken.code, /no token/.test(noToken.stderr)], [1, true]);
    const usage = await runCli(['review', 'approve']);
    assert.equal(usage.code, 64);
    assert.match(usage.stderr, /usage:\n {2}scopegate review list/);
  });
});
