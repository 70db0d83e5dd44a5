// The gateway reuses one analysis for every text that differs from it only in
// literal values (session/analyzer.ts, keyed by literalKey) when literalFree
// says the analysis does not depend on them. These tests check that promise
// directly: every statement of the corpora whose analysis is literal-free is
// analysed again with other values in its literals, and must come out the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { CTX } from './test-support.ts';
import { analyzeSql } from './analyze.ts';
import { literalFree, literalKey } from './literal-key.ts';
import { fixtureCatalog } from './test-catalog.ts';
import type { AnalysisResult } from './types.ts';
import { seededRandom } from '../testing/seeded-random.ts';
import { corpusDir, loadCases } from '../../test/corpus/cases.ts';
import { REPO_ROOT } from '../../test/harness/gateway.ts';

const NUMBER = '\u0001';
const STRING = '\u0002';

/** Statements that read a literal's value in the analysis, or sit next to ones that do. */
const TRICKY = [
  'SELECT id, email FROM public.customers ORDER BY 1 LIMIT 5',
  'SELECT id, email FROM public.customers ORDER BY 2 LIMIT 5',
  'SELECT id, email, ssn FROM public.customers ORDER BY 1, 3',
  'SELECT region, email FROM public.customers GROUP BY 1, 2',
  'SELECT DISTINCT ON (1) id, email FROM public.customers ORDER BY 1',
  'SELECT id FROM public.customers UNION SELECT id FROM public.orders ORDER BY 1',
  'WITH d AS (DELETE FROM public.orders WHERE id = 5 OR 1 = 2 RETURNING id) SELECT id FROM d',
  'WITH d AS (DELETE FROM public.orders WHERE id = 5 OR 1 = 1 RETURNING id) SELECT id FROM d',
  "WITH u AS (UPDATE public.orders SET status = 'x' WHERE id = 3 OR 'a' = 'b' RETURNING id) SELECT id FROM u",
  'WITH d AS (DELETE FROM public.orders WHERE id = 1 OR 2 > 3 RETURNING id) INSERT INTO public.orders (id) SELECT id FROM d',
  "SELECT id FROM public.customers WHERE region = 'eu' LIMIT 10 OFFSET 20",
  'SELECT (ARRAY[id, 2])[1] FROM public.customers',
  "SELECT email FROM public.customers WHERE CASE WHEN 1 = 1 THEN true ELSE false END",
  "INSERT INTO public.orders (id, status) VALUES (1, 'new'), (2, 'old')",
  'SELECT abs(-1), 1 + 2, id FROM public.orders WHERE amount > 10.5',
];

/** Every statement of the shared corpus and of our own cases (test/corpus/own-cases.jsonl). */
function corpusSql(): string[] {
  return [...loadCases(corpusDir()), ...loadCases(path.join(REPO_ROOT, 'test', 'corpus'), 'own-cases.jsonl')].map((c) => c.sql);
}

/** The analysis without the statement text, for comparing texts that differ in their literals. */
function facts(r: AnalysisResult): string {
  if (!r.ok) return JSON.stringify('error' in r ? { error: r.error.code } : { missing: r.missing.length });
  return JSON.stringify(r.analysis.statements.map(({ sql: _sql, ...rest }) => rest));
}

/** The text of `key` with its literal markers filled in by `pick`. */
function fill(key: string, pick: (kind: string) => string): string {
  return key.replace(/[\u0001\u0002]/g, pick);
}

const NUMBERS = ['0', '1', '2', '3', '7', '42', '2.5', '99999'];
const STRINGS = ["''", "'a'", "'ssn'", "'public.customers'", "'1'", "'it''s'"];

test('a literal-free analysis is the same for other values of its literals', () => {
  const catalog = fixtureCatalog();
  const rand = seededRandom(7);
  let checked = 0;
  const differing: string[] = [];
  for (const sql of [...TRICKY, ...corpusSql()]) {
    const key = literalKey(sql);
    if (key === null) continue;
    const base = analyzeSql(sql, catalog, CTX);
    if (!base.ok || !literalFree(base.analysis)) continue;
    checked++;
    const variants = [
      ...NUMBERS.map((n) => fill(key, (kind) => (kind === NUMBER ? n : STRINGS[1]))),
      ...STRINGS.map((s) => fill(key, (kind) => (kind === STRING ? s : NUMBERS[2]))),
      ...Array.from({ length: 6 }, () => fill(key, (kind) => (kind === NUMBER ? NUMBERS[rand(NUMBERS.length)] : STRINGS[rand(STRINGS.length)]))),
    ];
    for (const v of variants) {
      assert.equal(literalKey(v), key, v);
      const other = analyzeSql(v, catalog, CTX);
      // A value the grammar does not take there (`char(2.5)`): Postgres refuses the text itself.
      if (!other.ok && 'error' in other && other.error.code === '42601') continue;
      if (facts(other) !== facts(base)) differing.push(`${sql}\n    analysed differently as: ${v}`);
    }
  }
  assert.ok(checked >= 80, `only ${checked} literal-free statements checked`);
  assert.deepEqual(differing, []);
});

test('positional ORDER BY / GROUP BY and constant conditions of writes in WITH are not literal-free', () => {
  const catalog = fixtureCatalog();
  for (const sql of TRICKY.slice(0, 10)) {
    const r = analyzeSql(sql, catalog, CTX);
    assert.ok(r.ok, sql);
    assert.equal(literalFree(r.analysis), false, sql);
  }
  for (const sql of ["SELECT id FROM public.customers WHERE region = 'eu' LIMIT 10", "INSERT INTO public.orders (id, status) VALUES (1, 'new')"]) {
    const r = analyzeSql(sql, catalog, CTX);
    assert.ok(r.ok && literalFree(r.analysis), `${sql} should stay cacheable by shape`);
  }
});
