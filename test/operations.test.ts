// Operating the gateway: /metrics, /healthz, /readyz, and policy hot reload
// (file change and SIGHUP) that applies to open sessions and refuses bad files.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import type { Cluster } from './harness/cluster.ts';
import { startAppCluster } from './harness/app-cluster.ts';
import { makeToken, startGateway, type Gateway, type Token } from './harness/gateway.ts';

let PW: string;
let cluster: Cluster;
let gw: Gateway;
let agent: Token;

before(async () => {
  agent = makeToken('agent');
  ({ cluster, password: PW } = await startAppCluster('CREATE TABLE a (x int); CREATE TABLE b (y int); INSERT INTO a VALUES (1); INSERT INTO b VALUES (2)'));
  gw = await startGateway({
    configYaml: `
listen: 127.0.0.1:{{PORT}}
admin: 127.0.0.1:{{ADMIN_PORT}}
data_dir: "{{DIR}}/state"
audit: { file: "{{DIR}}/audit.jsonl" }
upstreams:
  app: { url: "postgres://gw@127.0.0.1:${cluster.port}/app", password_env: PW, tls: disable }
identities:
  tokens: [{ name: agent, sha256: ${agent.sha256}, groups: [a] }]
policies:
  - name: a
    for: { groups: [a] }
    allow: [{ read: [public.a] }]
`,
    env: { PW },
  });
});

after(async () => {
  await gw?.stop();
  await cluster?.stop();
});

const admin = (path: string) => fetch(`http://127.0.0.1:${gw.adminPort}${path}`);

test('metrics count statements by verdict; health and readiness answer', async () => {
  const c = new pg.Client({ host: '127.0.0.1', port: gw.port, database: 'app', user: 'agent', password: agent.token });
  await c.connect();
  await c.query('SELECT x FROM a');
  await c.query('SELECT y FROM b').catch(() => undefined);
  const text = await (await admin('/metrics')).text();
  assert.match(text, /scopegate_statements_total\{verdict="allow"\} [1-9]/);
  assert.match(text, /scopegate_statements_total\{verdict="deny"\} [1-9]/);
  assert.match(text, /scopegate_sessions_active 1/);
  assert.match(text, /scopegate_decision_seconds_bucket/);
  assert.match(text, /scopegate_audit_backlog \d/);
  await c.end();
  assert.equal((await admin('/healthz')).status, 200);
  const ready = await admin('/readyz');
  assert.equal(ready.status, 200);
  assert.deepEqual(await ready.json(), { ready: true });
});

test('a changed config file applies to an open session; a broken one is refused and the old policy stays', async () => {
  const c = new pg.Client({ host: '127.0.0.1', port: gw.port, database: 'app', user: 'agent', password: agent.token });
  await c.connect();
  try {
    await assert.rejects(c.query('SELECT y FROM b'), /scopegate: denied/);
    const original = readFileSync(gw.configPath, 'utf8');
    const widened = original.replace(/public\.a( ?)\]/, 'public.a, public.b$1]');
    assert.notEqual(widened, original);
    writeFileSync(gw.configPath, widened);
    let allowed = false;
    for (let i = 0; i < 50 && !allowed; i++) {
      await new Promise((r) => setTimeout(r, 100));
      allowed = await c.query('SELECT y FROM b').then(() => true, () => false);
    }
    assert.ok(allowed, 'the same session sees the new policy');
    writeFileSync(gw.configPath, original.replace('policies:', 'policies: [oops'));
    gw.sendSignal('SIGHUP');
    await new Promise((r) => setTimeout(r, 800));
    assert.match(gw.logs(), /config reload refused/);
    assert.equal((await c.query('SELECT y FROM b')).rows[0].y, 2, 'the last good policy stays in force');
    const metrics = await (await admin('/metrics')).text();
    assert.match(metrics, /scopegate_policy_reloads_total\{outcome="refused"\} [1-9]/);
  } finally {
    await c.end();
  }
});
