// Checks the corpus harness itself, without the gateway: cases sent straight to
// PostgreSQL as superuser must be scored as bypasses and leaks, legit cases as
// passes, and the fingerprint must see every kind of side effect.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findLeak } from '../../src/masking/leak-forms.ts';
import { sharedCluster, type Cluster } from '../harness/cluster.ts';
import { startRecorder, type Recorder } from '../harness/recorder.ts';
import { corpusDir, loadCases, pgModeFor, type Case } from './cases.ts';
import { CorpusDatabase } from './database.ts';
import { CANARY_DIR, CORPUS_DB } from './fingerprint.ts';
import { RawValues, valuesToWatch } from './raw-values.ts';
import { runCases, type RunResult } from './runner.ts';
import { runPg } from './transports.ts';

let cluster: Cluster;
let db: CorpusDatabase;
let recorder: Recorder;
let cases: Map<string, Case>;

before(async () => {
  cluster = await sharedCluster();
  db = await CorpusDatabase.setup(cluster, path.join(corpusDir(), 'fixture.sql'));
  recorder = await startRecorder({ host: cluster.host, port: cluster.port });
  cases = new Map(loadCases().map((c) => [c.id, c]));
});

after(async () => {
  await recorder?.close();
});

/** Runs cases straight against PostgreSQL, every identity being the superuser. */
function runDirect(ids: string[], timeoutMs = 10_000): Promise<RunResult[]> {
  return runCases(ids.map((id) => {
    const c = cases.get(id);
    assert.ok(c, `no case ${id}`);
    return c;
  }), {
    cluster, db, recorder, findLeak, timeoutMs,
    endpoint: { host: cluster.host, port: cluster.port, database: CORPUS_DB },
    credentials: () => cluster.superuser,
  });
}

function byTransport(results: RunResult[], id: string): Record<string, RunResult> {
  return Object.fromEntries(results.filter((r) => r.id === id).map((r) => [r.transport, r]));
}

describe('the fingerprint', () => {
  test('is stable when nothing changes, including across a reset', async () => {
    await db.reset();
    assert.deepEqual(await db.changes(), []);
    await cluster.query('SELECT count(*) FROM public.customers', CORPUS_DB);
    assert.deepEqual(await db.changes(), []);
  });

  test('sees data, sequence, catalog, maintenance, role and canary changes', async () => {
    await db.reset();
    await cluster.query("UPDATE public.orders SET status = 'paid' WHERE id = 10001", CORPUS_DB);
    await cluster.query("SELECT nextval('public.orders_id_seq')", CORPUS_DB);
    await cluster.query("COMMENT ON TABLE public.orders IS 'x'", CORPUS_DB);
    await cluster.query('VACUUM analytics.daily_stats', CORPUS_DB);
    await cluster.query('CREATE ROLE harness_fp_probe', 'postgres');
    writeFileSync(path.join(CANARY_DIR, 'probe.txt'), 'x');
    const changes = (await db.changes()).join('\n');
    for (const what of ['rows public.orders', 'sequence public.orders_id_seq', 'catalog comments', 'catalog maintenance', 'roles', 'file probe.txt']) {
      assert.match(changes, new RegExp(what.replace('.', '\\.')), `expected a change in ${what}:\n${changes}`);
    }
    await db.reset();
    assert.deepEqual(await db.changes(), [], 'reset undoes all of it');
  });
});

describe('raw values', () => {
  test('include the inherited customers_legacy rows', async () => {
    const emails = await new RawValues(cluster).column('public.customers.email');
    assert.equal(emails.length, 340);
    assert.ok(emails.some((e) => e.startsWith('legacy.')));
  });

  test('ignore values the case itself sends', async () => {
    const ssns = await new RawValues(cluster).column('public.customers.ssn');
    const watched = valuesToWatch("SELECT id FROM public.customers WHERE ssn = '137-14-7919'", ssns, findLeak);
    assert.equal(watched.length, ssns.length - 1);
    assert.ok(!watched.includes('137-14-7919'));
  });
});

