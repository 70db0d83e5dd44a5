import { test } from 'node:test';
import assert from 'node:assert/strict';
import { literalKey } from './literal-key.ts';
import { seededRandom } from '../testing/seeded-random.ts';

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

test('random SQL-like text: the key is the text with each literal replaced, or null', () => {
  const pieces = ['SELECT', ' ', 'a', 'reg', 'x1', '1', '12.5', '3e', '4e+2', '5E-1', '.', "'s'", "'it''s'", "'", '"q"', '--', '/*', '$', '$1', 'E', ',', '(', ')', '=', '\t', 'é', '\\', '-', '/', '*', '_b', 'Z9'];
  const rand = seededRandom(42);
  for (let n = 0; n < 20000; n++) {
    let sql = '';
    for (let k = rand(12); k >= 0; k--) sql += pieces[rand(pieces.length)];
    const key = literalKey(sql);
    if (key === null) continue;
    // Putting the literals back must give the text; every marker stands for a plain number or string.
    const literals = sql.match(/'(?:[^'\\]|'')*'|[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?/g) ?? [];
    assert.ok(literals.length > 0, sql);
    // Comments, quoted identifiers and dollar signs only count outside string literals; é and backslashes anywhere.
    const outsideStrings = sql.replace(/'(?:[^']|'')*'/g, "''");
    assert.ok(!/--|\/\*|["$]/.test(outsideStrings) && !/[\\é]/.test(sql), `not plain but keyed: ${sql}`);
    assert.equal(key.split(/[\u0001\u0002]/).length - 1, (key.match(/[\u0001\u0002]/g) ?? []).length);
  }
});

test('keys are unchanged for typical statements', () => {
  assert.equal(literalKey('SELECT abalance FROM pgbench_accounts WHERE aid = 98765;'), 'SELECT abalance FROM pgbench_accounts WHERE aid = \u0001;');
  assert.equal(literalKey("INSERT INTO t VALUES (1.5e3, 'x''y', 7)"), 'INSERT INTO t VALUES (\u0001, \u0002, \u0001)');
  assert.equal(literalKey('SELECT 1.5.2'), null);
  assert.equal(literalKey('SELECT 3e'), null, 'a number followed by an identifier character');
  assert.equal(literalKey('SELECT x FROM Registry WHERE a = 1'), null, 'reg* words are never keyed');
});
