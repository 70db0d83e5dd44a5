// The audit trail of a real gateway: verify, sessions, replay, and a kill -9
// under load after which the chain verifies and every acknowledged statement
// has its event.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { Cluster } from './harness/cluster.ts';
import { startAppCluster } from './harness/app-cluster.ts';
import { GATEWAY_BIN, makeToken, startGateway, type Gateway, type Token } from './harness/gateway.ts';
import { run } from './harness/proc.ts';

let PW: string;
let cluster: Cluster;
let agent: Token;

before(async () => {
  agent = makeToken('agent');
  ({ cluster, password: PW } = await startAppCluster('CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t SELECT g, g FROM generate_series(1, 100) g'));
});

after(async () => {
  await cluster?.stop();
});

function config(auditPath: string, policyExtra = ''): string {
  return `
listen: 127.0.0.1:{{PORT}}
data_dir: "{{DIR}}/state"
audit: { file: "${auditPath}", ack_after_write: true }
upstreams:
  app: { url: "postgres://gw@127.0.0.1:${cluster.port}/app", password_env: PW, tls: disable }
identities:
  tokens: [{ name: agent, sha256: ${agent.sha256}, groups: [a] }]
policies:
  - name: a
    for: { groups: [a] }
    allow: [{ read: [public.t] }]
${policyExtra}`;
}

const cli = (args: string[]) => run(process.execPath, [GATEWAY_BIN, ...args], { timeoutMs: 30_000 });

test('audit verify, sessions list and replay over what a session did', async () => {
  const dir = (await import('node:fs')).mkdtempSync('/tmp/sg-audit-');
  const path = join(dir, 'audit.jsonl');
  const gw = await startGateway({ configYaml: config(path), env: { PW } });
  try {
    const c = new pg.Client({ host: '127.0.0.1', port: gw.port, database: 'app', user: 'agent', password: agent.token });
    await c.connect();
    await c.query('SELECT v FROM t WHERE id = 1');
    await c.query('DELETE FROM t WHERE id = 1').catch(() => undefined);
    await c.end();
  } finally {
    await gw.stop();
  }
  const verify = await cli(['audit', 'verify', '--file', path]);
  assert.equal(verify.code, 0, verify.stdout.toString() + verify.stderr.toString());
  const sessions = await cli(['sessions', 'list', '--file', path]);
  assert.equal(sessions.code, 0, sessions.stderr.toString());
  const id = /([0-9a-f]{8}-[0-9a-f-]{27})/.exec(sessions.stdout.toString())?.[1];
  assert.ok(id, sessions.stdout.toString());
  const replay = await cli(['replay', id, '--file', path]);
  assert.equal(replay.code, 0, replay.stderr.toString());
  assert.match(replay.stdout.toString(), /SELECT v FROM t WHERE id = 1/);
  assert.match(replay.stdout.toString(), /deny/);
  const search = await cli(['audit', 'search', '--file', path, '--verdict', 'deny', '--json']);
  assert.match(search.stdout.toString(), /DELETE FROM t WHERE id = 1/);

  // Tampering is detected.
  const lines = readFileSync(path, 'utf8').split('\n');
  const edited = lines.map((l) => l.replace('WHERE id = 1"', 'WHERE id = 2"')).join('\n');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(path, edited);
  const broken = await cli(['audit', 'verify', '--file', path]);
  assert.notEqual(broken.code, 0);
});

test('kill -9 under load: after restart the chain verifies and every acknowledged statement has its event', async () => {
  const { mkdtempSync } = await import('node:fs');
  const dir = mkdtempSync('/tmp/sg-crash-');
  const path = join(dir, 'audit.jsonl');
  const gw = await startGateway({ configYaml: config(path), env: { PW } });
  const acknowledged: string[] = [];
  const clients = await Promise.all(
    [0, 1, 2, 3].map(async () => {
      const c = new pg.Client({ host: '127.0.0.1', port: gw.port, database: 'app', user: 'agent', password: agent.token });
      c.on('error', () => undefined);
      await c.connect();
      return c;
    }),
  );
  let stop = false;
  const load = clients.map(async (c, k) => {
    for (let i = 0; !stop; i++) {
      const sql = `SELECT v FROM t WHERE id = ${(i % 100) + 1} AND v > -${k * 100000 + i}`;
      try {
        await c.query(sql);
        acknowledged.push(sql);
      } catch {
        return;
      }
    }
  });
  await new Promise((r) => setTimeout(r, 1500));
  await gw.kill('SIGKILL');
  stop = true;
  await Promise.all(load);
  assert.ok(acknowledged.length > 50, `load ran (${acknowledged.length} statements)`);
  // Restart on the same file: the sink repairs a torn last line and continues the chain.
  const again = await startGateway({ configYaml: config(path), env: { PW } });
  await again.stop();
  const verify = await cli(['audit', 'verify', '--file', path]);
  assert.equal(verify.code, 0, verify.stdout.toString() + verify.stderr.toString());
  const text = readFileSync(path, 'utf8');
  const missing = acknowledged.filter((sql) => !text.includes(JSON.stringify(sql)));
  assert.deepEqual(missing, [], `${missing.length} of ${acknowledged.length} acknowledged statements have no event`);
});

test('record_results keeps the first rows of each result, masked as the client saw them, and replay shows them', async () => {
  const { mkdtempSync } = await import('node:fs');
  const path = join(mkdtempSync('/tmp/sg-rec-'), 'audit.jsonl');
  const gw = await startGateway({ configYaml: config(path, '    record_results: 2\n    mask: { public.t.v: redact }'), env: { PW } });
  let session = '';
  try {
    const c = new pg.Client({ host: '127.0.0.1', port: gw.port, database: 'app', user: 'agent', password: agent.token });
    await c.connect();
    const r = await c.query('SELECT id, v FROM t WHERE id <= $1 ORDER BY id', [5]);
    assert.equal(r.rows.length, 5);
    await c.end();
  } finally {
    await gw.stop();
  }
  const events = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const stmt = events.find((e) => e.type === 'statement' && /ORDER BY id/.test(e.sql));
  assert.deepEqual(stmt.result, { columns: ['id', 'v'], rows: [['1', null], ['2', null]] });
  session = stmt.session;
  const replay = await cli(['replay', session, '--file', path]);
  assert.match(replay.stdout.toString(), /id \| v/);
  assert.match(replay.stdout.toString(), /1 \| NULL/);
});
