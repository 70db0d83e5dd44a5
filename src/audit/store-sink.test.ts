// The audit store sink and source against a throwaway cluster: the shared sink contract, failure and
// recovery, two writers (replicas) in one table, the store source giving the same answers as the
// file source, chain verification, the factory, and the CLI reading with --store / --config.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { sharedCluster, type Cluster } from '../../test/harness/cluster.ts';
import { migrate } from '../store/postgres-schema.ts';
import { createAuditSink } from './factory.ts';
import { FanoutSink } from './fanout-sink.ts';
import { FileAuditSink } from './file-sink.ts';
import { FileAuditSource, listSessions, sessionTimeline, type AuditQuery } from './reader.ts';
import { sinkContract, statementEvent } from './sink-contract.ts';
import { StoreAuditSink } from './store-sink.ts';
import { StoreAuditSource, verifyStoreChains } from './store-source.ts';
import { SESSION_A, SESSION_B, T0, tempDir, waitFor } from './test-support.ts';
import type { AuditEvent, AuditRecord, AuditSink } from './types.ts';

const DB = `audit_${process.pid}`;
let cluster: Cluster;
let url: string;
let reader: pg.Client;

before(async () => {
  cluster = await sharedCluster();
  await cluster.query(`CREATE DATABASE ${DB}`);
  url = cluster.url(DB);
  reader = new pg.Client({ connectionString: url });
  await reader.connect();
});

after(async () => {
  await reader?.end();
  await cluster?.stop();
});

/** The lines a sink wrote, in seq order, read on a connection of its own (already open, so the SELECT goes out at once). */
async function linesOf(sink: AuditSink): Promise<string[]> {
  const r = await reader.query<{ line: string }>('SELECT line FROM scopegate.audit_events WHERE chain = $1 ORDER BY seq', [(sink as StoreAuditSink).chainId]);
  return r.rows.map((x) => x.line);
}

sinkContract('store (postgres)', () => new StoreAuditSink({ url }), linesOf);

const at = (ms: number): string => new Date(T0 + ms).toISOString();
const a = { session: SESSION_A, identity: 'reporter', upstream: 'corpus' };
const b = { session: SESSION_B, identity: 'writer', upstream: 'corpus' };
/** The reader fixture (test-support.ts), split between two replicas. */
const replicaA: AuditEvent[] = [
  { type: 'session_start', at: at(0), ...a, groups: ['reporting'], client: '127.0.0.1:50000', tls: false, method: 'token' },
  { type: 'statement', at: at(13), ...a, sql: 'SELECT * FROM public.orders', verdict: 'allow', durationMs: 3, rows: 10, tag: 'SELECT 10' },
  { type: 'statement', at: at(500), ...a, sql: 'DELETE FROM public.orders', verdict: 'deny', reasons: ['guardrail unfiltered-write: DELETE without a WHERE clause'] },
  { type: 'statement', at: at(1001), ...a, sql: 'SELECT 1/0', verdict: 'allow', durationMs: 1, rows: 0, error: '22012' },
  { type: 'statement', at: at(2000), ...a, sql: 'UPDATE analytics.Quality_Flags SET ok = true WHERE id = 7', verdict: 'review', review: 'r-1', reasons: ['review update analytics.quality_flags'] },
  { type: 'review_requested', at: at(2000), id: 'r-1', ...a, sql: 'UPDATE analytics.Quality_Flags SET ok = true WHERE id = 7', reasons: ['review update analytics.quality_flags'], mode: 'hold', expiresAt: at(302_000) },
];
const replicaB: AuditEvent[] = [
  // decided on the other replica
  { type: 'review_decided', at: at(4000), id: 'r-1', identity: 'reporter', upstream: 'corpus', status: 'denied', by: 'alice', reason: 'not today' },
  { type: 'auth_failed', at: at(1_800_000), client: '10.0.0.9:1234', user: 'mallory', database: 'corpus', reason: 'unknown token' },
  { type: 'policy_reloaded', at: at(3_000_000), source: 'scopegate.yaml', ok: true, version: 'c'.repeat(64), policies: 2, identities: 2 },
  { type: 'session_start', at: at(3_600_000), ...b, groups: ['writers'], client: '10.0.0.2:40000', tls: true, method: 'token' },
  { type: 'statement', at: at(3_600_250), ...b, sql: 'INSERT INTO analytics.quality_flags VALUES ($1, $2)', params: ['7', '[redacted]'], verdict: 'allow', durationMs: 2, rows: 1, tag: 'INSERT 0 1', protocol: 'extended' },
];
const sessionEndA: AuditEvent = { type: 'session_end', at: at(5000), ...a, reason: 'client terminated', statements: 2, durationMs: 5000 };

async function collect(source: { records(q?: AuditQuery): AsyncIterable<AuditRecord> }, q: AuditQuery = {}): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  for await (const r of source.records(q)) {
    const { v: _v, seq: _s, prev: _p, hash: _h, ...event } = r;
    out.push(event as AuditEvent);
  }
  return out;
}

