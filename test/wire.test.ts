// Malformed and hostile wire input against a live gateway: each bad connection
// gets an error or a close, and the gateway keeps serving everyone else.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startCluster, type Cluster } from './harness/cluster.ts';
import { makeToken, shebangNodeFlags, startGateway, type Gateway, type Token } from './harness/gateway.ts';
import { encodeStartupMessage, encodeQuery, encodePassword, encodeFunctionCall, encodeParse, encodeSync, encodeBind, encodeExecute, encodeSSLRequest } from '../src/protocol/frontend.ts';
import { MessageFramer } from '../src/protocol/framer.ts';
import { decodeBackend } from '../src/protocol/backend.ts';
import type { BackendMessage } from '../src/protocol/types.ts';
import { seededRandom } from '../src/testing/seeded-random.ts';

let cluster: Cluster;
let gw: Gateway;
let token: Token;
const PASSWORD = 'gw-' + randomBytes(8).toString('hex');

before(async () => {
  token = makeToken('agent');
  cluster = await startCluster();
  await cluster.query(`CREATE ROLE scopegate_gw LOGIN PASSWORD '${PASSWORD}'`);
  await cluster.query('CREATE DATABASE app OWNER scopegate_gw');
  await cluster.query('CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 10); ALTER TABLE t OWNER TO scopegate_gw;', 'app');
  gw = await startGateway({
    configYaml: `
listen: 127.0.0.1:{{PORT}}
limits: { startup_timeout_ms: 2000, max_message_bytes: 1048576 }
upstreams:
  app: { url: "postgres://scopegate_gw@127.0.0.1:${cluster.port}/app", password_env: PW, tls: disable }
identities:
  tokens: [{ name: agent, sha256: ${token.sha256}, groups: [a] }]
policies:
  - name: a
    for: { groups: [a] }
    allow: [{ read: [public.*] }]
`,
    env: { PW: PASSWORD },
  });
});

after(async () => {
  await gw?.stop();
  await cluster?.stop();
});

/** Sends bytes on a fresh connection and collects what comes back until close or timeout. */
function exchange(parts: Buffer[], waitMs = 1500): Promise<{ data: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(gw.port, '127.0.0.1');
    const got: Buffer[] = [];
    let closed = false;
    s.on('data', (d) => got.push(d));
    s.on('error', () => undefined);
    s.on('close', () => {
      closed = true;
      finish();
    });
    const timer = setTimeout(finish, waitMs);
    let done = false;
    function finish(): void {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ data: Buffer.concat(got), closed });
    }
    s.on('connect', () => {
      for (const p of parts) s.write(p);
    });
  });
}

function messages(data: Buffer): BackendMessage[] {
  const f = new MessageFramer(undefined, 'backend');
  // An 'N'/'S' byte answering SSLRequest precedes regular messages.
  const start = data[0] === 0x4e || data[0] === 0x53 ? 1 : 0;
  f.push(data.subarray(start));
  const out: BackendMessage[] = [];
  try {
    for (let m = f.next(); m; m = f.next()) out.push(decodeBackend(m.type, m.body));
  } catch {
    /* truncated tail */
  }
  return out;
}

const startup = (extra: Record<string, string> = {}) => encodeStartupMessage({ user: 'agent', database: 'app', ...extra });
const login = () => [startup(), encodePassword(token.token)];

async function assertServesNormalClient(): Promise<void> {
  const c = new pg.Client({ host: '127.0.0.1', port: gw.port, database: 'app', user: 'agent', password: token.token });
  await c.connect();
  const r = await c.query('SELECT count(*)::int AS n FROM t');
  assert.equal(r.rows[0].n, 10);
  await c.end();
}

