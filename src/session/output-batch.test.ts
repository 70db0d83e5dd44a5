import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OutputBatch } from './output-batch.ts';

test('adjacent slices of one chunk leave as one part; others keep their order', () => {
  const chunk = Buffer.from('aaaabbbbccccdddd');
  const other = Buffer.from('XYZ');
  const batch = new OutputBatch();
  batch.push(chunk.subarray(0, 4));
  batch.push(chunk.subarray(4, 8));
  batch.push(other);
  batch.push(chunk.subarray(8, 12));
  batch.push(chunk.subarray(12, 16));
  const parts = batch.take();
  assert.deepEqual(parts.map(String), ['aaaabbbb', 'XYZ', 'ccccdddd']);
  assert.equal(parts[0].buffer, chunk.buffer, 'merged without copying');
  assert.ok(batch.empty);
  assert.deepEqual(batch.take(), []);
});

test('a gap inside one chunk (a message that was replaced) is not merged over', () => {
  const chunk = Buffer.from('0123456789');
  const batch = new OutputBatch();
  batch.push(chunk.subarray(0, 3));
  batch.push(chunk.subarray(5, 7));
  batch.push(chunk.subarray(7, 10));
  assert.deepEqual(batch.take().map(String), ['012', '56789']);
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
