// Two-phase commit: a prepared transaction outlives the session and any session of the role can finish it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyse, one, rules } from './test-support.ts';

test('PREPARE TRANSACTION, COMMIT PREPARED and ROLLBACK PREPARED are server administration', () => {
  for (const sql of ["PREPARE TRANSACTION 'g1'", "COMMIT PREPARED 'g1'", "ROLLBACK PREPARED 'g1'"]) {
    assert.deepEqual(rules(one(sql)), ['server-admin'], sql);
  }
  const s = analyse("BEGIN; DELETE FROM public.orders WHERE id = 1; PREPARE TRANSACTION 'g2'");
  assert.deepEqual(rules(s[2]), ['server-admin']);
});

test('ordinary transaction control stays free of guardrails', () => {
  for (const sql of ['BEGIN', 'COMMIT', 'ROLLBACK', 'SAVEPOINT a', 'RELEASE a', 'ROLLBACK TO a', 'START TRANSACTION READ ONLY']) {
    assert.deepEqual(rules(one(sql)), [], sql);
  }
});

test('EXPLAIN ANALYZE EXECUTE and CREATE TABLE AS EXECUTE run a prepared statement unjudged: fail closed', () => {
  assert.ok(rules(one('EXPLAIN ANALYZE EXECUTE p1')).includes('unanalysable'));
  assert.ok(rules(one('EXPLAIN (ANALYZE, BUFFERS) EXECUTE p1(5)')).includes('unanalysable'));
  assert.ok(rules(one('CREATE TEMP TABLE t1 AS EXECUTE p1')).includes('unanalysable'));
  assert.deepEqual(rules(one('EXPLAIN EXECUTE p1')), []);
  assert.deepEqual(rules(one('EXPLAIN ANALYZE SELECT 1')), []);
});
