import { test } from 'node:test';
import assert from 'node:assert/strict';
import { actions, analyse, CTX, one, outputs, rules } from './test-support.ts';
import { analyzeSql } from './analyze.ts';
import { fixtureCatalog, lazyCatalog, FIXTURE_RELATIONS } from './test-catalog.ts';
import type { RelationInfo } from './types.ts';

test('unquoted identifiers fold to lower case; quoted ones keep case', () => {
  assert.deepEqual(actions(one('SELECT Email FROM Public.Customers')), ['read:public.customers']);
  const s = one('SELECT 1 FROM "Public"."Customers"');
  assert.ok(rules(s).includes('unanalysable'));
  assert.match(s.guardrails[0].detail, /Public\.Customers does not exist/);
});

test('U&"" escapes, with and without UESCAPE, and comments between name parts', () => {
  assert.deepEqual(actions(one('SELECT * FROM U&"\\0062illing".U&"\\0061pi_keys"')), ['read:billing.api_keys']);
  assert.deepEqual(actions(one("SELECT secret FROM U&\"!0062illing\" UESCAPE '!' . api_keys")), ['read:billing.api_keys']);
  assert.deepEqual(actions(one('SELECT secret FROM billing/**/./* x */api_keys')), ['read:billing.api_keys']);
  assert.deepEqual(actions(one('SELECT secret FROM billing\f.\fapi_keys')), ['read:billing.api_keys']);
});

test('three-part names must name the current database', () => {
  assert.deepEqual(actions(one('SELECT 1 FROM corpus.billing.api_keys')), ['read:billing.api_keys']);
  assert.deepEqual(rules(one('SELECT 1 FROM postgres.billing.api_keys')), ['unanalysable']);
  assert.deepEqual(rules(one('SELECT corpus.public.orders.id FROM public.orders')), []);
});

test('unqualified names resolve through the search path', () => {
  assert.deepEqual(actions(one('SELECT secret FROM api_keys', { searchPath: ['pg_catalog', 'billing', 'public'] })), ['read:billing.api_keys']);
  assert.deepEqual(actions(one('SELECT 1 FROM orders', { searchPath: ['pg_catalog', 'public'] })), ['read:public.orders']);
  assert.match(one('SELECT 1 FROM invoices').guardrails[0].detail, /relation invoices does not exist/);
});

test('session temp tables resolve to pg_temp first and CREATE TEMP reports createsTemp', () => {
  const temp: RelationInfo = { oid: 1, schema: 'pg_temp_3', name: 'customers', kind: 'table', columns: [{ name: 'x', attnum: 1, typeOid: 25 }] };
  const s = one('SELECT x FROM customers', { temp: [temp], context: { database: 'corpus', tempRelations: new Set(['customers']) } });
  assert.deepEqual(actions(s), ['read:pg_temp.customers']);
  assert.deepEqual(outputs(s), ['x<pg_temp.customers.x>!']);
  const c = one('CREATE TEMP TABLE scratch AS SELECT id FROM public.orders');
  assert.deepEqual(c.createsTemp, ['scratch']);
  assert.ok(c.changesCatalog);
});

test('a temp table created earlier in the same query string is looked up in pg_temp by later statements', () => {
  const lazy = lazyCatalog(fixtureCatalog());
  const r = analyzeSql('CREATE TEMP TABLE t1 (a int); SELECT a FROM t1', lazy, CTX);
  assert.ok(!r.ok && 'missing' in r);
  assert.ok(r.missing.some((m) => m.schema === 'pg_temp' && m.name === 't1'));
  // Not in the snapshot yet (it is created when the string runs): fail closed.
  const s = analyse('CREATE TEMP TABLE t1 (a int); SELECT a FROM t1')[1];
  assert.match(s.guardrails[0].detail, /relation pg_temp\.t1 does not exist/);
});

test('CTE names shadow relations; a CTE and IF EXISTS targets need not exist', () => {
  const s = one('WITH invoices AS (SELECT 1 AS n) SELECT n FROM invoices');
  assert.deepEqual(s.guardrails, []);
  assert.deepEqual(actions(s), []);
  assert.deepEqual(rules(one('DROP TABLE IF EXISTS public.nope')), ['drop']);
  assert.deepEqual(rules(one('DROP TABLE public.nope')).sort(), ['drop', 'unanalysable']);
});

test('ONLY and * forms resolve to the parent; partitions and children are not added', () => {
  assert.deepEqual(actions(one('SELECT 1 FROM ONLY billing.invoices')), ['read:billing.invoices']);
  assert.deepEqual(actions(one('SELECT 1 FROM billing.invoices *')), ['read:billing.invoices']);
  assert.deepEqual(actions(one('SELECT 1 FROM public.customers')), ['read:public.customers']);
});

test('functions: unqualified names search pg_catalog first, then the path; all overloads count', () => {
  const s = one('SELECT dblink_exec(\'x\', \'y\')');
  assert.deepEqual(actions(s), ['execute:public.dblink_exec']);
  assert.deepEqual(rules(s), ['out-of-band-connection']);
  assert.deepEqual(rules(one('SELECT no_such_function(1)')), ['unanalysable']);
  const shadow = one('SELECT upper(\'a\')', {
    extraFunctions: [{ oid: 9, schema: 'public', name: 'upper', kind: 'function', volatility: 'immutable', securityDefiner: true, language: 'sql', body: 'SELECT 1', returnsSet: false }],
  });
  assert.deepEqual(actions(shadow), ['execute:public.upper']);
  assert.deepEqual(rules(shadow), ['security-definer']);
});

