// The gateway reuses an analysis for texts that differ only in literal values.
// A statement whose analysis reads a literal (a positional ORDER BY, a constant
// condition of a DELETE in a WITH clause) must never be served from that
// cache: here a harmless text primes it on one connection and its harmful twin
// follows on another, over the simple and the extended protocol.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Cluster } from './harness/cluster.ts';
import { startAppCluster } from './harness/app-cluster.ts';
import { makeToken, startGateway, type Gateway, type Token } from './harness/gateway.ts';

let cluster: Cluster;
let gw: Gateway;
let token: Token;

before(async () => {
  token = makeToken('agent');
  const app = await startAppCluster(
    `CREATE TABLE people (id int PRIMARY KEY, email text);
     INSERT INTO people SELECT g, 'user' || g || '@example.com' FROM generate_series(1, 10) g;
     CREATE TABLE orders (id int PRIMARY KEY, status text);
     INSERT INTO orders SELECT g, 'new' FROM generate_series(1, 10) g`,
  );
  cluster = app.cluster;
  gw = await startGateway({
    configYaml: `
listen: 127.0.0.1:{{PORT}}
upstreams:
  app: { url: "postgres://gw@127.0.0.1:${cluster.port}/app", password_env: PW, tls: disable }
identities:
  tokens: [{ name: agent, sha256: ${token.sha256}, groups: [a] }]
policies:
  - name: a
    for: { groups: [a] }
    allow:
      - read: [public.*]
      - delete: [public.orders]
    mask:
      public.people.email: redact
`,
    env: { PW: app.password },
  });
});

after(async () => {
  await gw?.stop();
  await cluster?.stop();
});

async function connect(): Promise<pg.Client> {
  const c = new pg.Client({ host: gw.host, port: gw.port, user: 'agent', password: token.token, database: 'app' });
  await c.connect();
  return c;
}

/** Runs `sql` on a fresh connection, simple protocol or (named, so pg prepares it) extended. */
async function run(sql: string, extended: boolean): Promise<{ rows: unknown[] } | { code: string }> {
  const c = await connect();
  try {
    const r = extended ? await c.query({ name: `s${randomBytes(4).toString('hex')}`, text: sql }) : await c.query(sql);
    return { rows: r.rows };
  } catch (e) {
    return { code: (e as { code?: string }).code ?? String(e) };
  } finally {
    await c.end();
  }
}

for (const extended of [false, true]) {
  const protocol = extended ? 'extended' : 'simple';

  test(`${protocol}: ORDER BY a masked column by position is refused after the same text ordered by another column ran`, async () => {
    const first = await run(`SELECT id, email FROM public.people ORDER BY 1 LIMIT ${extended ? 3 : 2}`, extended);
    assert.ok('rows' in first, JSON.stringify(first));
    const second = await run(`SELECT id, email FROM public.people ORDER BY 2 LIMIT ${extended ? 3 : 2}`, extended);
    assert.deepEqual(second, { code: '42501' });
  });

  test(`${protocol}: a DELETE in WITH whose condition is constant-true is refused after its filtered twin ran`, async () => {
    const filtered = await run(`WITH d AS (DELETE FROM public.orders WHERE id = ${extended ? 41 : 40} OR 1 = 2 RETURNING id) SELECT id FROM d`, extended);
    assert.deepEqual(filtered, { rows: [] });
    const everything = await run(`WITH d AS (DELETE FROM public.orders WHERE id = ${extended ? 41 : 40} OR 1 = 1 RETURNING id) SELECT id FROM d`, extended);
    assert.deepEqual(everything, { code: '42501' });
    const left = await cluster.query<{ n: string }>('SELECT count(*) AS n FROM orders', 'app');
    assert.equal(Number(left.rows[0].n), 10);
  });
}

test('texts that differ only in values still run, with the mask applied', async () => {
  for (const id of [1, 2, 3]) {
    const r = await run(`SELECT id, email FROM public.people WHERE id = ${id}`, false);
    assert.ok('rows' in r, JSON.stringify(r));
    assert.deepEqual(r.rows, [{ id, email: '[redacted]' }]);
  }
});
