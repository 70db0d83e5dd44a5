// Drives the analysis with every case of ../shared/corpus/cases.jsonl and checks that the facts
// policy needs are there. Expectations are facts (not verdicts): "a:privilege:object",
// "g:rule", "u:column:context", "n:catalog-name".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CTX } from './test-support.ts';
import { analyzeSql } from './analyze.ts';
import { fixtureCatalog } from './test-catalog.ts';
import type { StatementAnalysis } from './types.ts';

interface Case { id: string; identity: string; sql: string; expect: string; leak: string[]; category: string }

const corpusPath = fileURLToPath(new URL('../../../shared/corpus/cases.jsonl', import.meta.url));
const cases: Case[] = readFileSync(corpusPath, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Case);

const C = 'public.customers';
/** Facts each deny / approval case must carry (at least these). */
const EXPECT: Record<string, string[]> = {
  'rep-ste-cte-unreferenced-delete': ['a:delete:analytics.quality_flags'],
  'rep-ste-cte-for-update': ['a:update:public.orders'],
  'rep-ste-select-into': ['a:ddl:public.customers_copy'],
  'rep-ste-for-no-key-update': ['a:update:public.orders'],
  'rep-ste-lock-table': ['a:update:public.orders'],
  'rep-ste-explain-analyze-delete': ['a:delete:public.orders'],
  'rep-ste-explain-analyze-cte-insert': ['a:insert:analytics.quality_flags'],
  'rep-ste-call': ['a:execute:public.archive_orders', 'a:delete:public.orders'],
  'rep-ste-prepare-delete': ['a:delete:public.orders'],
  'rep-ste-prepare-only-insert': ['a:insert:analytics.quality_flags'],
  'rep-ste-copy-to-program': ['g:copy-program'],
  'rep-ste-copy-from-program': ['g:copy-program'],
  'rep-ste-pg-notify': ['g:side-effect-function'],
  'rep-ste-lo-import': ['g:server-file-function'],
  'rep-ste-pg-read-file': ['g:server-file-function'],
  'rep-ste-pg-read-binary-file': ['g:server-file-function'],
  'rep-ste-dblink-exec': ['g:out-of-band-connection'],
  'rep-ste-set-role': ['g:session-authorization'],
  'rep-ste-reset-role': ['g:session-authorization'],
  'rep-ste-set-config-session-auth': ['g:security-setting'],
  'rep-ste-discard-all': ['g:session-authorization'],
  'rep-ste-reset-all': ['g:session-authorization'],
  'rep-ste-row-security-off': ['g:security-setting'],
  'rep-ste-search-path-shadow': ['g:security-setting'],
  'rep-ste-set-config-search-path': ['g:security-setting'],
  'rep-ste-analyze': ['a:ddl:public.customers'],
  'rep-ste-create-function': ['a:ddl:public.f_leak', 'a:read:public.customers'],
  'rep-ste-create-index': ['a:ddl:public.orders'],
  'rep-ste-comment-on': ['a:ddl:public.orders'],
  'rep-ste-comment-dash-in-block': ['a:delete:public.orders'],
  'rep-ste-dollar-quote-confusion': ['a:delete:public.orders'],
  'rep-ste-quoted-spaced-identifiers': ['a:delete:public.orders'],
  'rep-ste-unicode-identifiers': ['a:update:public.orders'],
  'rep-ste-setval-serial': ['g:side-effect-function'],
  'rep-ste-terminate-backend': ['g:side-effect-function'],
  'rep-ste-cancel-backend': ['g:side-effect-function'],
  'rep-ste-sleep-per-row': ['g:side-effect-function'],
  'rep-ste-writable-function-from': ['a:execute:public.touch_customer', 'a:update:public.customers'],
  'rep-ste-writable-function-in-where': ['a:update:public.customers'],
  'dq-ste-insert-writable-func-arg': ['a:update:public.customers'],
  'dq-ste-nextval': ['g:side-effect-function'],
  'coder-ste-do-truncate-format': ['g:do-block'],
  'coder-ste-multi-drop': ['g:drop', 'a:ddl:public.orders'],
  'coder-ste-copy-to-program': ['g:copy-program'],
  'coder-ste-copy-from-program': ['g:copy-program'],
  'coder-ste-pg-read-file': ['g:server-file-function'],
  'coder-ste-lo-import': ['g:server-file-function'],
  'coder-ste-alter-system': ['g:server-admin'],
  'coder-ste-explain-analyze-delete-all': ['g:unfiltered-write'],
  'coder-ste-terminate-backend': ['g:side-effect-function'],
  'coder-ste-grant-public': ['g:privilege-change', 'a:admin:*'],
  'coder-ste-create-role': ['g:privilege-change', 'a:admin:*'],
  'coder-ste-call-procedure': ['a:execute:public.archive_orders', 'a:delete:public.orders'],
  'dq-wr-update-flag': ['a:update:analytics.quality_flags'],
  'dq-wr-delete-flag': ['a:delete:analytics.quality_flags'],
  'dq-wr-cte-delete-flags': ['a:delete:analytics.quality_flags'],
  'dq-wr-explain-analyze-update': ['a:update:analytics.quality_flags'],
  'dq-wr-create-table': ['a:ddl:analytics.dq_scratch'],
  'dq-wr-create-index-flags': ['a:ddl:analytics.quality_flags'],
  'dq-wr-alter-flags': ['a:ddl:analytics.quality_flags'],
  'coder-wr-update-no-where': ['g:unfiltered-write'],
  'coder-wr-delete-where-or-true': ['g:unfiltered-write'],
  'coder-wr-merge-on-true': ['g:unfiltered-write'],
  'coder-wr-drop-table': ['g:drop'],
  'coder-wr-drop-table-cascade': ['g:drop'],
  'coder-wr-drop-if-exists': ['g:drop', 'a:ddl:public.tmp_nonexistent'],
  'coder-wr-drop-view': ['g:drop'],
  'coder-wr-drop-index': ['g:drop'],
  'coder-wr-drop-function': ['g:drop', 'a:ddl:public.touch_customer'],
  'coder-wr-drop-schema': ['g:drop', 'a:ddl:billing.*'],
  'coder-wr-create-table': ['a:ddl:public.order_notes'],
  'coder-wr-alter-rename-column': ['a:ddl:public.orders'],
  'coder-wr-create-view': ['a:ddl:public.recent_orders', 'a:read:public.orders'],
  'coder-wr-create-temp-as': ['a:ddl:pg_temp.scratch'],
  'coder-wr-comment': ['a:ddl:public.orders'],
  'coder-wr-vacuum-analyze': ['a:ddl:public.orders'],
  'coder-wr-create-extension': ['g:server-admin'],
  'rep-ts-table-syntax-invoices': ['a:read:billing.invoices'],
  'rep-ts-table-syntax-api-keys': ['a:read:billing.api_keys'],
  'rep-ts-union': ['a:read:billing.api_keys'],
  'rep-ts-values-subquery': ['a:read:billing.api_keys'],
  'rep-ts-array-subquery': ['a:read:billing.invoices'],
  'rep-ts-count-only': ['a:read:billing.api_keys'],
  'rep-ts-public-view-over-billing': ['a:read:public.order_billing', 'a:read:billing.invoices'],
  'rep-ts-jsonb-to-recordset': ['a:read:billing.api_keys'],
  'rep-ts-query-to-xml': ['g:sql-text-function'],
  'rep-ts-unicode-identifiers': ['a:read:billing.api_keys'],
  'rep-ts-uescape': ['a:read:billing.api_keys'],
  'rep-ts-comments-in-name': ['a:read:billing.api_keys'],
  'rep-ts-cursor': ['a:read:billing.api_keys'],
  'rep-ts-copy-to-stdout': ['a:read:billing.api_keys'],
  'rep-ts-copy-query-to-stdout': ['a:read:billing.invoices'],
  'rep-ts-pg-class-billing': ['a:read:pg_catalog.pg_class', 'n:billing'],
  'dq-ts-insert-from-billing': ['a:read:billing.invoices'],
  'dq-ts-secdef-function': ['g:security-definer', 'a:read:billing.invoices'],
  'dq-ts-pg-stats-billing': ['g:data-catalog'],
  'coder-ts-billing': ['a:read:billing.api_keys'],
  'coder-ts-ctas-billing': ['a:read:billing.api_keys', 'a:ddl:public.keys_copy'],
  'rep-mask-oracle-like-prefix': [`u:${C}.ssn:predicate`],
  'rep-mask-oracle-equality': [`u:${C}.ssn:predicate`],
  'rep-mask-oracle-self-join': [`u:${C}.phone:predicate`],
  'rep-mask-oracle-error-division': [`u:${C}.ssn:predicate`],
  'rep-mask-set-config-show': ['g:security-setting'],
  'rep-mask-returning-delete-cte': ['a:delete:public.customers_legacy'],
  'rep-mask-returning-insert-select': ['a:insert:analytics.quality_flags', `u:${C}.ssn:write`],
};

