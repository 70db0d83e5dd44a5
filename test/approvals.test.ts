// Just-in-time approvals through the real gateway: held statements decided from
// another process (CLI) or over HTTP, denial, timeout, cancel, self-approval,
// async mode with parameter binding, and a grant that expires mid-session.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import postgres from 'postgres';
import type { Cluster } from './harness/cluster.ts';
import { startAppCluster } from './harness/app-cluster.ts';
import { GATEWAY_BIN, makeToken, startGateway, type Gateway, type Token } from './harness/gateway.ts';
import { run } from './harness/proc.ts';

let PW: string;
let cluster: Cluster;
let gw: Gateway;
const t: Record<string, Token> = {};

before(async () => {
  for (const n of ['dq', 'alice', 'selfie', 'batch']) t[n] = makeToken(n);
  ({ cluster, password: PW } = await startAppCluster(
    `CREATE TABLE flags (id int PRIMARY KEY, resolved bool NOT NULL DEFAULT false); INSERT INTO flags SELECT g FROM generate_series(1, 20) g;
     CREATE TABLE secret (v text); INSERT INTO secret VALUES ('s3cr3t')`,
  ));
  gw = await startGateway({
    configYaml: `
listen: 127.0.0.1:{{PORT}}
admin: 127.0.0.1:{{ADMIN_PORT}}
data_dir: "{{DIR}}/state"
audit: { file: "{{DIR}}/audit.jsonl" }
upstreams:
  app: { url: "postgres://gw@127.0.0.1:${cluster.port}/app", password_env: PW, tls: disable }
identities:
  tokens:
    - { name: dq, sha256: ${t.dq.sha256}, groups: [dq] }
    - { name: alice, sha256: ${t.alice.sha256}, groups: [approvers] }
    - { name: selfie, sha256: ${t.selfie.sha256}, groups: [dq, approvers] }
    - { name: batch, sha256: ${t.batch.sha256}, groups: [batch] }
approvals: { approver_groups: [approvers], timeout_s: 60 }
policies:
  - name: dq
    for: { groups: [dq] }
    allow: [{ read: [public.flags] }]
    review: [{ update: [public.flags] }]
    review_settings: { timeout_s: 4 }
  - name: batch
    for: { groups: [batch] }
    allow: [{ read: [public.flags] }]
    review: [{ update: [public.flags] }]
    review_settings: { mode: async }
`,
    env: { PW },
  });
});

after(async () => {
  await gw?.stop();
  await cluster?.stop();
});

const adminUrl = () => `http://127.0.0.1:${gw.adminPort}`;

