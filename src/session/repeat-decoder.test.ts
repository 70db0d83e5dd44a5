import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageFramer, defaultFrameLimits, type RawMessage } from '../protocol/framer.ts';
import { encodeParse, encodeQuery, encodeSync } from '../protocol/frontend.ts';
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
