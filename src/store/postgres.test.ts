// The Postgres store against a throwaway cluster: the shared contract (with a second handle as the
// peer replica), migrations under concurrency, password from the environment, and the LISTEN
// connection coming back after the server drops it (with the changes made meanwhile).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sharedCluster, type Cluster } from '../../test/harness/cluster.ts';
import { nextChange, sampleGrant, sampleReview, storeContract } from './contract.ts';
import { openStore } from './index.ts';
import { PostgresStore, type PostgresStoreOptions } from './postgres.ts';
import { MIGRATIONS, SCHEMA_VERSION } from './postgres-schema.ts';
import { StoreError, type StoreChange } from './types.ts';

let cluster: Cluster;
let dbSeq = 0;

before(async () => {
  cluster = await sharedCluster();
});

after(async () => {
  await cluster?.stop();
});

/** A fresh database on the shared cluster; returns its URL. */
async function freshDb(): Promise<{ name: string; url: string }> {
  const name = `store_${process.pid}_${++dbSeq}`;
  await cluster.query(`CREATE DATABASE ${name}`);
  return { name, url: cluster.url(name) };
}

async function dropDb(name: string): Promise<void> {
  await cluster.disconnect(name);
  await cluster.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

storeContract('postgres', async () => {
  const { name, url } = await freshDb();
  let store = await PostgresStore.open({ url });
  const peers: PostgresStore[] = [];
  return {
    store,
    async reopen() {
      await store.close();
      store = await PostgresStore.open({ url });
      return store;
    },
    async peer() {
      const p = await PostgresStore.open({ url });
      peers.push(p);
      return p;
    },
    async cleanup() {
      await store.close();
      for (const p of peers) await p.close();
      await dropDb(name);
    },
  };
});

describe('postgres store', () => {
  it('migrates a fresh database once, even when several replicas open it at the same moment', async () => {
    const { name, url } = await freshDb();
    const stores = await Promise.all(Array.from({ length: 6 }, () => PostgresStore.open({ url })));
    try {
      const applied = stores.map((s) => s.stats.migration.applied);
      assert.equal(applied.filter((a) => a.length > 0).length, 1, 'exactly one opener applied the migrations');
      assert.deepEqual(applied.find((a) => a.length > 0), MIGRATIONS.map((m) => m.version));
      for (const s of stores) assert.equal(s.stats.migration.version, SCHEMA_VERSION);
      const rows = await cluster.query('SELECT version, name FROM scopegate.schema_migrations ORDER BY version', name);
      assert.deepEqual(rows.rows.map((r) => r.version), MIGRATIONS.map((m) => m.version));
      const again = await PostgresStore.open({ url });
      assert.deepEqual(again.stats.migration.applied, []);
      await again.close();
    } finally {
      for (const s of stores) await s.close();
      await dropDb(name);
    }
  });

  it('reports a schema version newer than this build knows, and keeps working', async () => {
    const { name, url } = await freshDb();
    (await PostgresStore.open({ url }).then((s) => s.close()));
    await cluster.query(`INSERT INTO scopegate.schema_migrations (version, name) VALUES (${SCHEMA_VERSION + 1}, 'from the future')`, name);
    const store = await PostgresStore.open({ url });
    try {
      assert.equal(store.stats.migration.newer, true);
      await store.createReview(sampleReview());
    } finally {
      await store.close();
      await dropDb(name);
    }
  });

  it('opens from config with the password from SCOPEGATE_STORE_PASSWORD; failures never show the password', async () => {
    const { name } = await freshDb();
    const { password, user } = cluster.superuser;
    const bare = `postgres://${user}@127.0.0.1:${cluster.port}/${name}`;
    const store = await openStore({ store: bare, data_dir: '.' }, '/nonexistent', { env: { SCOPEGATE_STORE_PASSWORD: password } });
    assert.ok(store instanceof PostgresStore);
    await store.close();
    await assert.rejects(
      openStore({ store: bare, data_dir: '.' }, '/nonexistent', { env: { SCOPEGATE_STORE_PASSWORD: 'wrong-password' } }),
      (e: unknown) => e instanceof StoreError && e.code === 'io' && /password authentication failed/.test(e.message) && !e.message.includes('wrong-password'),
    );
    const withUrlPassword = cluster.url(name);
    const s2 = await openStore({ store: withUrlPassword, data_dir: '.' }, '/nonexistent', { env: { SCOPEGATE_STORE_PASSWORD: 'ignored-when-the-url-has-one' } });
    await s2.close();
    await assert.rejects(openStore({ store: 'sqlite', data_dir: '.' }, '/x'), (e: unknown) => e instanceof StoreError && e.code === 'unsupported');
    const { freePort } = await import('../../test/harness/net.ts');
    const nobody = `postgres://u:pw@127.0.0.1:${await freePort()}/db`;
    await assert.rejects(openStore({ store: nobody, data_dir: '.' }, '/x'), (e: unknown) => e instanceof StoreError && e.code === 'io' && /ECONNREFUSED/.test(e.message) && !e.message.includes(':pw@'));
    await dropDb(name);
  });

  it('reconnects its LISTEN connection after the server drops it and reports what changed meanwhile', async () => {
    const { name, url } = await freshDb();
    const opts: PostgresStoreOptions = { url, listener: { backoffMs: 400, maxBackoffMs: 400 } };
    const a = await PostgresStore.open(opts);
    const b = await PostgresStore.open(opts);
    try {
      const r = sampleReview();
      const created = nextChange(a, (c) => c.id === r.id);
      await b.createReview(r);
      await created;
      const seen: StoreChange[] = [];
      a.onChange((c) => seen.push(c));
      await cluster.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'scopegate-store-listen'`, name, [name]);
      // Decided by b while a's listener is away (the reconnect waits ~400 ms).
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(a.stats.listener.connected, false);
      const decided = await b.updateReview(r.id, 'pending', { status: 'approved', decidedBy: 'dana' });
      assert.ok(decided);
      await waitUntil(() => seen.some((c) => c.id === r.id), 5000);
      assert.equal(a.stats.listener.reconnects, 1);
      assert.ok(a.stats.listener.caughtUp >= 1);
      assert.equal((await a.getReview(r.id))?.status, 'approved');
      // And live notifications flow again on the new connection.
      const g = sampleGrant();
      const live = nextChange(a, (c) => c.id === g.id);
      await b.createGrant(g);
      await live;
    } finally {
      await a.close();
      await b.close();
      await dropDb(name);
    }
  });

  it('measures: write latency, change latency across handles, open time', async () => {
    const { name, url } = await freshDb();
    let t = performance.now();
    const a = await PostgresStore.open({ url });
    const firstOpen = performance.now() - t;
    t = performance.now();
    const b = await PostgresStore.open({ url });
    const laterOpen = performance.now() - t;
    try {
      const writes: number[] = [];
      const cross: number[] = [];
      for (let i = 0; i < 200; i++) {
        const r = sampleReview();
        const seen = nextChange(b, (c) => c.id === r.id).then(() => performance.now());
        const start = performance.now();
        await a.createReview(r);
        writes.push(performance.now() - start);
        cross.push((await seen) - start);
      }
      const cas: number[] = [];
      for (const r of (await a.listReviews({ status: 'pending', limit: 100 }))) {
        const start = performance.now();
        await a.updateReview(r.id, 'pending', { status: 'approved' });
        cas.push(performance.now() - start);
      }
      const med = (xs: number[]): string => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)].toFixed(2);
      const p99 = (xs: number[]): string => [...xs].sort((x, y) => x - y)[Math.floor(xs.length * 0.99)].toFixed(2);
      console.log(
        `# postgres store: open+migrate ${firstOpen.toFixed(0)} ms (fresh db), open ${laterOpen.toFixed(0)} ms (migrated); ` +
          `createReview median ${med(writes)} ms p99 ${p99(writes)} ms; updateReview (CAS) median ${med(cas)} ms; ` +
          `onChange on the other handle median ${med(cross)} ms p99 ${p99(cross)} ms after the write started`,
      );
    } finally {
      await a.close();
      await b.close();
      await dropDb(name);
    }
  });
});

async function waitUntil(cond: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