async function api(method: string, path: string, token: Token, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(adminUrl() + path, {
    method,
    headers: { authorization: `Bearer ${token.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, json: await res.json() };
}

async function pendingReview(identity: string): Promise<any> {
  for (let i = 0; i < 100; i++) {
    const { json } = await api('GET', '/api/reviews?status=pending', t.alice);
    const r = json.reviews.find((x: any) => x.identity === identity);
    if (r) return r;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no pending review for ${identity}`);
}

function psql(user: string, sql: string) {
  return run('psql', [`host=127.0.0.1 port=${gw.port} dbname=app user=${user} password=${t[user].token} sslmode=disable`, '-X', '-v', 'ON_ERROR_STOP=1', '-c', sql], { timeoutMs: 30_000 });
}

const resolved = async (id: number) => (await cluster.query('SELECT resolved FROM flags WHERE id = $1', 'app', [id])).rows[0].resolved as boolean;

describe('held statements', () => {
  test('held, then approved from another process with the CLI: runs exactly once', async () => {
    const client = psql('dq', 'UPDATE flags SET resolved = true WHERE id = 1');
    const review = await pendingReview('dq');
    assert.match(review.sql, /UPDATE flags SET resolved = true WHERE id = 1/);
    assert.equal(await resolved(1), false, 'nothing runs before approval');
    const cli = await run(process.execPath, [GATEWAY_BIN, 'review', 'approve', review.id, '--admin', adminUrl(), `--token=${t.alice.token}`, '--reason', 'ok'], { timeoutMs: 20_000 });
    assert.equal(cli.code, 0, cli.stderr.toString() + cli.stdout.toString());
    const r = await client;
    assert.equal(r.code, 0, r.stderr.toString());
    assert.match(r.stderr.toString(), /held for review rv_/);
    assert.match(r.stdout.toString(), /UPDATE 1/);
    assert.equal(await resolved(1), true);
  });

  test('held, then denied over HTTP: 42501 with the reviewer\'s reason, nothing runs', async () => {
    const client = psql('dq', 'UPDATE flags SET resolved = true WHERE id = 2');
    const review = await pendingReview('dq');
    const { status } = await api('POST', `/api/reviews/${review.id}/deny`, t.alice, { reason: 'not during the freeze' });
    assert.equal(status, 200);
    const r = await client;
    assert.notEqual(r.code, 0);
    assert.match(r.stderr.toString(), /scopegate: review rv_\S+ denied.*not during the freeze/);
    assert.equal(await resolved(2), false);
  });

  test('a review nobody decides times out with 42501', async () => {
    const r = await psql('dq', 'UPDATE flags SET resolved = true WHERE id = 3');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr.toString(), /scopegate: review rv_\S+ expired/);
    assert.equal(await resolved(3), false);
  });

  test('a client cancel withdraws the review', async () => {
    const sql = postgres({ host: '127.0.0.1', port: gw.port, database: 'app', username: 'dq', password: t.dq.token, ssl: false, max: 1 });
    try {
      const q = sql`UPDATE flags SET resolved = true WHERE id = ${4}`;
      const review = pendingReview('dq');
      q.catch(() => undefined);
      const rv = await review;
      await q.cancel();
      await assert.rejects(q, (e: { code?: string; message: string }) => e.code === '42501' && /withdrawn/.test(e.message));
      const { json } = await api('GET', `/api/reviews/${rv.id}`, t.alice);
      assert.equal(json.review.status, 'withdrawn');
    } finally {
      await sql.end();
    }
    assert.equal(await resolved(4), false);
  });

  test('the requester cannot approve their own statement', async () => {
    const client = psql('selfie', 'UPDATE flags SET resolved = true WHERE id = 5');
    const review = await pendingReview('selfie');
    const self = await api('POST', `/api/reviews/${review.id}/approve`, t.selfie, {});
    assert.equal(self.status, 403);
    await api('POST', `/api/reviews/${review.id}/deny`, t.alice, { reason: 'cleanup' });
    await client;
    assert.equal(await resolved(5), false);
  });
});

describe('async mode and grants', () => {
  test('async: refused with a review id; after approval the identical statement (same parameters) runs once', async () => {
    const c = new pg.Client({ host: '127.0.0.1', port: gw.port, database: 'app', user: 'batch', password: t.batch.token });
    await c.connect();
    try {
      const update = 'UPDATE flags SET resolved = true WHERE id = $1';
      const first = await c.query(update, [6]).then(() => null, (e: pg.DatabaseError) => e);
      assert.equal(first?.code, '42501');
      const id = /(rv_\w+)/.exec(first!.message)?.[1];
      assert.ok(id, first?.message);
      assert.equal((await api('POST', `/api/reviews/${id}/approve`, t.alice, {})).status, 200);
      await assert.rejects(c.query(update, [7]), /scopegate: review required/, 'other parameters are not covered');
      const ok = await c.query(update, [6]);
      assert.equal(ok.rowCount, 1);
      await assert.rejects(c.query(update, [6]), /scopegate: review required/, 'an approval runs once');
    } finally {
      await c.end();
    }
    assert.equal(await resolved(6), true);
    assert.equal(await resolved(7), false);
  });

  test('a time-boxed grant widens the policy and shrinks back on its own mid-session', async () => {
    const c = new pg.Client({ host: '127.0.0.1', port: gw.port, database: 'app', user: 'dq', password: t.dq.token });
    await c.connect();
    try {
      await assert.rejects(c.query('SELECT v FROM secret'), /scopegate: denied/);
      const req = await api('POST', '/api/grants', t.dq, { scopes: [{ privilege: 'read', objects: ['public.secret'] }], duration: 8, justification: 'incident 42' });
      assert.equal(req.status, 201, JSON.stringify(req.json));
      const approved = await api('POST', `/api/grants/${req.json.grant.id}/approve`, t.alice, {});
      assert.equal(approved.status, 200, JSON.stringify(approved.json));
      assert.equal((await c.query('SELECT v FROM secret')).rows[0].v, 's3cr3t');
      const explain = await run(process.execPath, [GATEWAY_BIN, 'explain', '--config', gw.configPath, '--as', 'dq', '--admin', adminUrl(), `--token=${t.alice.token}`, 'SELECT v FROM secret'], {
        env: { ...process.env, PW },
        timeoutMs: 20_000,
      });
      assert.match(explain.stdout.toString(), /grant \S+: read public\.secret until/, explain.stderr.toString());
      assert.match(explain.stdout.toString(), /verdict: ALLOW/);
      const expiresAt = Date.parse(approved.json.grant.expiresAt);
      await new Promise((r) => setTimeout(r, Math.max(0, expiresAt - Date.now()) + 300));
      await assert.rejects(c.query('SELECT v FROM secret'), /scopegate: denied/);
    } finally {
      await c.end();
    }
  });
});
