// The contract every audit sink keeps, as one test suite run against each of
// them (file, stdout, webhook, fanout). `makeSink` builds a fresh sink with a
// fresh destination; `readBack(sink)` returns what reached that destination.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkLine, GENESIS } from './chain.ts';
import type { AuditEvent, AuditRecord, AuditSink, StatementEvent } from './types.ts';

export type ReadBack = (sink: AuditSink) => Promise<AuditRecord[] | string[]>;

const clock = Date.parse('2024-05-01T12:00:00.000Z');

export function statementEvent(i: number, extra: Partial<StatementEvent> = {}): StatementEvent {
  return {
    type: 'statement', at: new Date(clock + i).toISOString(), session: 's-1', identity: 'reporter', upstream: 'corpus',
    sql: `SELECT ${i}`, verdict: 'allow', durationMs: 1, rows: 1, tag: 'SELECT 1', ...extra,
  };
}

async function records(readBack: ReadBack, sink: AuditSink): Promise<AuditRecord[]> {
  const got = await readBack(sink);
  return got.map((r) => (typeof r === 'string' ? (JSON.parse(r) as AuditRecord) : r));
}

/** Lines as they should be on the wire: every record's own hash checks out and links to the one before. */
function assertChain(recs: AuditRecord[]): void {
  for (let i = 0; i < recs.length; i++) {
    const r = recs[i];
    assert.equal(r.v, 1);
    const check = checkLine(JSON.stringify(r));
    assert.ok(check.ok, `record ${i} hashes to its hash`);
    if (i === 0) {
      if (r.seq === 1) assert.equal(r.prev, GENESIS);
    } else {
      assert.equal(r.seq, recs[i - 1].seq + 1, `seq ${r.seq} follows ${recs[i - 1].seq}`);
      assert.equal(r.prev, recs[i - 1].hash, `record ${r.seq} links to the one before`);
    }
  }
}

const strip = ({ v: _v, seq: _s, prev: _p, hash: _h, ...event }: AuditRecord): AuditEvent => event as AuditEvent;

export function sinkContract(name: string, makeSink: () => AuditSink | Promise<AuditSink>, readBack: ReadBack): void {
  describe(`audit sink contract: ${name}`, () => {
    it('writes events in order, each sealed into one hash chain, once flush() resolves', async () => {
      const sink = await makeSink();
      const events = Array.from({ length: 25 }, (_, i) => statementEvent(i));
      for (const e of events) sink.write(e);
      await sink.flush();
      const got = await records(readBack, sink);
      assert.deepEqual(got.map(strip), events);
      assertChain(got);
      await sink.close();
    });

    it('does no I/O in write(): nothing arrives before the event loop turns', async () => {
      const sink = await makeSink();
      for (let i = 0; i < 100; i++) sink.write(statementEvent(i));
      assert.equal((await records(readBack, sink)).length, 0);
      await sink.flush();
      assert.equal((await records(readBack, sink)).length, 100);
      await sink.close();
    });

    it('keeps every field of every event type, including newlines, quotes and non-ASCII text', async () => {
      const sink = await makeSink();
      const at = '2024-05-01T12:00:00.000Z';
      const events: AuditEvent[] = [
        { type: 'session_start', at, session: 's-2', identity: 'writer', groups: ['a', 'b'], upstream: 'corpus', client: '127.0.0.1:5000', tls: true, method: 'token' },
        statementEvent(1, {
          session: 's-2', sql: 'SELECT "naïve" FROM t\nWHERE x = \'it\'\'s\' -- ünïcode ✓', params: ['1', null, '[redacted]'], fingerprint: 'abcdef0123456789',
          verdict: 'deny', reasons: ['deny read public.t: rule 1'], masked: ['public.t.email'], review: 'r-1', protocol: 'extended', tag: undefined, error: '42501',
        }),
        { type: 'review_requested', at, id: 'r-1', session: 's-2', identity: 'writer', upstream: 'corpus', sql: 'UPDATE t SET x = 1 WHERE id = 2', reasons: ['review update'], mode: 'hold', expiresAt: at },
        { type: 'review_decided', at, id: 'r-1', identity: 'writer', upstream: 'corpus', status: 'approved', by: 'alice', reason: 'ok' },
        { type: 'grant_requested', at, id: 'g-1', identity: 'writer', upstream: null, scopes: [{ privilege: 'read', objects: ['public.*'] }], durationS: 3600, justification: 'incident 42' },
        { type: 'grant_decided', at, id: 'g-1', identity: 'writer', upstream: null, status: 'active', by: 'alice', expiresAt: at },
        { type: 'policy_reloaded', at, source: 'scopegate.yaml', ok: true, version: 'f'.repeat(64), policies: 3, identities: 2 },
        { type: 'auth_failed', at, client: '10.0.0.1:4000', user: 'mallory', database: 'corpus', reason: 'unknown token' },
        { type: 'session_end', at, session: 's-2', identity: 'writer', upstream: 'corpus', reason: 'client terminated', statements: 1, denials: 1, durationMs: 12 },
      ];
      for (const e of events) sink.write(e);
      await sink.flush();
      const got = await records(readBack, sink);
      // Fields set to undefined are absent in the record, as after a JSON round trip.
      assert.deepEqual(got.map(strip), JSON.parse(JSON.stringify(events)));
      assertChain(got);
      await sink.close();
    });

    it('batches thousands of events without losing or reordering any', async () => {
      const sink = await makeSink();
      const n = 5000;
      for (let i = 0; i < n; i++) {
        sink.write(statementEvent(i));
        if (i % 700 === 0) await new Promise((r) => setImmediate(r));
      }
      await sink.flush();
      const got = await records(readBack, sink);
      assert.equal(got.length, n);
      assert.deepEqual(got.map((r) => (r.type === 'statement' ? r.sql : '')), Array.from({ length: n }, (_, i) => `SELECT ${i}`));
      assertChain(got);
      await sink.close();
    });

    it('is healthy while it works, and flush() with nothing pending resolves at once', async () => {
      const sink = await makeSink();
      assert.equal(sink.healthy(), true);
      await sink.flush();
      sink.write(statementEvent(0));
      assert.equal(sink.healthy(), true);
      await sink.flush();
      await sink.close();
    });

    it('close() writes what is queued; writes after close are ignored and it is no longer healthy', async () => {
      const sink = await makeSink();
      for (let i = 0; i < 10; i++) sink.write(statementEvent(i));
      await sink.close();
      sink.write(statementEvent(10));
      assert.equal(sink.healthy(), false);
      await sink.close();
      assert.equal((await records(readBack, sink)).length, 10);
    });

    it('concurrent flushes each resolve once their own events are written (group commit)', async () => {
      const sink = await makeSink();
      const flushes: Promise<void>[] = [];
      for (let i = 0; i < 50; i++) {
        sink.write(statementEvent(i));
        flushes.push(sink.flush());
      }
      await Promise.all(flushes);
      assert.equal((await records(readBack, sink)).length, 50);
      await sink.close();
    });
  });
}
