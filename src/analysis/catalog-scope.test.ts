import { test } from 'node:test';
import assert from 'node:assert/strict';
import { one } from './test-support.ts';
import { analyzeSql } from './analyze.ts';
import { fixtureCatalog, lazyCatalog } from './test-catalog.ts';
import { CTX } from './test-support.ts';

const names = (sql: string): string[] => one(sql).catalogNames ?? [];
const unnarrowed = (sql: string): string | undefined => one(sql).catalogUnnarrowed;

test('an object catalog read with no name condition may list every object', () => {
  for (const sql of [
    'SELECT relname FROM pg_class',
    "SELECT relname FROM pg_class WHERE relkind = 'r'",
    'SELECT schemaname, tablename FROM pg_tables',
    'SELECT nspname FROM pg_namespace',
    'SELECT table_schema, table_name FROM information_schema.tables',
    // Conditions that do not narrow by name: computed columns, negations, joins on other columns.
    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE upper(n.nspname) = 'BILLING'",
    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('public')",
    "SELECT c.relname FROM pg_class c, pg_class c2 WHERE c2.relname = 'orders' AND c.relnamespace = c2.relnamespace",
    "SELECT c.relname FROM pg_class c, pg_namespace n WHERE n.nspname = 'public'",
    "SELECT relname FROM pg_class WHERE relname = 'orders' OR relkind = 'r'",
    "SELECT relname FROM pg_class WHERE relname = lower('API_KEYS')",
    'SELECT relname FROM pg_class WHERE relname = $1',
    "SELECT relname FROM pg_class WHERE relname = (SELECT 'api' || chr(95) || 'keys')",
    "SELECT * FROM (SELECT relname FROM pg_class) s WHERE s.relname = 'orders'",
    "SELECT relname FROM pg_class WHERE relnamespace IN (SELECT 2200)",
    "SELECT relname FROM pg_class WHERE relnamespace IN (SELECT oid FROM pg_namespace)",
    "SELECT 'x' UNION SELECT relname FROM pg_class",
    "SELECT relname FROM pg_class WHERE relname = 'orders' EXCEPT SELECT relname FROM pg_class",
    "WITH t AS (SELECT relname FROM pg_class) SELECT * FROM t",
    "SELECT column_name FROM information_schema.columns WHERE (table_schema, table_name) <> ('public', 'orders')",
    'SELECT column_name FROM information_schema.columns WHERE (1, ordinal_position) = (1, 1)',
  ]) assert.ok(unnarrowed(sql), sql);
});

test('names, patterns, oids and visibility narrow a catalog read, directly or through an oid join', () => {
  for (const sql of [
    "SELECT relname FROM pg_class WHERE relname = 'orders'",
    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('public', 'analytics')",
    "SELECT a.attname FROM pg_attribute a JOIN pg_class c ON a.attrelid = c.oid WHERE c.relname = 'orders'",
    "SELECT attname FROM pg_attribute WHERE attrelid = 'public.orders'::regclass",
    "SELECT relname FROM pg_class WHERE relname LIKE 'ord%'",
    "SELECT relname FROM pg_class c WHERE c.relname OPERATOR(pg_catalog.~) '^(orders)$' COLLATE pg_catalog.default",
    "SELECT relname FROM pg_class WHERE relname = ANY('{orders,customers}')",
    "SELECT relname FROM pg_class WHERE relname = 'orders' OR relname = 'customers'",
    'SELECT c.relname FROM pg_class c WHERE pg_catalog.pg_table_is_visible(c.oid)',
    "SELECT column_name FROM information_schema.columns WHERE table_schema = 'analytics' AND table_name = 'customer_ltv'",
    "SELECT relname FROM pg_class WHERE relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = 'public')",
    "SELECT relname FROM pg_class WHERE relnamespace IN (SELECT oid FROM pg_namespace WHERE nspname = 'public')",
    'SELECT relname FROM pg_class WHERE oid = 16384',
    "SELECT a.attname FROM pg_class c, pg_attribute a WHERE c.oid = '16384' AND a.attrelid = c.oid UNION SELECT (SELECT d.adbin::text FROM pg_attrdef d WHERE d.adrelid = a.attrelid) FROM pg_attribute a WHERE a.attrelid = '16384'",
    "SELECT c2.relname FROM pg_class c, pg_class c2, pg_index i LEFT JOIN pg_constraint con ON (conrelid = i.indrelid AND conindid = i.indexrelid) WHERE c.oid = '16384' AND c.oid = i.indrelid AND i.indexrelid = c2.oid",
    "SELECT column_name FROM information_schema.columns WHERE (table_schema, table_name) = ('public', 'orders')",
    "SELECT a.attname FROM pg_attribute a, pg_class c WHERE (a.attrelid, c.relname) = (c.oid, 'orders')",
  ]) assert.equal(unnarrowed(sql), undefined, sql);
});

