import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ROW_LOCK_VIA, type StatementAnalysis } from '../analysis/types.ts';
import { parseConfig } from '../config/load.ts';
import { compileEffectivePolicy } from './compile.ts';
import { decideStatement, combine } from './decide.ts';

const config = parseConfig(`
upstreams: { db: { url: "postgres://u@h/db" } }
policies:
  - name: reporting
    for: { groups: [reporting] }
    allow:
      - read: [analytics.*, public.customers]
      - update: [analytics.scratch]
    review:
      - update: [analytics.flags]
    deny:
      - read: [billing.*]
    mask:
      public.customers.ssn: last4
      public.customers.email: email
  - name: extra
    for: { names: [reporter] }
    allow:
      - read: [billing.*]
    guardrails: { lift: [truncate] }
`);
const reporter = compileEffectivePolicy(config.policies, { name: 'reporter', groups: ['reporting'], method: 'token' }, 'db');

function stmt(partial: Partial<StatementAnalysis>): StatementAnalysis {
  return { kind: 'select', node: 'SelectStmt', sql: '', actions: [], guardrails: [], output: null, uses: [], ...partial };
}

test('policies that match by group and by name are merged; deny beats allow', () => {
  assert.deepEqual(reporter.policies, ['reporting', 'extra']);
  const v = decideStatement(reporter, stmt({ actions: [{ privilege: 'read', object: 'billing.api_keys', via: 'FROM clause' }] }));
  assert.equal(v.decision, 'deny');
  assert.match(v.reasons[0].rule, /deny read billing\.\*/);
});

test('review beats allow, and an unlisted object is denied by default', () => {
  assert.equal(decideStatement(reporter, stmt({ actions: [{ privilege: 'update', object: 'analytics.flags', via: '' }] })).decision, 'review');
  const v = decideStatement(reporter, stmt({ actions: [{ privilege: 'read', object: 'public.orders', via: '' }] }));
  assert.equal(v.decision, 'deny');
  assert.equal(v.reasons[0].rule, 'default deny');
});

test('a row lock where updates are only reviewable is denied, not held', () => {
  const lock = decideStatement(reporter, stmt({ actions: [{ privilege: 'update', object: 'analytics.flags', via: ROW_LOCK_VIA }] }));
  assert.equal(lock.decision, 'deny');
  assert.match(lock.reasons[0].message, /row locks are never held for review/);
});

test('catalog metadata is readable, guardrails deny unless lifted, unanalysable never lifts', () => {
  assert.equal(decideStatement(reporter, stmt({ actions: [{ privilege: 'read', object: 'pg_catalog.pg_class', via: '' }] })).decision, 'allow');
  assert.equal(decideStatement(reporter, stmt({ guardrails: [{ rule: 'do-block', detail: 'DO' }] })).decision, 'deny');
  assert.equal(decideStatement(reporter, stmt({ guardrails: [{ rule: 'truncate', detail: 'TRUNCATE' }] })).decision, 'allow');
  assert.equal(decideStatement(reporter, stmt({ guardrails: [{ rule: 'unanalysable', detail: '?' }] })).decision, 'deny');
});

test('masks follow lineage: direct outputs keep their strategy, derived ones are redacted', () => {
  const v = decideStatement(reporter, stmt({
    actions: [{ privilege: 'read', object: 'public.customers', via: '' }],
    output: [
      { name: 'id', sources: ['public.customers.id'], direct: true },
      { name: 'ref', sources: ['public.customers.ssn'], direct: true },
      { name: 'e', sources: ['public.customers.email'], direct: false },
    ],
    uses: [{ column: 'public.customers.email', context: 'expression' }],
  }));
  assert.equal(v.decision, 'allow');
  assert.deepEqual(v.masks, [null, 'last4', 'redact']);
  assert.deepEqual(v.maskedColumns.sort(), ['public.customers.email', 'public.customers.ssn']);
  assert.equal(v.touchesMasked, true);
});

test('masked columns used as oracles or written elsewhere are denied; presence checks are not', () => {
  for (const context of ['predicate', 'order', 'group', 'write'] as const) {
    const v = decideStatement(reporter, stmt({ uses: [{ column: 'public.customers.ssn', context }] }));
    assert.equal(v.decision, 'deny', context);
  }
  assert.equal(decideStatement(reporter, stmt({ uses: [{ column: 'public.customers.ssn', context: 'presence' }] })).decision, 'allow');
});

test('a metadata query that names a denied schema is refused', () => {
  const v = decideStatement(reporter, stmt({ actions: [{ privilege: 'read', object: 'pg_catalog.pg_class', via: '' }], catalogNames: ['billing'] }));
  assert.equal(v.decision, 'deny');
  assert.equal(decideStatement(reporter, stmt({ catalogNames: ['analytics'] })).decision, 'allow');
});

test('a query is as strict as its strictest statement', () => {
  const allow = decideStatement(reporter, stmt({}));
  const deny = decideStatement(reporter, stmt({ guardrails: [{ rule: 'drop', detail: 'DROP TABLE' }] }));
  assert.equal(combine([allow, deny]).decision, 'deny');
  assert.equal(combine([allow]).decision, 'allow');
});

test('a catalog read that could list every object is denied while a deny rule hides some', () => {
  const v = decideStatement(reporter, stmt({ catalogNames: [], catalogUnnarrowed: 'pg_catalog.pg_class' }));
  assert.equal(v.decision, 'deny');
  assert.match(v.reasons[0].message ?? '', /reads pg_catalog\.pg_class without narrowing.*deny read billing\.\*/);
  // Nothing hidden: nothing to protect.
  const open = parseConfig(`
upstreams: { db: { url: "postgres://u@h/db" } }
policies:
  - name: all
    for: { groups: [all] }
    allow:
      - read: ['*.*']
`);
  const all = compileEffectivePolicy(open.policies, { name: 'a', groups: ['all'], method: 'token' }, 'db');
  assert.equal(decideStatement(all, stmt({ catalogNames: [], catalogUnnarrowed: 'pg_catalog.pg_class' })).decision, 'allow');
});

test('an unfiltered write is held where the write itself requires review, denied where it would run unreviewed', () => {
  const unfiltered = (object: string): StatementAnalysis => stmt({
    guardrails: [{ rule: 'unfiltered-write', detail: `UPDATE ${object} without WHERE`, object }],
    actions: [{ privilege: 'update', object, via: 'UPDATE' }],
  });
  assert.equal(decideStatement(reporter, unfiltered('analytics.flags')).decision, 'review');
  assert.equal(decideStatement(reporter, unfiltered('analytics.scratch')).decision, 'deny');
  const locked = unfiltered('analytics.flags');
  locked.actions.push({ privilege: 'update', object: 'analytics.flags', via: ROW_LOCK_VIA });
  assert.equal(decideStatement(reporter, locked).decision, 'deny');
});