describe('audit store sink and source', () => {
  it('fails while the store refuses writes (unhealthy, flush rejects), keeps the events, and recovers with an audit_recovered event', async () => {
    // A least-privilege writer: INSERT and SELECT (ON CONFLICT needs it) on audit_events, the sequence, and reading schema_migrations.
    const pw = 'w-' + process.pid;
    await cluster.query(`CREATE ROLE audit_writer LOGIN PASSWORD '${pw}'`);
    const pool = new pg.Pool({ connectionString: url });
    await migrate(pool);
    await pool.end();
    await cluster.query('GRANT USAGE ON SCHEMA scopegate TO audit_writer; GRANT SELECT ON scopegate.schema_migrations TO audit_writer', DB);
    const sink = new StoreAuditSink({ url: cluster.url(DB, 'audit_writer', pw), backoffMs: 50, maxBackoffMs: 100 });
    for (let i = 0; i < 5; i++) sink.write(statementEvent(i));
    await assert.rejects(sink.flush(), /audit store: cannot write .*permission denied/);
    assert.equal(sink.healthy(), false);
    assert.equal(sink.stats().backlog, 5);
    await cluster.query('GRANT INSERT, SELECT ON scopegate.audit_events TO audit_writer; GRANT USAGE ON SEQUENCE scopegate.audit_events_id_seq TO audit_writer', DB);
    await waitFor(() => sink.healthy(), 5000);
    await sink.flush();
    const lines = (await linesOf(sink)).map((l) => JSON.parse(l) as AuditRecord);
    assert.deepEqual(lines.slice(0, 5).map((r) => r.type === 'statement' && r.sql), ['SELECT 0', 'SELECT 1', 'SELECT 2', 'SELECT 3', 'SELECT 4']);
    assert.equal(lines[5]?.type, 'audit_recovered');
    assert.equal(lines[5]?.type === 'audit_recovered' && lines[5].problem, 'write_failed');
    await sink.close();
  });

  it('keeps a NUL character in the line (the searchable JSONB copy gets U+FFFD)', async () => {
    const sink = new StoreAuditSink({ url });
    sink.write(statementEvent(0, { sql: 'SELECT \u0000 1' }));
    await sink.flush();
    const [line] = await linesOf(sink);
    assert.equal((JSON.parse(line) as { sql: string }).sql, 'SELECT \u0000 1');
    const r = await reader.query(`SELECT event->>'sql' AS sql FROM scopegate.audit_events WHERE chain = $1`, [sink.chainId]);
    assert.equal(r.rows[0].sql, 'SELECT \ufffd 1');
    await sink.close();
  });

  describe('two replicas writing, read back through the store source', () => {
    const db = `audit_src_${process.pid}`;
    let storeUrl: string;
    let source: StoreAuditSource;
    const file = join(tempDir(), 'audit.jsonl');
    let files: FileAuditSource;

    before(async () => {
      await cluster.query(`CREATE DATABASE ${db}`);
      storeUrl = cluster.url(db);
      // Replica A writes to a file and the store (one chain, as the gateway's fanout does); replica B to the store only.
      const fileSink = new FileAuditSink({ path: file });
      const sinkA = new FanoutSink([fileSink, new StoreAuditSink({ url: storeUrl, chain: 'replica-a' })]);
      const sinkB = new StoreAuditSink({ url: storeUrl, chain: 'replica-b' });
      const fileOnlyB = new FileAuditSink({ path: join(tempDir(), 'b.jsonl') });
      for (const e of replicaA) sinkA.write(e);
      await sinkA.flush();
      for (const e of replicaB) sinkB.write(e);
      await sinkB.flush();
      sinkA.write(sessionEndA);
      await Promise.all([sinkA.close(), sinkB.close(), fileOnlyB.close()]);
      source = new StoreAuditSource({ url: storeUrl, pageSize: 4 });
      files = new FileAuditSource(file);
    });

    after(async () => {
      await source?.close();
      await cluster.disconnect(db);
      await cluster.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    });

    it('reads every replica\'s records in the order they were written, across pages', async () => {
      const all = await collect(source);
      assert.deepEqual(all, [...replicaA, ...replicaB, sessionEndA]);
      const fromFile = await collect(files);
      assert.deepEqual(fromFile, [...replicaA, sessionEndA], 'the file holds what replica A wrote, the same records');
    });

    it('answers searches like the file source does', async () => {
      const queries: AuditQuery[] = [
        { identity: 'reporter' }, { identity: 'mallory' }, { upstream: 'corpus' }, { verdict: 'deny' }, { since: T0 + 3_000_000 },
        { since: T0 + 500, until: T0 + 1001 }, { text: 'QUALITY_flags' }, { text: 'without a where' }, { text: '50%_off' },
        { session: SESSION_B, types: ['statement'] }, { types: ['review_requested', 'review_decided'] }, { anyText: ['aaaa1111'] },
      ];
      const everything = [...replicaA, ...replicaB, sessionEndA];
      const { matches } = await import('./reader.ts');
      for (const q of queries) {
        const expected = everything.filter((e) => matches({ ...e, v: 1, seq: 1, prev: '', hash: '' } as AuditRecord, q));
        const got = await collect(source, q);
        if (q.anyText) assert.ok(got.length > 0 && got.every((e) => JSON.stringify(e).includes('aaaa1111')), 'anyText');
        else assert.deepEqual(got, expected, JSON.stringify(q));
      }
      assert.equal((await collect(source, { identity: 'reporter' })).length, 8);
      assert.deepEqual((await collect(source, { identity: 'mallory' })).map((e) => e.type), ['auth_failed']);
    });

    it('lists sessions and replays one across replicas (the decision came from the other one)', async () => {
      const sessions = await listSessions(source);
      assert.deepEqual(sessions.map((s) => [s.session, s.statements, s.denials, s.end]), [
        [SESSION_A, 4, 1, at(5000)],
        [SESSION_B, 1, 0, undefined],
      ]);
      const t = await sessionTimeline(source, 'aaaa1111');
      assert.ok(t);
      assert.deepEqual(t.entries.map((e) => e.record.type), ['session_start', 'statement', 'statement', 'statement', 'statement', 'review_requested', 'review_decided', 'session_end']);
    });

    it('verifies each chain, and finds an edited line and a missing record', async () => {
      let checks = await verifyStoreChains(source);
      assert.deepEqual(checks.map((c) => [c.chain, c.events, c.bad]), [['replica-a', 7, null], ['replica-b', 5, null]]);
      await cluster.query(`UPDATE scopegate.audit_events SET line = replace(line, 'not today', 'approved!') WHERE chain = 'replica-b' AND seq = 1`, db);
      await cluster.query(`DELETE FROM scopegate.audit_events WHERE chain = 'replica-a' AND seq = 3`, db);
      checks = await verifyStoreChains(source);
      assert.deepEqual(checks.map((c) => [c.chain, c.bad?.seq, c.bad?.problem]), [['replica-a', 4, 'gap'], ['replica-b', 1, 'edited']]);
    });

    it('scopegate audit search / sessions list / replay / verify read the store with --store or from --config', async () => {
      const dir = tempDir();
      const config = join(dir, 'scopegate.yaml');
      const { user, password } = cluster.superuser;
      writeFileSync(config, `store: "postgres://${user}@127.0.0.1:${cluster.port}/${db}"\naudit: { store: true }\nupstreams:\n  corpus: { url: "postgres://gateway@127.0.0.1:5432/corpus" }\n`);
      const env = { SCOPEGATE_STORE_PASSWORD: password };
      const search = await cli(['audit', 'search', '--store', storeUrl, '--identity', 'mallory'], {});
      assert.equal(search.code, 0, search.stderr);
      assert.match(search.stdout, /auth_failed +mallory@corpus from 10\.0\.0\.9:1234: unknown token/);
      assert.match(search.stderr, /^1 event/m);
      const sessions = await cli(['sessions', 'list', '--config', config, '--json'], env);
      assert.equal(sessions.code, 0, sessions.stderr);
      assert.deepEqual(sessions.stdout.trim().split('\n').map((l) => JSON.parse(l).session), [SESSION_A, SESSION_B]);
      const replay = await cli(['replay', 'aaaa1111', '--config', config], env);
      assert.equal(replay.code, 0, replay.stderr);
      assert.match(replay.stdout, /review r-1 denied by alice: not today|review_decided/);
      const verify = await cli(['audit', 'verify', '--config', config], env);
      assert.equal(verify.code, 1, 'the previous test tampered with the store');
      assert.match(verify.stdout, /BROKEN in replica-a at seq 4: gap/);
    });
  });

  it('createAuditSink adds the store destination for audit.store: true with a postgres:// store', async () => {
    const base = { stdout: false, rotate_bytes: 1024, keep: 2, store: true, fail_closed: true, ack_after_write: false };
    const sink = createAuditSink(base, { baseDir: '.', env: {}, store: url });
    assert.deepEqual(Object.keys(sink.stats()), ['store']);
    sink.write(statementEvent(1));
    await sink.flush();
    await sink.close();
    assert.throws(() => createAuditSink(base, { baseDir: '.', env: {}, store: 'embedded' }), /needs `store:` to be a postgres:\/\/ URL/);
    const warnings: string[] = [];
    createAuditSink(base, { baseDir: '.', env: {}, warn: (m) => warnings.push(m) });
    assert.match(warnings[0], /store URL was not passed/);
  });
});

const bin = fileURLToPath(new URL('../../bin/scopegate.js', import.meta.url));

function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c));
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
