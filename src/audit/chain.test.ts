import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLine, HashChain, joinRecords, serialise, SealedRecord } from './chain.ts';
import type { AuditEvent } from './types.ts';
import { RanStatementEvent } from './ran-statement.ts';
import { createHash } from 'node:crypto';

/** What the body was defined as before serialise existed: one merged object through JSON.stringify. */
function reference(event: object, seq: number, prev: string): string {
  const fields: Record<string, unknown> = { v: 1, seq, at: (event as { at?: string }).at, type: (event as { type?: string }).type };
  Object.assign(fields, event);
  fields.prev = prev;
  return JSON.stringify(fields);
}

const awkward = ['plain', 'quote " and \\ backslash', 'line\nbreak\ttab\u0001', 'ünïcødé ✓ 𝄞', 'lone \ud800 surrogate', '', '</script>'];

test('serialise writes exactly what JSON.stringify of the merged record writes', () => {
  const numbers = [0, -0, 1.5, 0.41, 1e21, -3, NaN, Infinity, 2 ** 53];
  let n = 0;
  for (const s of awkward) {
    for (const num of numbers) {
      const event = {
        type: 'statement', session: s, identity: 'bench', sql: `SELECT '${s}'`, verdict: 'allow', masked: n % 2 ? [s, 'x.y'] : undefined,
        durationMs: num, rows: n, tag: undefined, error: null, ok: n % 3 === 0, result: { columns: ['a'], rows: [[s, null]] }, at: '2026-11-24T00:00:00.000Z',
      };
      assert.equal(serialise(event as unknown as AuditEvent, ++n, 'p'.repeat(64)), reference(event, n, 'p'.repeat(64)));
    }
  }
});

test('sealed lines check out, and the chain links them', () => {
  const chain = new HashChain();
  const a = chain.seal({ type: 'policy_reloaded', at: '2026-11-24T00:00:00.000Z', outcome: 'ok' } as unknown as AuditEvent);
  const b = chain.seal({ type: 'auth_failed', at: '2026-11-24T00:00:01.000Z', reason: awkward.join('|') } as unknown as AuditEvent);
  for (const r of [a, b]) assert.equal(checkLine(r.line).ok, true);
  const second = checkLine(b.line);
  assert.ok(second.ok && second.record.prev === a.hash && second.record.seq === 2);
  assert.ok(b.line.startsWith('{"v":1,"seq":2,"at":"2026-11-24T00:00:01.000Z","type":"auth_failed",'));
});

test('a sealed record is its body plus the hash member, in UTF-8 with a newline, whatever the text and length', () => {
  const chain = new HashChain();
  let prev = '0'.repeat(64);
  const texts = [...awkward, 'é'.repeat(20_000), '𝄞'.repeat(9_000), 'x'.repeat(70_000), 'short again'];
  texts.forEach((sql, i) => {
    const event = { type: 'statement', session: 's', sql, rows: i, at: '2026-01-01T00:00:00.000Z' } as unknown as AuditEvent;
    const record = chain.seal(event);
    const body = reference(event, i + 1, prev);
    const hash = createHash('sha256').update(body, 'utf8').digest('hex');
    assert.equal(record.hash, hash, `hash of record ${i}`);
    assert.deepEqual(record.bytes, Buffer.from(`${body.slice(0, -1)},"hash":"${hash}"}\n`, 'utf8'), `bytes of record ${i}`);
    assert.equal(record.line, `${body.slice(0, -1)},"hash":"${hash}"}`);
    assert.equal(checkLine(record.line).ok, true);
    prev = hash;
  });
});

test('a ran-statement event is written member by member exactly as the enumerated plain object would be', () => {
  const numbers = [0, -0, 1.5, 3, NaN, Infinity, 2 ** 53];
  let n = 0;
  for (const s of awkward) {
    for (const num of numbers) {
      const event = new RanStatementEvent(
        '2026-11-24T00:00:00.000Z', s, 'bench', n % 2 ? s : 'db', `SELECT '${s}'`, 'abcdef0123456789',
        n % 3 ? [s, 'x.y'] : undefined, num, n, n % 2 ? undefined : `SELECT ${n}`, n % 5 ? undefined : s,
        n % 4 ? undefined : { columns: ['a'], rows: [[s, null]] },
      );
      const plain = { ...event } as unknown as AuditEvent;
      assert.equal(Object.getPrototypeOf(plain), Object.prototype);
      ++n;
      assert.equal(serialise(event, n, 'p'.repeat(64)), serialise(plain, n, 'p'.repeat(64)));
      assert.equal(serialise(event, n, 'p'.repeat(64)), reference(event, n, 'p'.repeat(64)));
    }
  }
});

