import { test } from 'node:test';
import assert from 'node:assert/strict';
import { literalKey } from './literal-key.ts';

test('queries that differ only in literal values share a key', () => {
  assert.equal(literalKey('SELECT abalance FROM pgbench_accounts WHERE aid = 123;'), literalKey('SELECT abalance FROM pgbench_accounts WHERE aid = 98765;'));
  assert.equal(literalKey("SELECT * FROM t WHERE a = 'x' AND b = 1.5e3"), literalKey("SELECT * FROM t WHERE a = 'it''s' AND b = 2"));
});

test('different structure gives different keys', () => {
  assert.notEqual(literalKey('SELECT a FROM t WHERE id = 1'), literalKey('SELECT b FROM t WHERE id = 1'));
  assert.notEqual(literalKey("SELECT 'a' FROM t"), literalKey('SELECT 1 FROM t'));
});

test('anything beyond plain SQL has no key', () => {
  for (const sql of [
    'SELECT 1 -- c', 'SELECT /* c */ 1', 'SELECT "Id" FROM t WHERE x = 1', "SELECT E'\\\\' , 1", "SELECT $$x$$, 1",
    "SELECT U&'x', 1", "SELECT 'a\\b'", "SELECT 'é'", "SELECT 'x'::regclass", 'SELECT 1x', "SELECT 'unterminated",
    'SELECT a FROM t', // no literal: the exact-text cache serves it
  ]) {
    assert.equal(literalKey(sql), null, sql);
  }
});
