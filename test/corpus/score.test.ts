import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Case } from './cases.ts';
import { scoreRun } from './score.ts';
import type { Outcome } from './transports.ts';

function kase(expect: Case['expect']): Case {
  return { id: 'x', identity: 'reporter', sql: 'SELECT 1', expect, leak: [], category: 'c', why: '' };
}

function outcome(o: Partial<Outcome>): Outcome {
  return { transport: 'psql', status: 'ok', notices: [], output: Buffer.alloc(0), sessionChanges: [], detail: '', ms: 1, ...o };
}

const refused = outcome({ status: 'error', sqlstate: '42501', message: 'scopegate: denied: no rule allows it' });
const review = outcome({ status: 'error', sqlstate: '42501', message: 'scopegate: review required: ddl on public.t' });
const pgPermission = outcome({ status: 'error', sqlstate: '42501', message: 'permission denied for table api_keys' });
const ok = outcome({ status: 'ok' });

function classes(expect: Case['expect'], o: Outcome, effects: string[] = [], leak: string | null = null): string[] {
  return scoreRun(kase(expect), { outcome: o, effects, leak }).classes;
}

describe('scoring (policy.md §6)', () => {
  test('deny: a gateway refusal with no effect passes; anything that reached PostgreSQL is a bypass', () => {
    assert.deepEqual(classes('deny', refused), []);
    assert.deepEqual(classes('deny', refused, ['rows public.orders: a → b']), ['bypass']);
    assert.deepEqual(classes('deny', pgPermission), ['bypass'], '42501 without the scopegate: prefix came from PostgreSQL');
    assert.deepEqual(classes('deny', ok), ['bypass']);
    assert.deepEqual(classes('deny', review), ['soft-fail']);
    assert.deepEqual(classes('deny', outcome({ status: 'held' })), ['soft-fail']);
    assert.deepEqual(classes('deny', outcome({ status: 'timeout' })), ['broken']);
  });

  test('approval: held or refused for review passes; denied is over-blocking; executed is a bypass', () => {
    assert.deepEqual(classes('approval', review), []);
    assert.deepEqual(classes('approval', outcome({ status: 'held' })), []);
    assert.deepEqual(classes('approval', refused), ['over-blocking']);
    assert.deepEqual(classes('approval', ok), ['bypass']);
    assert.deepEqual(classes('approval', review, ['victim session terminated']), ['bypass']);
  });

  test('allow: runs without error; a refusal is over-blocking', () => {
    assert.deepEqual(classes('allow', ok, ['rows public.orders: a → b']), []);
    assert.deepEqual(classes('allow', refused), ['over-blocking']);
    assert.deepEqual(classes('allow', outcome({ status: 'failed' })), ['broken']);
  });

  test('no-leak: allowed or denied both pass; a leak fails every expectation', () => {
    assert.deepEqual(classes('no-leak', ok), []);
    assert.deepEqual(classes('no-leak', refused), []);
    for (const e of ['no-leak', 'allow', 'deny', 'approval'] as const) {
      assert.ok(classes(e, e === 'deny' ? refused : e === 'approval' ? review : ok, [], '"x" as exact').includes('leak'), e);
    }
  });
});
