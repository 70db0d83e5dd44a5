import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { OutputBatch } from './output-batch.ts';

test('adjacent ranges of one chunk leave as one part; others keep their order', () => {
  const chunk = Buffer.from('aaaabbbbccccdddd');
  const other = Buffer.from('XYZ');
  const batch = new OutputBatch();
  batch.pushRange(chunk, 0, 4);
  batch.pushRange(chunk, 4, 8);
  batch.push(other);
  batch.pushRange(chunk, 8, 12);
  batch.pushRange(chunk, 12, 16);
  const parts = batch.take();
  assert.deepEqual(parts.map(String), ['aaaabbbb', 'XYZ', 'ccccdddd']);
  assert.equal(parts[0].buffer, chunk.buffer, 'merged without copying');
  assert.equal(parts[0].byteOffset, chunk.byteOffset);
  assert.equal(parts[2].byteOffset, chunk.byteOffset + 8);
  assert.ok(batch.empty);
  assert.deepEqual(batch.take(), []);
});

test('every message of a chunk, in order, gives back the chunk itself', () => {
  const chunk = Buffer.from('TTTTDDCCZZ');
  const batch = new OutputBatch();
  for (const [a, b] of [[0, 4], [4, 6], [6, 8], [8, 10]]) batch.pushRange(chunk, a, b);
  const parts = batch.take();
  assert.equal(parts.length, 1);
  assert.equal(parts[0], chunk);
});

test('a gap inside one chunk (a message that was replaced) is not merged over', () => {
  const chunk = Buffer.from('0123456789');
  const batch = new OutputBatch();
  batch.pushRange(chunk, 0, 3);
  batch.pushRange(chunk, 5, 7);
  batch.pushRange(chunk, 7, 10);
  assert.deepEqual(batch.take().map(String), ['012', '56789']);
});

test('equal bytes in another buffer are never merged into a range', () => {
  const a = Buffer.from('abcdef');
  const b = Buffer.from('abcdef');
  const batch = new OutputBatch();
  batch.pushRange(a, 0, 3);
  batch.pushRange(b, 3, 6);
  const parts = batch.take();
  assert.equal(parts.length, 2);
  assert.equal(parts[1].buffer, b.buffer);
});

test('a single untouched slice is handed over as the same buffer', () => {
  const chunk = Buffer.from('hello');
  const batch = new OutputBatch();
  assert.ok(batch.empty);
  batch.push(chunk);
  assert.ok(!batch.empty);
  const [only] = batch.take();
  assert.equal(only, chunk);
});

test('flush writes small batches as one buffer and large ones part by part, bytes in order', () => {
  const writes: Buffer[] = [];
  let corked = 0;
  const socket = {
    destroyed: false,
    write: (b: Buffer) => (writes.push(Buffer.from(b)), true),
    cork: () => corked++,
    uncork: () => undefined,
  } as unknown as Socket;
  const batch = new OutputBatch();
  const chunk = Buffer.from('0123456789');
  batch.pushRange(chunk, 0, 4);
  batch.push(Buffer.from('ab'));
  batch.pushRange(chunk, 6, 10);
  assert.equal(batch.flush(socket), true);
  assert.deepEqual(writes.map(String), ['0123ab6789']);
  assert.equal(corked, 0);
  writes.length = 0;
  const big = Buffer.alloc(20_000, 1);
  batch.push(big);
  batch.push(Buffer.from('tail'));
  batch.flush(socket);
  assert.equal(corked, 1);
  assert.deepEqual(Buffer.concat(writes), Buffer.concat([big, Buffer.from('tail')]));
  writes.length = 0;
  const rows = Array.from({ length: 500 }, (_, i) => Buffer.from(`row ${i} `.repeat(10)));
  for (const r of rows) batch.push(r);
  batch.flush(socket);
  assert.equal(corked, 1, 'many small parts: one write, no cork');
  assert.deepEqual(writes, [Buffer.concat(rows)]);
});
