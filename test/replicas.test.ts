// Two gateway processes sharing one Postgres store: a statement held on A is decided through B's
// admin API and A's client gets its result (or its 42501); a grant approved on B widens the policy
// on A; both replicas list the same reviews. The store database lives on the same throwaway cluster
// as the upstream, owned by a role of its own whose password comes from SCOPEGATE_STORE_PASSWORD.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startCluster, type Cluster } from './harness/cluster.ts';
import { makeToken, startGateway, type Gateway, type Token } from './harness/gateway.ts';

const PW = 'gw-' + randomBytes(8).toString('hex');
const STORE_PW = 'st-' + randomBytes(8).toString('hex');
let cluster: Cluster;
let gwA: Gateway;
let gwB: Gateway;
let configYaml = '';
let gwEnv: Record<string, string> = {};
const t: Record<string, Token> = {};
const timings: Record<string, number[]> = { release: [], approveHttp: [], grant: [] };

before(async () => {
  for (const n of ['dq', 'alice']) t[n] = makeToken(n);
  cluster = await startCluster();
  await cluster.query(`CREATE ROLE gw LOGIN PASSWORD '${PW}'`);
  await cluster.query('CREATE DATABASE app OWNER gw');
  await cluster.query(`CREATE ROLE sgstore LOGIN PASSWORD '${STORE_PW}'`);
  await cluster.query('CREATE DATABASE sgstate OWNER sgstore');
  await cluster.query(
    `CREATE TABLE flags (id int PRIMARY KEY, resolved bool NOT NULL DEFAULT false); INSERT INTO flags SELECT g FROM generate_series(1, 50) g;
     CREATE TABLE secret (v text); INSERT INTO secret VALUES ('s3cr3t');
     ALTER TABLE flags OWNER TO gw; ALTER TABLE secret OWNER TO gw;`,
    'app',
  );
  configYaml = `
listen: 127.0.0.1:{{PORT}}
admin: 127.0.0.1:{{ADMIN_PORT}}
data_dir: "{{DIR}}/state"
store: "postgres://sgstore@127.0.0.1:${cluster.port}/sgstate"
audit: { file: "{{DIR}}/audit.jsonl" }
upstreams:
  app: { url: "postgres://gw@127.0.0.1:${cluster.port}/app", password_env: PW, tls: disable }
identities:
  tokens:
    - { name: dq, sha256: ${t.dq.sha256}, groups: [dq] }
    - { name: alice, sha256: ${t.alice.sha256}, groups: [approvers] }
approvals: { approver_groups: [approvers], timeout_s: 60 }
policies:
  - name: dq
    for: { groups: [dq] }
    allow: [{ read: [public.flags] }]
    review: [{ update: [public.flags] }]
`;
  gwEnv = { PW, SCOPEGATE_STORE_PASSWORD: STORE_PW };
  // Started together: both migrate the empty store database at once (the advisory lock serialises them).
  [gwA, gwB] = await Promise.all([startGateway({ configYaml, env: gwEnv }), startGateway({ configYaml, env: gwEnv })]);
});

after(async () => {
  const med = (xs: number[]): string => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)].toFixed(1) : '-');
  console.log(
    `# replicas: approve on B → result on A median ${med(timings.release)} ms (n=${timings.release.length}; ` +
      `the approve call on B itself ${med(timings.approveHttp)} ms); ` +
      `grant approved on B → in force on A median ${med(timings.grant)} ms (n=${timings.grant.length})`,
  );
  await gwA?.stop();
  await gwB?.stop();
  await cluster?.stop();
});