function facts(stmts: StatementAnalysis[]): Set<string> {
  const out = new Set<string>();
  for (const s of stmts) {
    for (const a of s.actions) out.add(`a:${a.privilege}:${a.object}`);
    for (const g of s.guardrails) out.add(`g:${g.rule}`);
    for (const u of s.uses) out.add(`u:${u.column}:${u.context}`);
    for (const n of s.catalogNames ?? []) out.add(`n:${n}`);
  }
  return out;
}

const SENSITIVE = ['email', 'ssn', 'card_number', 'phone'];
const sensitiveOf = (col: string): boolean =>
  /^public\.customers(_legacy)?\./.test(col) && SENSITIVE.includes(col.split('.')[2]);

function analyseCase(c: Case): StatementAnalysis[] {
  const r = analyzeSql(c.sql, fixtureCatalog(), CTX);
  assert.ok(r.ok, `${c.id}: ${JSON.stringify(r)}`);
  return r.analysis.statements;
}

test('every corpus case parses and analyses against the fixture catalog', () => {
  for (const c of cases) analyseCase(c);
});

test('every deny and approval case carries the facts its refusal or review rests on', () => {
  for (const c of cases) {
    if (c.expect !== 'deny' && c.expect !== 'approval') continue;
    const want = EXPECT[c.id];
    assert.ok(want, `no expectation written for ${c.id}`);
    const got = facts(analyseCase(c));
    for (const w of want) assert.ok(got.has(w), `${c.id}: missing ${w}; got ${[...got].join(' ')}`);
  }
});