test('information_schema rows tied by schema and object name share a narrowing; the schema alone widens', () => {
  const tied = 'SELECT c.column_name FROM information_schema.tables t JOIN information_schema.columns c ON c.table_schema = t.table_schema AND c.table_name = t.table_name';
  assert.equal(unnarrowed(`${tied} WHERE t.table_schema = 'analytics'`), undefined);
  assert.ok(unnarrowed(`${tied} WHERE t.table_type = 'BASE TABLE'`));
  assert.ok(unnarrowed("SELECT c.column_name FROM information_schema.tables t JOIN information_schema.columns c ON c.table_schema = t.table_schema WHERE t.table_name = 'orders'"));
  assert.ok(unnarrowed("SELECT c.column_name FROM information_schema.tables t JOIN information_schema.columns c ON c.table_name = t.table_name WHERE t.table_schema = 'public'"));
  assert.ok(unnarrowed("SELECT u.view_name FROM information_schema.tables t JOIN information_schema.view_table_usage u ON u.table_schema = t.table_schema AND u.table_name = t.table_name WHERE t.table_schema = 'public'"));
});

test("an outer join's ON narrows nothing (its preserved side keeps every row), but still ties the rows it joins", () => {
  for (const sql of [
    "SELECT c.relname FROM pg_class c LEFT JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'",
    "SELECT c.relname FROM pg_namespace n RIGHT JOIN pg_class c ON n.oid = c.relnamespace AND n.nspname = 'public'",
    "SELECT c.relname FROM pg_class c FULL JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'",
    "SELECT a.attname FROM pg_attribute a LEFT JOIN pg_class c ON c.oid = a.attrelid AND c.relname = 'orders'",
  ]) assert.ok(unnarrowed(sql), sql);
  for (const sql of [
    "SELECT c.relname FROM pg_class c LEFT JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'",
    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'",
    "SELECT c.relname, n.nspname FROM pg_class c LEFT JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = 'orders'",
  ]) assert.equal(unnarrowed(sql), undefined, sql);
});

test('a relation-name pattern ANDed with a schema name only matches in that schema; ORed or unjoined it matches everywhere', () => {
  const billing = (sql: string): boolean => names(sql).some((n) => n.startsWith('billing'));
  for (const sql of [
    "SELECT c.relname FROM pg_namespace n, pg_class c WHERE c.relnamespace = n.oid AND n.nspname LIKE 'analytics' AND c.relname LIKE '%'",
    "SELECT table_name FROM information_schema.tables WHERE table_schema IN ('analytics', 'public') AND table_name LIKE '%s'",
    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'inv%'",
  ]) assert.equal(billing(sql), false, sql);
  for (const sql of [
    "SELECT c.relname FROM pg_namespace n, pg_class c WHERE c.relnamespace = n.oid AND n.nspname LIKE 'b%' AND c.relname LIKE '%'",
    "SELECT c.relname FROM pg_namespace n, pg_class c WHERE n.nspname = 'analytics' AND c.relname LIKE '%'",
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'analytics' OR table_name LIKE '%s'",
    "SELECT c.relname FROM pg_class c LEFT JOIN pg_namespace n ON c.relnamespace = n.oid AND n.nspname = 'analytics' WHERE c.relname LIKE '%'",
  ]) assert.equal(billing(sql), true, sql);
});

