import { test } from 'node:test';
import assert from 'node:assert/strict';
import './test-support.ts';
import { isAnalysisError, parseQuery, scanShape } from './parse.ts';

test('rejects a NUL byte before parsing', () => {
  const r = parseQuery('SELECT 1\u0000; DELETE FROM public.orders');
  assert.ok(isAnalysisError(r));
  assert.equal(r.code, '22021');
});

test('rejects oversize SQL', () => {
  const r = parseQuery(`SELECT '${'x'.repeat(100)}'`, { maxLength: 50 });
  assert.ok(isAnalysisError(r));
  assert.equal(r.code, '54000');
});

test('rejects deep nesting and too many statements before parsing', () => {
  const deep = parseQuery(`SELECT ${'('.repeat(10000)}1${')'.repeat(10000)}`);
  assert.ok(isAnalysisError(deep));
  assert.equal(deep.code, '54001');
  const many = parseQuery('SELECT 1;'.repeat(20), { maxStatements: 10 });
  assert.ok(isAnalysisError(many));
  assert.equal(many.code, '54001');
});

test('parentheses inside strings, comments and dollar quotes do not count as nesting', () => {
  assert.equal(scanShape(`SELECT '((((' , $$ (((( $$, E'\\' ((' /* (( /* ( */ */ -- ((\n`).depth, 0);
  assert.equal(scanShape('SELECT $a$ ; ; $a$; SELECT 1').statements, 2);
});

test('syntax errors carry 42601, the parser message and a 1-based character position', () => {
  const r = parseQuery('SELECT é FROM');
  assert.ok(isAnalysisError(r));
  assert.equal(r.code, '42601');
  assert.match(r.message, /syntax error/);
  assert.equal(r.position, 14);
});

test('the cache returns the same object for the same text', () => {
  const a = parseQuery('SELECT 42 AS cached');
  const b = parseQuery('SELECT 42 AS cached');
  assert.equal(a, b);
});

test('statements are sliced by UTF-8 byte offsets', () => {
  const r = parseQuery("SELECT 'héllo wörld'; SELECT 'ünïcode' AS x;SELECT 3");
  assert.ok(!isAnalysisError(r));
  assert.deepEqual(r.statements.map((s) => s.sql), ["SELECT 'héllo wörld'", "SELECT 'ünïcode' AS x", 'SELECT 3']);
  assert.deepEqual(r.statements.map((s) => s.node), ['SelectStmt', 'SelectStmt', 'SelectStmt']);
});

test('nested block comments hide a statement; "--" inside a block comment does not', () => {
  const hidden = parseQuery('/* a /* nested */ DELETE FROM public.orders; */ SELECT 1');
  assert.ok(!isAnalysisError(hidden));
  assert.deepEqual(hidden.statements.map((s) => s.node), ['SelectStmt']);
  const visible = parseQuery('SELECT 1 /* -- */; DELETE FROM public.orders WHERE id = 1');
  assert.ok(!isAnalysisError(visible));
  assert.deepEqual(visible.statements.map((s) => s.node), ['SelectStmt', 'DeleteStmt']);
});

test('dollar quotes with tags and E strings are lexed like Postgres', () => {
  const r = parseQuery("SELECT $q$ ' $q$; DELETE FROM t; SELECT E'\\'; DROP TABLE t; --'");
  assert.ok(!isAnalysisError(r));
  assert.deepEqual(r.statements.map((s) => s.node), ['SelectStmt', 'DeleteStmt', 'SelectStmt']);
});

test('a carriage return ends a -- comment', () => {
  const r = parseQuery('SELECT 1 -- hidden?\r; DELETE FROM t');
  assert.ok(!isAnalysisError(r));
  assert.deepEqual(r.statements.map((s) => s.node), ['SelectStmt', 'DeleteStmt']);
});

test('an empty or blank query string parses to no statements', async () => {
  const { initAnalysis, parseQuery } = await import('./index.ts');
  await initAnalysis();
  for (const sql of ['', '   ', '\n\t']) {
    const r = parseQuery(sql);
    assert.ok(!('code' in r), JSON.stringify(r));
    assert.equal((r as { statements: readonly unknown[] }).statements.length, 0);
  }
});
