import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cliTokens, runCli, startLiveAdmin, type LiveAdmin } from '../admin/test-server.ts';

describe('scopegate grant (CLI against a live admin API)', () => {
  let admin: LiveAdmin;
  before(async () => {
    admin = await startLiveAdmin();
  });
  after(async () => {
    await admin.close();
  });

  const as = (who: keyof typeof cliTokens) => ['--admin', admin.url, '--token', cliTokens[who]];
  const idIn = (text: string): string => {
    const m = /gr_[a-z2-7]{10}/.exec(text);
    assert.ok(m, text);
    return m[0];
  };

  it('requests a grant for oneself, an approver approves it, and it is in force until revoked', async () => {
    const req = await runCli(['grant', 'request', '--privilege', 'read', '--objects', 'public.customers,analytics.*', '--duration', '2h', '--reason', 'incident 42', '--db', 'corpus', ...as('reporter')]);
    assert.equal(req.code, 0, req.stderr);
    assert.match(req.stdout, /requested gr_\w+: read public.customers, analytics.\* on corpus for 2h/);
    assert.match(req.stdout, /scopegate grant approve gr_/);
    const id = idIn(req.stdout);

    const self = await runCli(['grant', 'approve', id, ...as('reporter')]);
    assert.equal(self.code, 1);
    assert.match(self.stderr, /HTTP 403 forbidden/);

    const shown = await runCli(['grant', 'show', id, ...as('dana')]);
    assert.match(shown.stdout, new RegExp(`grant ${id}: REQUESTED`));
    assert.match(shown.stdout, /justification: incident 42/);

    const ok = await runCli(['grant', 'approve', id, '--reason', 'ok', ...as('dana')]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /approved gr_\w+: reporter: read public.customers, analytics.\* on corpus, in force until /);
    assert.equal(admin.f.service.activeGrants('reporter', 'corpus').length, 1);

    const listed = await runCli(['grant', 'list', '--status', 'active', ...as('dana')]);
    assert.match(listed.stdout, new RegExp(`${id}\\s+active\\s+reporter\\s+corpus\\s+(1h 59m|2h) left`));

    const revoked = await runCli(['grant', 'revoke', id, '--reason', 'done', ...as('dana')]);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal(admin.f.service.activeGrants('reporter', 'corpus').length, 0);
    const twice = await runCli(['grant', 'revoke', id, ...as('dana')]);
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /HTTP 409 not-pending/);
  });

  it('denies a grant and lists it as JSON', async () => {
    const req = await runCli(['grant', 'request', '--privilege', 'read,update', '--objects', 'analytics.flags', '--duration', '30m', '--reason', 'fix data', ...as('sam')]);
    const id = idIn(req.stdout);
    assert.match(req.stdout, /read analytics.flags; update analytics.flags on every upstream for 30m/);
    const denied = await runCli(['grant', 'deny', id, '--reason', 'no', ...as('dana')]);
    assert.match(denied.stdout, /denied gr_/);
    const json = await runCli(['grant', 'list', '--json', ...as('sam')]);
    const grants = JSON.parse(json.stdout) as { id: string; status: string }[];
    assert.deepEqual(grants.map((g) => [g.id, g.status]), [[id, 'denied']]);
  });

  it('checks a request before sending it', async () => {
    const missing = await runCli(['grant', 'request', '--privilege', 'read', ...as('reporter')]);
    assert.equal(missing.code, 64);
    assert.match(missing.stderr, /needs --privilege, --objects, --duration and --reason/);
    const badDuration = await runCli(['grant', 'request', '--privilege', 'read', '--objects', 'a.b', '--duration', 'soon', '--reason', 'x', ...as('reporter')]);
    assert.match(badDuration.stderr, /--duration "soon" is not a duration/);
    const badObject = await runCli(['grant', 'request', '--privilege', 'read', '--objects', 'a b', '--duration', '1h', '--reason', 'x', ...as('reporter')]);
    assert.equal(badObject.code, 1);
    assert.match(badObject.stderr, /"a b" is not schema.table.*HTTP 400 invalid/);
  });
});