test('the missing/re-run protocol converges from an empty snapshot', () => {
  const sql = 'SELECT c.email, upper(o.sku) FROM customer_contacts c JOIN orders o ON o.customer_id = c.id; SELECT * FROM public.customer_billing_profile(1); CALL archive_orders(now()::date)';
  const full = fixtureCatalog();
  const lazy = lazyCatalog(full);
  let rounds = 0;
  let r = analyzeSql(sql, lazy, CTX);
  while (!r.ok && 'missing' in r) {
    assert.ok(r.missing.length > 0);
    lazy.load(r.missing);
    r = analyzeSql(sql, lazy, CTX);
    rounds++;
    assert.ok(rounds < 10, 'does not converge');
  }
  assert.ok(r.ok);
  const direct = analyzeSql(sql, full, CTX);
  assert.deepEqual(r, direct);
  assert.ok(rounds >= 2, 'views lead to more rounds');
});

test('views nested deeper than 16 levels are unanalysable', () => {
  const chain: RelationInfo[] = [];
  for (let i = 0; i < 20; i++) {
    chain.push({ oid: 100 + i, schema: 'public', name: `v${i}`, kind: 'view', columns: [{ name: 'id', attnum: 1, typeOid: 23 }],
      definition: i === 19 ? 'SELECT id FROM public.orders' : `SELECT id FROM public.v${i + 1}` });
  }
  const s = one('SELECT id FROM public.v0', { extraRelations: chain });
  assert.ok(rules(s).includes('unanalysable'));
  const ok = one('SELECT id FROM public.v10', { extraRelations: chain });
  assert.deepEqual(rules(ok), []);
  assert.ok(actions(ok).includes('read:public.orders'));
  assert.ok(FIXTURE_RELATIONS.length > 0);
});

test('every statement of a multi-statement string is analysed', () => {
  const s = analyse('SELECT 1; DELETE FROM public.orders WHERE id = 1; SELECT 2');
  assert.deepEqual(s.map((x) => x.kind), ['select', 'delete', 'select']);
  assert.deepEqual(s.map((x) => x.sql), ['SELECT 1', 'DELETE FROM public.orders WHERE id = 1', 'SELECT 2']);
});

test("naming a relation's row type counts as reading it (casts, XMLSERIALIZE, column definition lists)", () => {
  assert.deepEqual(actions(one('SELECT NULL::billing.api_keys')), ['read:billing.api_keys']);
  assert.deepEqual(actions(one('SELECT (NULL::corpus.billing.api_keys).*')), ['read:billing.api_keys']);
  assert.deepEqual(actions(one("SELECT * FROM json_populate_record(NULL::billing.invoices, '{}')")), ['read:billing.invoices']);
  assert.deepEqual(actions(one("SELECT CAST(NULL AS billing.api_keys)")), ['read:billing.api_keys']);
  assert.deepEqual(actions(one("SELECT * FROM json_to_record('{}') AS t(k billing.api_keys)")), ['read:billing.api_keys']);
  assert.deepEqual(actions(one('SELECT NULL::api_keys', { searchPath: ['pg_catalog', 'billing', 'public'] })), ['read:billing.api_keys']);
  // Built-in and catalog types, and names that are no relation, add nothing.
  assert.deepEqual(actions(one("SELECT 1::int, 'a'::text, '{}'::jsonb, NULL::pg_catalog.pg_class, NULL::pg_authid")), []);
  assert.deepEqual(rules(one("SELECT 'a'::text")), []);
});

test('reg* casts and built-ins that ask about named objects make a metadata query: its string constants are kept for the policy', () => {
  for (const sql of [
    "SELECT obj_description('billing.api_keys'::regclass)",
    "SELECT has_table_privilege('billing.api_keys', 'select')",
    "SELECT to_regclass('billing.api_keys')",
    "SELECT 'billing.api_keys'::pg_catalog.regclass::oid",
  ]) assert.ok(one(sql).catalogNames?.includes('billing.api_keys'), sql);
  assert.equal(one("SELECT upper('billing.api_keys')").catalogNames, undefined);
});

test('a metadata query naming a relation without its schema also names it in every schema that holds one', () => {
  const names = one("SELECT relpages FROM pg_class WHERE relname = 'api_keys' OR relname = 'Not A Name'").catalogNames ?? [];
  assert.ok(names.includes('api_keys') && names.includes('billing.api_keys'), names.join());
  // Against a live catalog the schemas are one more fact to look up.
  const lazy = lazyCatalog(fixtureCatalog());
  const asked: string[] = [];
  let r = analyzeSql("SELECT 1 FROM pg_class WHERE relname = 'api_keys'", lazy, CTX);
  while (!r.ok && 'missing' in r) {
    asked.push(...r.missing.map((m) => `${m.type}:${m.name}`));
    lazy.load(r.missing);
    r = analyzeSql("SELECT 1 FROM pg_class WHERE relname = 'api_keys'", lazy, CTX);
  }
  assert.ok(asked.includes('relname:api_keys'));
  assert.ok(r.ok && r.analysis.statements[0].catalogNames?.includes('billing.api_keys'));
});

test('a table named in an earlier join of a join chain resolves once (psql \\dt, pgbench)', () => {
  const s = one("SELECT c.relname FROM pg_class c LEFT JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_class c2 ON c2.oid = c.reltype WHERE n.nspname = 'public'");
  assert.deepEqual(s.guardrails, []);
  const lateral = one("SELECT o.n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace CROSS JOIN LATERAL (SELECT n.nspname) AS o(n) WHERE c.relname = 'orders'");
  assert.deepEqual(lateral.guardrails, []);
});