test('a row equality narrows like the equalities of its fields, and what it names is checked', () => {
  assert.ok(names("SELECT column_name FROM information_schema.columns WHERE (table_schema, table_name) = ('billing', 'api_keys')").includes('billing'));
});

test('what a read is narrowed to is checked: computed names, pattern matches, oids, the search path', () => {
  assert.ok(names("SELECT nspname FROM pg_namespace WHERE nspname = 'bill' || 'ing'").includes('billing'));
  assert.ok(names("SELECT relname FROM pg_class WHERE relname = ANY('{foo,api_keys}')").includes('billing.api_keys'));
  const like = names("SELECT relname FROM pg_class WHERE relname LIKE 'api%'");
  assert.ok(like.includes('billing.api_keys'), like.join());
  assert.ok(names("SELECT relname FROM pg_class WHERE relname ILIKE 'API\\_K%'").includes('billing.api_keys'));
  assert.ok(names("SELECT relname FROM pg_class WHERE relname SIMILAR TO 'api_(keys|x)'").includes('billing.api_keys'));
  assert.ok(names("SELECT n.nspname FROM pg_namespace n WHERE n.nspname ~ '^bil'").includes('billing'));
  // Only the fixture's relations match; nothing from another schema is dragged in.
  assert.deepEqual(names("SELECT relname FROM pg_class WHERE relname LIKE 'ord%'").filter((n) => n.startsWith('billing')), []);
  const apiKeys = fixtureCatalog().relation('billing', 'api_keys')!;
  assert.ok(names(`SELECT attname FROM pg_attribute WHERE attrelid = ${apiKeys.oid}`).includes('billing.api_keys'));
  assert.ok(names(`SELECT attname FROM pg_attribute WHERE attrelid = '${apiKeys.oid}'`).includes('billing.api_keys'));
  const visible = one('SELECT relname FROM pg_class c WHERE pg_table_is_visible(c.oid)', { searchPath: ['pg_catalog', 'billing', 'public'] });
  assert.ok(visible.catalogNames?.includes('billing'));
  // With a name as well (psql's \\d orders), visibility adds nothing: the name is what is checked.
  const described = one("SELECT c.oid FROM pg_class c WHERE c.relname OPERATOR(pg_catalog.~) '^(orders)$' AND pg_catalog.pg_table_is_visible(c.oid)",
    { searchPath: ['pg_catalog', 'billing', 'public'] });
  assert.ok(!described.catalogNames?.includes('billing') && described.catalogNames?.includes('public.orders'), described.catalogNames?.join());
});

test('patterns and oids are catalog facts, fetched like the others', () => {
  const lazy = lazyCatalog(fixtureCatalog());
  const asked: string[] = [];
  const sql = "SELECT relname FROM pg_class WHERE relname LIKE 'api%' AND oid = 1";
  let r = analyzeSql(sql, lazy, CTX);
  while (!r.ok && 'missing' in r) {
    asked.push(...r.missing.map((m) => `${m.type}:${m.schema}:${m.name}`));
    lazy.load(r.missing);
    r = analyzeSql(sql, lazy, CTX);
  }
  assert.deepEqual(asked.filter((a) => !a.startsWith('relation')).sort(), ['matching:like:api%', 'oid:*:1']);
  assert.ok(r.ok && r.analysis.statements[0].catalogNames?.includes('billing.api_keys'));
});

test('a pattern the catalog cannot evaluate leaves the read unnarrowed', () => {
  assert.match(unnarrowed("SELECT relname FROM pg_class WHERE relname ~ '(('") ?? '', /pattern/);
});