describe('startup phase', () => {
  test('the gateway runs with the node options of its #! line, as `scopegate start` gives them', () => {
    const args = readFileSync(`/proc/${gw.pid}/cmdline`, 'utf8').split('\0');
    assert.ok(args.includes('--max-semi-space-size=2') && args.includes('--expose-gc'), args.join(' '));
    assert.ok(shebangNodeFlags().every((f) => args.includes(f)));
  });

  test('bad lengths, versions and parameters are refused', async () => {
    const cases: Buffer[][] = [
      [Buffer.from([0, 0, 0, 4])], // length < 8
      [Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 3, 0, 0])], // negative length
      [Buffer.from([0, 1, 0, 0, 0, 3, 0, 0])], // 65536 > startup cap
      [encodeStartupMessage({ user: 'agent' }, 0x00020000)], // protocol 2.0
      [startup({ replication: 'database' })],
      [startup({ options: '-c search_path=billing' })],
      [startup({ search_path: 'billing' })],
      [startup({ client_encoding: 'SJIS' })],
      [Buffer.concat([encodeSSLRequest(), Buffer.from('garbage-instead-of-a-tls-hello')])],
      [startup(), encodeQuery('SELECT 1')], // Query instead of the password
      [startup(), encodePassword('not-a-token')],
    ];
    for (const parts of cases) {
      const r = await exchange(parts);
      const msgs = messages(r.data);
      assert.ok(!msgs.some((m) => m.type === 'AuthenticationOk'), `must not authenticate: ${parts.map((p) => p.toString('hex').slice(0, 40))}`);
    }
    await assertServesNormalClient();
  });

  test('a silent connection is dropped after the startup timeout', async () => {
    const r = await exchange([], 4000);
    assert.equal(r.closed, true);
  });
});

describe('after authentication', () => {
  test('NUL inside a Query, and a length that smuggles a second message, never reach Postgres', async () => {
    const body = Buffer.from('SELECT 1\0; DELETE FROM t WHERE id = 1\0');
    const q = Buffer.alloc(5 + body.length);
    q.write('Q');
    q.writeInt32BE(4 + body.length, 1);
    body.copy(q, 5);
    const r = await exchange([...login(), q]);
    const msgs = messages(r.data);
    assert.ok(msgs.some((m) => m.type === 'ErrorResponse'));
    const n = await cluster.query('SELECT count(*)::int AS n FROM t', 'app');
    assert.equal(n.rows[0].n, 10);
  });

  test('FunctionCall is refused with 42501 and the session stays usable', async () => {
    const r = await exchange([...login(), encodeFunctionCall(2626), encodeQuery('SELECT 42')]);
    const msgs = messages(r.data);
    const err = msgs.find((m) => m.type === 'ErrorResponse');
    assert.ok(err && err.type === 'ErrorResponse' && err.fields.C === '42501');
    assert.ok(msgs.some((m) => m.type === 'DataRow'), 'the next query still runs');
  });

  test('a denied Parse in a pipeline skips everything until Sync', async () => {
    const r = await exchange([
      ...login(),
      encodeParse('', 'DELETE FROM t WHERE id = 2'), encodeBind({}), encodeExecute(),
      encodeParse('', 'SELECT 1'), encodeBind({}), encodeExecute(),
      encodeSync(),
      encodeQuery('SELECT 5'),
    ]);
    const types = messages(r.data).map((m) => m.type);
    const afterAuth = types.slice(types.indexOf('ReadyForQuery') + 1);
    assert.deepEqual(afterAuth.slice(0, 2), ['ErrorResponse', 'ReadyForQuery']);
    assert.ok(afterAuth.includes('DataRow'));
    const n = await cluster.query('SELECT count(*)::int AS n FROM t', 'app');
    assert.equal(n.rows[0].n, 10);
  });

  test('thousands of random and truncated frames do not crash the gateway', async () => {
    const types = 'QPBDECSHXdcfFpz\0\xff'.split('');
    const rand = seededRandom(1234567);
    const batches: Promise<unknown>[] = [];
    for (let conn = 0; conn < 60; conn++) {
      const parts: Buffer[] = conn % 3 === 0 ? [] : login();
      for (let i = 0; i < 50; i++) {
        const len = rand(5) === 0 ? rand(0x7fffffff) : rand(64);
        const body = randomBytes(rand(80));
        const frame = Buffer.alloc(5 + body.length);
        frame.write(types[rand(types.length)], 0, 'latin1');
        frame.writeInt32BE(len, 1);
        body.copy(frame, 5);
        parts.push(rand(4) === 0 ? frame.subarray(0, rand(frame.length)) : frame);
      }
      batches.push(exchange(parts, 800));
      if (batches.length >= 10) await Promise.all(batches.splice(0));
    }
    await Promise.all(batches);
    await assertServesNormalClient();
  });
});