test('members remembered between records (the time, session members) never leak into a record that differs', () => {
  const chain = new HashChain();
  let prev = '0'.repeat(64);
  const ats = ['2026-11-24T00:00:00.000Z', '2026-11-24T00:00:00.000Z', '2026-11-24T00:00:00.001Z'];
  const variants: [string, string, string[] | undefined][] = [
    ['SELECT 1', 'f1', undefined], ['SELECT 1', 'f1', undefined], ['SELECT 1', 'f2', undefined], ['SELECT 1', 'f2', ['t.a']],
    ['SELECT 1', 'f2', ['t.a']], ['SELECT 1', 'f2', ['t.b']], ['SELECT 1', 'f2', ['t.a', 't.b']], ['SELECT "q"', 'f2', undefined],
    ['SELECT 1', 'f1', undefined],
  ];
  let n = 0;
  for (const at of ats) {
    for (const [sql, fingerprint, masked] of variants) {
      // A caller changing its masked list after sealing must not change what was sealed.
      const list = masked ? [...masked] : undefined;
      const event = new RanStatementEvent(at, `s${n % 2}`, 'bench', 'db', sql, fingerprint, list, n, n, 'SELECT 1', undefined, undefined);
      const record = chain.seal(event);
      list?.push('mutated.after');
      const body = reference({ ...event, masked }, ++n, prev);
      assert.equal(record.line, `${body.slice(0, -1)},"hash":"${record.hash}"}`, `record ${n}`);
      assert.equal(checkLine(record.line).ok, true);
      prev = record.hash;
    }
  }
});

test('a statement written again with its masked list changed in place, another fingerprint or another text under its fingerprint, is written as it now is', () => {
  const chain = new HashChain();
  let prev = '0'.repeat(64);
  const list = ['t.a'];
  const runs: [string, string, string[] | undefined, () => void][] = [
    ['SELECT a FROM t', 'f1', list, () => list.push('t.b')],
    ['SELECT a FROM t', 'f1', list, () => (list[0] = 't.c')],
    ['SELECT a FROM t', 'f1', list, () => list.splice(0)],
    ['SELECT a FROM t', 'f1', list, () => {}],
    ['SELECT a FROM t', 'f1', undefined, () => {}],
    ['SELECT a FROM t', 'f2', undefined, () => {}],
    ['SELECT a FROM t', 'f2', undefined, () => {}],
    // One fingerprint, several texts (values written inline): each record carries its own text.
    ['SELECT a FROM t WHERE x = 1', 'f3', undefined, () => {}],
    ['SELECT a FROM t WHERE x = 1', 'f3', undefined, () => {}],
    ['SELECT a FROM t WHERE x = 2', 'f3', undefined, () => {}],
    ['SELECT a FROM t WHERE x = 1', 'f3', undefined, () => {}],
    ['SELECT a FROM t WHERE x = 2', 'f3', undefined, () => {}],
    ['SELECT a FROM t WHERE x = 2', 'f3', ['t.a'], () => {}],
    ['SELECT a FROM t WHERE x = 2', 'f3', undefined, () => {}],
  ];
  let n = 0;
  for (const [sql, fingerprint, masked, change] of runs) {
    const event = new RanStatementEvent('2026-11-24T00:00:00.000Z', 's', 'bench', 'db', sql, fingerprint, masked, 1, 1, 'SELECT 1', undefined, undefined);
    const record = chain.seal(event);
    const body = reference({ ...event, masked: masked && [...masked] }, ++n, prev);
    assert.equal(record.line, `${body.slice(0, -1)},"hash":"${record.hash}"}`, `record ${n}`);
    change();
    prev = record.hash;
  }
});

test('records sealed into shared slabs keep their bytes, and a batch of them joins into exactly their lines', () => {
  const chain = new HashChain();
  const sealed: { record: SealedRecord; copy: Buffer }[] = [];
  // Enough records to fill several slabs, with long ones that outgrow a slab midway through a record.
  for (let i = 0; i < 1500; i++) {
    const sql = i % 97 === 0 ? `SELECT '${'x'.repeat(30_000 + i)}'` : i % 89 === 0 ? 'é'.repeat(40_000) : `SELECT ${i}`;
    const record = chain.seal({ type: 'statement', session: 's', sql, rows: i, at: '2026-01-01T00:00:00.000Z' } as unknown as AuditEvent);
    sealed.push({ record, copy: Buffer.from(record.bytes) });
  }
  for (const [i, { record, copy }] of sealed.entries()) {
    assert.deepEqual(record.bytes, copy, `record ${i} was overwritten by a later one`);
    assert.equal(checkLine(record.line).ok, true);
  }
  for (const [from, to] of [[0, 1], [0, 45], [3, 400], [90, 100], [0, 1500]]) {
    const batch = sealed.slice(from, to).map((s) => s.record);
    assert.deepEqual(joinRecords(batch), Buffer.concat(batch.map((r) => r.bytes)), `batch ${from}..${to}`);
  }
  // Records from anywhere, in any order, are joined by copying.
  const mixed = [sealed[7].record, sealed[3].record, new SealedRecord(1, 'h', Buffer.from('{"other":1}\n'))];
  assert.deepEqual(joinRecords(mixed), Buffer.concat(mixed.map((r) => r.bytes)));
  assert.equal(joinRecords([]).length, 0);
});
