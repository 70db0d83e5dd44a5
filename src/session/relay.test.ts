import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rowsOf } from './relay.ts';

test('rowsOf reads the count after the last space of a command tag, and nothing else', () => {
  assert.equal(rowsOf('SELECT 5'), 5);
  assert.equal(rowsOf('INSERT 0 12'), 12);
  assert.equal(rowsOf('COPY 1000000'), 1_000_000);
  assert.equal(rowsOf('SELECT 0'), 0);
  for (const tag of [undefined, '', 'BEGIN', 'SELECT ', '5', 'SELECT 5x', 'SELECT x5', 'CREATE TABLE']) assert.equal(rowsOf(tag), undefined, String(tag));
});
