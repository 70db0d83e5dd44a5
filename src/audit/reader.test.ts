import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { resolveAuditFiles } from './files.ts';
import { FileAuditSource, listSessions, parseTime, sessionTimeline } from './reader.ts';
import { SESSION_A, SESSION_B, T0, tempDir, writeFixture } from './test-support.ts';
import type { AuditRecord } from './types.ts';

const path = join(tempDir(), 'audit.jsonl');
const ready = writeFixture(path);

async function search(q: Parameters<FileAuditSource['records']>[0]): Promise<AuditRecord[]> {
  await ready;
  const out: AuditRecord[] = [];
  for await (const r of new FileAuditSource(path).records(q)) out.push(r);
  return out;
}

describe('audit reader', () => {
  it('reads the rotated files oldest first, so records come in seq order', async () => {
    await ready;
    assert.ok(resolveAuditFiles(path).length > 2, 'the fixture spans several files');
    const all = await search({});
    assert.deepEqual(all.map((r) => r.seq), Array.from({ length: 12 }, (_, i) => i + 1));
  });

  it('searches by identity, upstream, verdict, time and text', async () => {
    assert.equal((await search({ identity: 'reporter' })).length, 8);
    assert.deepEqual((await search({ identity: 'mallory' })).map((r) => r.type), ['auth_failed']);
    assert.equal((await search({ upstream: 'corpus' })).length, 11, 'all but the policy reload, which names no upstream');
    const denied = await search({ verdict: 'deny' });
    assert.deepEqual(denied.map((r) => r.type === 'statement' && r.sql), ['DELETE FROM public.orders']);
    const late = await search({ since: T0 + 3_000_000 });
    assert.deepEqual(late.map((r) => r.type), ['policy_reloaded', 'session_start', 'statement']);
    assert.equal((await search({ since: T0 + 500, until: T0 + 1001 })).length, 1);
    const text = await search({ text: 'QUALITY_flags' });
    assert.deepEqual(text.map((r) => r.type), ['statement', 'review_requested', 'statement']);
    assert.equal((await search({ text: 'without a where' })).length, 1, 'text matches reasons too');
    assert.equal((await search({ session: SESSION_B, types: ['statement'] })).length, 1);
  });

  it('lists sessions with their client, start, end, statements and denials', async () => {
    await ready;
    const sessions = await listSessions(new FileAuditSource(path));
    assert.deepEqual(
      sessions.map((s) => [s.session, s.identity, s.upstream, s.client, s.start, s.end, s.statements, s.denials]),
      [
        [SESSION_A, 'reporter', 'corpus', '127.0.0.1:50000', '2024-05-01T12:00:00.000Z', '2024-05-01T12:00:05.000Z', 4, 1],
        [SESSION_B, 'writer', 'corpus', '10.0.0.2:40000', '2024-05-01T13:00:00.000Z', undefined, 1, 0],
      ],
    );
    assert.deepEqual((await listSessions(new FileAuditSource(path), { identity: 'writer' })).map((s) => s.session), [SESSION_B]);
    assert.deepEqual((await listSessions(new FileAuditSource(path), { since: T0 + 60_000 })).map((s) => s.session), [SESSION_B], 'A ended before');
    assert.deepEqual((await listSessions(new FileAuditSource(path), { until: T0 + 60_000 })).map((s) => s.session), [SESSION_A]);
  });

  it('builds one session\'s timeline from a unique id prefix, with offsets from the session start', async () => {
    await ready;
    const t = await sessionTimeline(new FileAuditSource(path), 'aaaa1111');
    assert.ok(t);
    assert.equal(t.summary.session, SESSION_A);
    assert.deepEqual(
      t.entries.map((e) => [e.offsetMs, e.record.type]),
      [[0, 'session_start'], [10, 'statement'], [500, 'statement'], [1000, 'statement'], [2000, 'statement'], [2000, 'review_requested'], [4000, 'review_decided'], [5000, 'session_end']],
    );
    assert.equal(await sessionTimeline(new FileAuditSource(path), 'ffff'), null);
    await assert.rejects(sessionTimeline(new FileAuditSource(path), ''), /ambiguous/);
  });

  it('reads times as ISO or as a duration back from now', () => {
    const now = Date.parse('2024-05-02T00:00:00Z');
    assert.equal(parseTime('1h', now), now - 3_600_000);
    assert.equal(parseTime('30m', now), now - 1_800_000);
    assert.equal(parseTime('2d', now), now - 2 * 86_400_000);
    assert.equal(parseTime('2024-05-01T12:00:00Z', now), T0);
    assert.throws(() => parseTime('yesterday', now), /ISO 8601/);
  });
});
