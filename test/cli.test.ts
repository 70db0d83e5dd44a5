// The command line as a user runs it: token new, check, explain.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster, type Cluster } from './harness/cluster.ts';
import { GATEWAY_BIN } from './harness/gateway.ts';
import { run } from './harness/proc.ts';

let cluster: Cluster;
let dir: string;
const PW = 'cli-' + Math.random().toString(36).slice(2);

before(async () => {
  cluster = await startCluster();
  await cluster.query(`CREATE ROLE gw LOGIN PASSWORD '${PW}'`);
  await cluster.query('CREATE DATABASE app OWNER gw');
  await cluster.query('CREATE TABLE people (id int, email text, ssn text); ALTER TABLE people OWNER TO gw;', 'app');
  dir = mkdtempSync(join(tmpdir(), 'sg-cli-'));
});

after(async () => {
  await cluster?.stop();
});

const cli = (args: string[]) => run(process.execPath, [GATEWAY_BIN, ...args], { env: { ...process.env, APP_PW: PW }, timeoutMs: 30_000 });

test('token new prints a token and the config line holding its sha256', async () => {
  const r = await cli(['token', 'new', 'alice']);
  assert.equal(r.code, 0);
  const out = r.stdout.toString();
  const token = /: (sgt_\S+)/.exec(out)?.[1];
  const sha = /sha256: ([0-9a-f]{64})/.exec(out)?.[1];
  assert.ok(token && sha);
  const { createHash } = await import('node:crypto');
  assert.equal(createHash('sha256').update(token).digest('hex'), sha);
});

test('check names the line and key of a mistake, and accepts a good file', async () => {
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'upstreams:\n  app:\n    url: postgres://gw@127.0.0.1/app\npolicies:\n  - name: p\n    for: { groups: [g] }\n    allow:\n      - raed: [public.*]\n');
  const r = await cli(['check', '--config', bad]);
  assert.equal(r.code, 2);
  assert.match(r.stderr.toString(), /bad\.yaml:8: policies\.0\.allow\.0: Unrecognized key: "raed"/);
  const good = join(dir, 'good.yaml');
  writeFileSync(good, 'upstreams:\n  app:\n    url: postgres://gw@127.0.0.1/app\n');
  assert.equal((await cli(['check', '--config', good])).code, 0);
});

test('check warns when an ephemeral-roles upstream role is a superuser', async () => {
  await cluster.query(`CREATE ROLE gwsu LOGIN SUPERUSER PASSWORD '${PW}'`);
  const path = join(dir, 'eph.yaml');
  writeFileSync(path, `upstreams:\n  app: { url: "postgres://gwsu@127.0.0.1:${cluster.port}/app", password_env: APP_PW, roles: ephemeral, tls: disable }\n`);
  const r = await cli(['check', '--config', path]);
  assert.equal(r.code, 0, r.stderr.toString());
  assert.match(r.stdout.toString(), /warning: upstream app: role gwsu is a superuser/);
});

test('explain prints the verdict, every reason and the masking plan', async () => {
  const path = join(dir, 'explain.yaml');
  writeFileSync(path, `
upstreams:
  app: { url: "postgres://gw@127.0.0.1:${cluster.port}/app", password_env: APP_PW, tls: disable }
identities:
  tokens: [{ name: rep, sha256: ${'a'.repeat(64)}, groups: [r] }]
policies:
  - name: r
    for: { groups: [r] }
    allow: [{ read: [public.*] }]
    mask: { public.people.ssn: last4 }
`);
  const r = await cli(['explain', '--config', path, '--as', 'rep', 'SELECT id, ssn FROM people; DELETE FROM people']);
  assert.equal(r.code, 0, r.stderr.toString());
  const out = r.stdout.toString();
  assert.match(out, /verdict: DENY/);
  assert.match(out, /column 2 "ssn": last4 \(from public\.people\.ssn\)/);
  assert.match(out, /guardrail unfiltered-write/);
  assert.match(out, /delete on public\.people \(DELETE\) denied: no rule allows it \(default deny\)/);
});