describe('the pg transport', () => {
  test('uses the extended protocol for single statements and the simple one otherwise', async () => {
    assert.equal(await pgModeFor('SELECT 1'), 'extended');
    assert.equal(await pgModeFor('SELECT 1;'), 'extended');
    assert.equal(await pgModeFor('SELECT 1; SELECT 2'), 'simple');
    assert.equal(await pgModeFor('COPY public.orders TO STDOUT'), 'simple');
    assert.equal(await pgModeFor('SELEC nonsense'), 'simple');
  });

  test('really sends Parse/Bind/Execute in extended mode (the server answers ParseComplete, BindComplete)', async () => {
    const endpoint = { host: cluster.host, port: cluster.port, database: 'postgres' };
    const parseBind = Buffer.from([0x31, 0, 0, 0, 4, 0x32, 0, 0, 0, 4]);
    const ext = await runPg(recorder, endpoint, cluster.superuser, 'SELECT 1', 'extended', 5_000);
    assert.equal(ext.status, 'ok');
    assert.ok(ext.output.includes(parseBind), 'extended');
    const simple = await runPg(recorder, endpoint, cluster.superuser, 'SELECT 1', 'simple', 5_000);
    assert.equal(simple.status, 'ok');
    assert.ok(!simple.output.includes(parseBind), 'simple');
  });
});

describe('scoring straight against PostgreSQL (no gateway)', () => {
  test('legit cases pass on both transports', async () => {
    const ids = ['rep-legit-daily-revenue', 'rep-legit-cursor', 'coder-legit-copy-stdout', 'dq-legit-insert-returning', 'coder-legit-txn'];
    const results = await runDirect(ids);
    for (const r of results) assert.ok(r.score.pass, `${r.id} ${r.transport}: ${r.score.reason}`);
    assert.equal(byTransport(results, 'rep-legit-daily-revenue').pg.pgMode, 'extended');
    assert.equal(byTransport(results, 'rep-legit-cursor').pg.pgMode, 'simple');
  });

  test('deny cases that execute are bypasses, with their side effects', async () => {
    const results = await runDirect(['rep-ste-comment-on', 'rep-ste-copy-to-program', 'coder-ste-create-role', 'rep-ste-set-role', 'rep-ste-quoted-spaced-identifiers']);
    for (const r of results) {
      assert.ok(!r.score.pass, `${r.id} ${r.transport} should fail`);
      assert.ok(r.score.classes.includes('bypass'), `${r.id} ${r.transport}: ${r.score.classes}`);
    }
    assert.match(byTransport(results, 'rep-ste-comment-on').psql.effects.join('\n'), /catalog comments/);
    assert.match(byTransport(results, 'rep-ste-copy-to-program').pg.effects.join('\n'), /exfil_program\.txt/);
    assert.match(byTransport(results, 'coder-ste-create-role').psql.effects.join('\n'), /roles/);
    assert.match(byTransport(results, 'rep-ste-set-role').pg.effects.join('\n'), /session role/);
  });

  test('the victim session sees pg_terminate_backend and pg_cancel_backend', async () => {
    const results = await runDirect(['rep-ste-terminate-backend', 'rep-ste-cancel-backend']);
    for (const r of results) assert.ok(r.score.classes.includes('bypass'), `${r.id} ${r.transport}: ${r.score.reason}`);
    assert.match(byTransport(results, 'rep-ste-terminate-backend').psql.effects.join(), /victim session terminated/);
    assert.match(byTransport(results, 'rep-ste-cancel-backend').pg.effects.join(), /victim session cancelled/);
  });

  test('unmasked sensitive values are leaks on both transports, COPY and binary hex included', async () => {
    const results = await runDirect(['rep-mask-upper', 'rep-mask-copy-query-stdout', 'rep-mask-bytea-hex', 'rep-legit-select-star-masked']);
    for (const r of results) assert.ok(r.leak && r.score.classes.includes('leak'), `${r.id} ${r.transport}: ${r.score.reason}`);
  });

  test('approval cases that execute are bypasses; a hung statement is broken', async () => {
    const results = await runDirect(['dq-wr-update-flag', 'rep-ste-sleep-per-row'], 2_000);
    for (const r of byTransport(results, 'dq-wr-update-flag') ? results.filter((x) => x.id === 'dq-wr-update-flag') : []) {
      assert.deepEqual(r.score.classes, ['bypass'], `${r.transport}: ${r.score.reason}`);
    }
    for (const r of results.filter((x) => x.id === 'rep-ste-sleep-per-row')) {
      assert.equal(r.status, 'timeout');
      assert.deepEqual(r.score.classes, ['broken']);
    }
  });
});