async function api(gw: Gateway, method: string, path: string, token: Token, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`http://127.0.0.1:${gw.adminPort}${path}`, {
    method,
    headers: { authorization: `Bearer ${token.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, json: await res.json() };
}

async function client(gw: Gateway, user: string): Promise<pg.Client> {
  const c = new pg.Client({ host: '127.0.0.1', port: gw.port, database: 'app', user, password: t[user].token });
  await c.connect();
  return c;
}

/** Sends `sql` on `c` and resolves with the review id from the "held for review" notice. */
function holdOn(c: pg.Client, sql: string): { result: Promise<pg.QueryResult | Error>; review: Promise<string> } {
  const review = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no held-for-review notice')), 10_000);
    c.once('notice', (n) => {
      clearTimeout(timer);
      const id = /held for review (rv_\w+)/.exec(n.message ?? '')?.[1];
      if (id) resolve(id);
      else reject(new Error(`unexpected notice: ${n.message}`));
    });
  });
  return { result: c.query(sql).catch((e: Error) => e), review };
}

const resolved = async (id: number) => (await cluster.query('SELECT resolved FROM flags WHERE id = $1', 'app', [id])).rows[0].resolved as boolean;

describe('two gateways sharing a Postgres store', () => {
  test('a statement held on A is approved through B and runs once on A', async () => {
    const c = await client(gwA, 'dq');
    try {
      for (let i = 1; i <= 15; i++) {
        const held = holdOn(c, `UPDATE flags SET resolved = true WHERE id = ${i}`);
        const id = await held.review;
        // B sees the review A recorded.
        const seen = await api(gwB, 'GET', `/api/reviews/${id}`, t.alice);
        assert.equal(seen.status, 200);
        assert.equal(seen.json.review.status, 'pending');
        assert.equal(await resolved(i), false, 'nothing runs before approval');
        const start = performance.now();
        const approved = await api(gwB, 'POST', `/api/reviews/${id}/approve`, t.alice, { reason: 'ok' });
        timings.approveHttp.push(performance.now() - start);
        assert.equal(approved.status, 200, JSON.stringify(approved.json));
        const r = await held.result;
        timings.release.push(performance.now() - start);
        assert.ok(!(r instanceof Error), String(r));
        assert.equal(r.rowCount, 1);
        assert.equal(await resolved(i), true);
        // A's view of the review is B's decision.
        const onA = await api(gwA, 'GET', `/api/reviews/${id}`, t.alice);
        assert.equal(onA.json.review.status, 'approved');
        assert.equal(onA.json.review.decidedBy, 'alice');
      }
      assert.equal((await c.query('SELECT count(*)::int AS n FROM flags WHERE resolved')).rows[0].n, 15, 'each ran exactly once');
    } finally {
      await c.end();
    }
  });

  test('a statement held on A and denied through B fails on A with 42501 and the reason', async () => {
    const c = await client(gwA, 'dq');
    try {
      const held = holdOn(c, 'UPDATE flags SET resolved = true WHERE id = 20');
      const id = await held.review;
      assert.equal((await api(gwB, 'POST', `/api/reviews/${id}/deny`, t.alice, { reason: 'not during the freeze' })).status, 200);
      const r = await held.result;
      assert.ok(r instanceof Error);
      assert.equal((r as pg.DatabaseError).code, '42501');
      assert.match(r.message, /denied.*not during the freeze/);
      assert.equal(await resolved(20), false);
      assert.equal((await c.query('SELECT resolved FROM flags WHERE id = 20')).rows[0].resolved, false, 'the session stays usable');
    } finally {
      await c.end();
    }
  });

  test('a grant approved on B widens the policy on A', async () => {
    const c = await client(gwA, 'dq');
    try {
      await assert.rejects(c.query('SELECT v FROM secret'), /scopegate: denied/);
      const req = await api(gwA, 'POST', '/api/grants', t.dq, { scopes: [{ privilege: 'read', objects: ['public.secret'] }], duration: '1h', justification: 'incident 42' });
      assert.equal(req.status, 201, JSON.stringify(req.json));
      const start = performance.now();
      const approved = await api(gwB, 'POST', `/api/grants/${req.json.grant.id}/approve`, t.alice, {});
      assert.equal(approved.status, 200, JSON.stringify(approved.json));
      // A learns of the grant through LISTEN/NOTIFY: poll until it is in force there.
      let rows: any[] | null = null;
      while (!rows && performance.now() - start < 5000) {
        rows = await c.query('SELECT v FROM secret').then((r) => r.rows, () => null);
        if (!rows) await new Promise((r) => setTimeout(r, 2));
      }
      timings.grant.push(performance.now() - start);
      assert.deepEqual(rows, [{ v: 's3cr3t' }]);
      // Revoked on B: A shrinks back.
      assert.equal((await api(gwB, 'POST', `/api/grants/${req.json.grant.id}/revoke`, t.alice, {})).status, 200);
      let denied = false;
      const until = Date.now() + 5000;
      while (!denied && Date.now() < until) {
        denied = await c.query('SELECT v FROM secret').then(() => false, (e: Error) => /scopegate: denied/.test(e.message));
        if (!denied) await new Promise((r) => setTimeout(r, 5));
      }
      assert.ok(denied, 'the revoked grant no longer applies on A');
    } finally {
      await c.end();
    }
  });

  test(
    'a replica that restarts does not expire statements held on another',
    async () => {
      const c = await client(gwA, 'dq');
      try {
        const held = holdOn(c, 'UPDATE flags SET resolved = true WHERE id = 30');
        const id = await held.review;
        await gwB.stop();
        gwB = await startGateway({ configYaml, env: gwEnv });
        const approved = await api(gwB, 'POST', `/api/reviews/${id}/approve`, t.alice, {});
        assert.equal(approved.status, 200, JSON.stringify(approved.json));
        const r = await held.result;
        assert.ok(!(r instanceof Error), String(r));
      } finally {
        await c.end();
      }
    },
  );

  test('the store holds one schema, migrated once, and no review is left pending', async () => {
    const m = await cluster.query('SELECT version FROM scopegate.schema_migrations ORDER BY version', 'sgstate');
    assert.deepEqual(m.rows.map((r) => r.version), [1, 2]);
    const pending = await cluster.query(`SELECT count(*)::int AS n FROM scopegate.reviews WHERE status = 'pending'`, 'sgstate');
    assert.equal(pending.rows[0].n, 0);
    const listeners = await cluster.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = 'sgstate' AND application_name = 'scopegate-store-listen'`);
    assert.equal(listeners.rows[0].n, 2, 'one LISTEN connection per gateway');
  });
});
