import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageFramer, defaultFrameLimits, type RawMessage } from '../protocol/framer.ts';
import { encodeFrontend, encodeParse, encodeQuery, encodeSync } from '../protocol/frontend.ts';
import { ProtocolError } from '../protocol/types.ts';
import { RepeatDecoder } from './repeat-decoder.ts';

function frames(...buffers: Buffer[]): RawMessage[] {
  const framer = new MessageFramer(defaultFrameLimits, 'frontend');
  framer.startupMode = false;
  framer.push(Buffer.concat(buffers));
  const out: RawMessage[] = [];
  for (let m = framer.next(); m; m = framer.next()) out.push(m);
  return out;
}

test('the same Parse or Query bytes give back the message decoded before, wherever they lie in the chunk', () => {
  const d = new RepeatDecoder();
  const [p1, s, q1] = frames(encodeParse('', 'SELECT $1::int'), encodeSync(), encodeQuery('SELECT 1'));
  const [, q2, p2] = frames(encodeSync(), encodeQuery('SELECT 1'), encodeParse('', 'SELECT $1::int'));
  const parse = d.decode(p1);
  const query = d.decode(q1);
  assert.deepEqual(parse, { type: 'Parse', name: '', sql: 'SELECT $1::int', paramTypes: [] });
  assert.equal(d.decode(p2), parse);
  assert.equal(d.decode(q2), query);
  assert.deepEqual(d.decode(s), { type: 'Sync' });
});

test('different bytes of the same length are decoded afresh', () => {
  const d = new RepeatDecoder();
  const [a, b, a2] = frames(encodeQuery('SELECT 1'), encodeQuery('SELECT 2'), encodeQuery('SELECT 1'));
  assert.equal((d.decode(a) as { sql: string }).sql, 'SELECT 1');
  assert.equal((d.decode(b) as { sql: string }).sql, 'SELECT 2');
  assert.equal((d.decode(a2) as { sql: string }).sql, 'SELECT 1');
  const [n1, n2] = frames(encodeParse('s1', 'SELECT 1'), encodeParse('s2', 'SELECT 1'));
  assert.equal((d.decode(n1) as { name: string }).name, 's1');
  assert.equal((d.decode(n2) as { name: string }).name, 's2');
});

test('a malformed message still fails after a good one, and is not remembered', () => {
  const d = new RepeatDecoder();
  const good = encodeQuery('SELECT 1');
  const bad = Buffer.from(good);
  bad[bad.length - 1] = 0x41; // no NUL terminator
  const [g, b1, b2] = frames(good, bad, bad);
  d.decode(g);
  assert.throws(() => d.decode(b1), ProtocolError);
  assert.throws(() => d.decode(b2), ProtocolError);
});

test('long statements are decoded every time and still come out right', () => {
  const d = new RepeatDecoder();
  const sql = `SELECT '${'x'.repeat(10_000)}'`;
  const [a, b] = frames(encodeQuery(sql), encodeQuery(sql));
  const first = d.decode(a);
  const second = d.decode(b);
  assert.notEqual(first, second);
  assert.deepEqual(first, second);
  assert.equal((second as { sql: string }).sql, sql);
});

test('Describe and Execute repeat like Parse; a changed kind, name or row limit is decoded afresh, and Sync is always the one message', () => {
  const d = new RepeatDecoder();
  const describe = (kind: 'S' | 'P', name: string) => encodeFrontend({ type: 'Describe', kind, name });
  const execute = (portal: string, maxRows: number) => encodeFrontend({ type: 'Execute', portal, maxRows });
  const batch = [describe('P', ''), execute('', 0), encodeSync()];
  const [d1, e1, s1] = frames(...batch);
  const [d2, e2, s2] = frames(...batch);
  const first = [d.decode(d1), d.decode(e1), d.decode(s1)];
  assert.deepEqual(first, [{ type: 'Describe', kind: 'P', name: '' }, { type: 'Execute', portal: '', maxRows: 0 }, { type: 'Sync' }]);
  assert.equal(d.decode(d2), first[0]);
  assert.equal(d.decode(e2), first[1]);
  assert.equal(d.decode(s2), first[2]);
  const changed = frames(describe('S', ''), describe('P', 'a'), describe('P', 'b'), execute('', 10), execute('', 11), execute('b', 11));
  assert.deepEqual(changed.map((m) => d.decode(m)), [
    { type: 'Describe', kind: 'S', name: '' }, { type: 'Describe', kind: 'P', name: 'a' }, { type: 'Describe', kind: 'P', name: 'b' },
    { type: 'Execute', portal: '', maxRows: 10 }, { type: 'Execute', portal: '', maxRows: 11 }, { type: 'Execute', portal: 'b', maxRows: 11 },
  ]);
  // A Sync with a body, and an Execute with a negative row limit after a good one of the same length, still fail.
  const [badSync] = frames(Buffer.from([0x53, 0, 0, 0, 5, 0x41])); // length 5: one byte of body
  assert.throws(() => d.decode(badSync), ProtocolError);
  const good = execute('', 7);
  const bad = Buffer.from(good);
  bad.writeInt32BE(-7, bad.length - 4);
  const [g, b] = frames(good, bad);
  d.decode(g);
  assert.throws(() => d.decode(b), ProtocolError);
});