test('approval cases carry no guardrail (review, not refusal)', () => {
  for (const c of cases.filter((x) => x.expect === 'approval')) {
    const stmts = analyseCase(c);
    assert.deepEqual(stmts.flatMap((s) => s.guardrails), [], c.id);
  }
});

test('legit cases raise no guardrail and every relation resolves', () => {
  for (const c of cases.filter((x) => x.category === 'legit')) {
    const stmts = analyseCase(c);
    assert.deepEqual(stmts.flatMap((s) => s.guardrails), [], c.id);
    if (c.identity === 'reporter') {
      const oracle = stmts.flatMap((s) => s.uses).filter((u) => sensitiveOf(u.column) && u.context !== 'presence');
      assert.deepEqual(oracle, [], `${c.id}: reporter legit case uses a sensitive column`);
    }
  }
});

test('every masking case is refusable or maskable: a guardrail, a non-read action, an oracle use, or outputs naming the sensitive sources', () => {
  for (const c of cases.filter((x) => x.id.startsWith('rep-mask-'))) {
    const stmts = analyseCase(c);
    const refusable = stmts.some((s) => s.guardrails.length > 0 || s.actions.some((a) => a.privilege !== 'read'));
    const oracle = stmts.some((s) => s.uses.some((u) => sensitiveOf(u.column) && u.context !== 'presence'));
    if (refusable || oracle) continue;
    const outputSources = new Set(stmts.flatMap((s) => (s.output ?? []).flatMap((o) => o.sources)));
    for (const leak of c.leak) {
      const child = leak.replace('public.customers.', 'public.customers_legacy.');
      assert.ok(outputSources.has(leak) || outputSources.has(child), `${c.id}: ${leak} reaches the output unmarked`);
    }
  }
});

test('plain sensitive outputs stay direct so the masker can apply the column strategy', () => {
  const direct = (id: string): string[] => analyseCase(cases.find((c) => c.id === id)!)
    .flatMap((s) => (s.output ?? []).filter((o) => o.direct).flatMap((o) => o.sources));
  assert.ok(direct('rep-mask-alias').includes(`${C}.ssn`));
  assert.ok(direct('rep-mask-swapped-names').includes(`${C}.card_number`));
  assert.ok(direct('rep-mask-from-column-alias').includes(`${C}.ssn`));
  assert.ok(direct('rep-mask-scalar-subquery').includes(`${C}.email`));
  assert.ok(direct('rep-mask-union-harmless').includes(`${C}.ssn`));
  assert.ok(direct('rep-mask-copy-query-stdout').includes(`${C}.card_number`));
});
