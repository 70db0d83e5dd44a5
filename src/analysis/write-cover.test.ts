// Writes whose condition filters nothing because it compares the target with a whole copy of itself,
// matches every string, or is a NOT NULL test in disguise; and the MERGE / upsert forms of the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { one, rules } from './test-support.ts';

const unfiltered = (sql: string): void => assert.ok(rules(one(sql)).includes('unfiltered-write'), sql);
const filtered = (sql: string): void => assert.ok(!rules(one(sql)).includes('unfiltered-write'), sql);

test('a self-join on the same column filters nothing: UPDATE … FROM, DELETE … USING, MERGE … USING the target', () => {
  for (const sql of [
    "UPDATE public.orders o SET sku = 'x' FROM public.orders s WHERE o.id = s.id",
    'DELETE FROM public.orders o USING public.orders s WHERE s.id = o.id',
    'MERGE INTO public.orders o USING public.orders s ON o.id = s.id WHEN MATCHED THEN DELETE',
    "MERGE INTO public.orders o USING (SELECT id FROM public.orders) s ON o.id = s.id WHEN MATCHED THEN UPDATE SET sku = 'x'",
    "UPDATE public.orders o SET sku = s.sku FROM (TABLE public.orders) s WHERE s.id = o.id",
    "UPDATE public.orders o SET sku = 'x' FROM (SELECT * FROM public.orders) AS s(k) WHERE s.k = o.id",
    'DELETE FROM public.orders o USING (WITH x AS (SELECT * FROM public.orders) SELECT * FROM x) s WHERE o.id = s.id',
  ]) unfiltered(sql);
  for (const sql of [
    "UPDATE public.orders o SET sku = 'x' FROM public.orders s WHERE o.id = s.id AND s.status = 'paid'",
    "MERGE INTO public.orders o USING (SELECT id FROM public.orders WHERE status = 'x') s ON o.id = s.id WHEN MATCHED THEN DELETE",
    "UPDATE public.orders o SET sku = 'x' FROM (SELECT * FROM public.orders) AS s(k) WHERE s.k = o.customer_id",
    'DELETE FROM public.orders o USING public.customers c WHERE o.customer_id = c.id',
  ]) filtered(sql);
});

test('the target read whole by IN, EXISTS or a min/max bound, through CTEs, derived tables, LIMIT ALL and UNION', () => {
  for (const sql of [
    'DELETE FROM public.orders WHERE id IN (WITH x AS (SELECT id FROM public.orders) SELECT id FROM x)',
    'DELETE FROM public.orders WHERE id IN (WITH x(k) AS (SELECT id FROM public.orders) SELECT k FROM x)',
    'DELETE FROM public.orders WHERE id IN (SELECT id FROM (SELECT id FROM public.orders) s)',
    'DELETE FROM public.orders WHERE id IN (SELECT id FROM public.orders LIMIT ALL OFFSET 0)',
    'DELETE FROM public.orders WHERE EXISTS (SELECT FROM public.orders o2 WHERE o2.id = orders.id)',
    'DELETE FROM public.orders WHERE id >= (SELECT min(id) FROM public.orders)',
    'DELETE FROM public.orders WHERE (SELECT max(id) FROM public.orders) >= id',
  ]) unfiltered(sql);
  for (const sql of [
    'DELETE FROM public.orders WHERE id IN (WITH x AS (SELECT id FROM public.orders WHERE id < 5) SELECT id FROM x)',
    "DELETE FROM public.orders WHERE EXISTS (SELECT 1 FROM public.orders o2 WHERE o2.id = orders.id AND o2.status = 'paid')",
    'DELETE FROM public.orders WHERE EXISTS (SELECT 1 FROM public.orders o2 WHERE o2.customer_id = orders.id)',
    "DELETE FROM public.orders WHERE id >= (SELECT min(id) FROM public.orders WHERE status = 'x')",
    'DELETE FROM public.orders WHERE id > (SELECT min(id) FROM public.orders)',
    'DELETE FROM public.orders WHERE id IN (SELECT id FROM public.orders LIMIT 10)',
  ]) filtered(sql);
});

test('neutral wrappers and qualified names are the same expression: (SELECT id), id + 0, status || \'\', orders.id', () => {
  for (const sql of [
    'DELETE FROM public.orders WHERE id = (SELECT id)', 'DELETE FROM public.orders WHERE id = (SELECT orders.id)',
    'DELETE FROM public.orders WHERE id + 0 = id', 'DELETE FROM public.orders WHERE id * 1 >= id',
    "DELETE FROM public.orders WHERE status || '' = status", 'DELETE FROM public.orders WHERE orders.id = id',
  ]) unfiltered(sql);
  for (const sql of ['DELETE FROM public.orders WHERE id + 1 = id', 'DELETE FROM public.orders WHERE id = (SELECT 5)']) filtered(sql);
});

test('a pattern every string matches is a NOT NULL test; NOT NULL is also known through a row, an operator or a view', () => {
  for (const sql of [
    "DELETE FROM public.orders WHERE sku LIKE '%'", "DELETE FROM public.orders WHERE sku ILIKE '%%'",
    "DELETE FROM public.orders WHERE status ~ ''", "DELETE FROM public.orders WHERE status ~* '^.*$'",
    "DELETE FROM public.orders WHERE status SIMILAR TO '%'", 'DELETE FROM public.orders WHERE ROW(id, sku) IS NOT NULL',
    'DELETE FROM public.orders WHERE (id > 5) IS NOT NULL', 'DELETE FROM public.orders WHERE orders IS NOT NULL',
    'DELETE FROM public.customer_contacts WHERE email IS NOT NULL',
  ]) unfiltered(sql);
  for (const sql of [
    "DELETE FROM public.orders WHERE sku LIKE 'S%'", "DELETE FROM public.orders WHERE status ~ '^p'",
    "DELETE FROM public.customers WHERE notes LIKE '%'", 'DELETE FROM public.customers WHERE customers IS NOT NULL',
  ]) filtered(sql);
});

test('t.* and ROW(t.*) stand for the whole row t in a NOT NULL test', () => {
  for (const sql of [
    'DELETE FROM public.orders o WHERE o.* IS NOT NULL', 'DELETE FROM public.orders o WHERE ROW(o.*) IS NOT NULL',
    "UPDATE public.orders SET sku = 'x' WHERE public.orders.* IS NOT NULL", 'DELETE FROM public.orders o WHERE NOT (o.* IS NULL)',
  ]) unfiltered(sql);
  for (const sql of [
    'DELETE FROM public.customers c WHERE c.* IS NOT NULL', 'DELETE FROM public.orders o WHERE o.* IS NULL',
    "UPDATE public.orders o SET sku = 'x' WHERE o.* IS NOT NULL AND o.id = 5",
  ]) filtered(sql);
});

test('an expression that cannot be null: COALESCE or GREATEST with a non-null argument, a built-in of non-null arguments', () => {
  for (const sql of [
    "DELETE FROM public.customers WHERE coalesce(notes, '') IS NOT NULL", 'DELETE FROM public.customers WHERE GREATEST(notes, full_name) IS NOT NULL',
    'DELETE FROM public.orders WHERE lower(sku) IS NOT NULL', 'DELETE FROM public.orders o WHERE pg_catalog.upper(o.sku) IS NOT NULL',
    'DELETE FROM public.orders o WHERE to_jsonb(o) IS NOT NULL', 'DELETE FROM public.orders WHERE length(lower(sku)) IS NOT NULL',
  ]) unfiltered(sql);
  for (const sql of [
    'DELETE FROM public.customers WHERE lower(notes) IS NOT NULL', 'DELETE FROM public.customers WHERE coalesce(notes, NULL) IS NOT NULL',
    "DELETE FROM public.customers WHERE coalesce(notes, '') IS NULL", 'DELETE FROM public.orders WHERE lower(sku) IS NOT NULL AND id = 5',
  ]) filtered(sql);
});

test('MERGE WHEN NOT MATCHED BY SOURCE writes the complement of ON: unfiltered without a condition of its own', () => {
  unfiltered('MERGE INTO public.orders o USING (SELECT 1 AS k) s ON o.id = s.k WHEN NOT MATCHED BY SOURCE THEN DELETE');
  unfiltered("MERGE INTO public.orders o USING (SELECT 1 AS k) s ON o.id = s.k WHEN NOT MATCHED BY SOURCE AND true THEN UPDATE SET sku = 'x'");
  filtered("MERGE INTO public.orders o USING (SELECT 1 AS k) s ON o.id = s.k WHEN NOT MATCHED BY SOURCE AND o.status = 'x' THEN DELETE");
  filtered('MERGE INTO public.orders o USING (SELECT 1 AS k) s ON o.id = s.k WHEN NOT MATCHED BY SOURCE THEN DO NOTHING');
});

test('an upsert of the target\'s own rows updates every row: unfiltered unless DO UPDATE has a WHERE or the rows are filtered', () => {
  unfiltered("INSERT INTO public.orders SELECT * FROM public.orders ON CONFLICT (id) DO UPDATE SET status = 'x'");
  unfiltered("INSERT INTO public.orders TABLE public.orders ON CONFLICT (id) DO UPDATE SET status = 'x'");
  filtered("INSERT INTO public.orders SELECT * FROM public.orders ON CONFLICT (id) DO UPDATE SET status = 'x' WHERE orders.id = 5");
  filtered("INSERT INTO public.orders SELECT * FROM public.orders WHERE id = 5 ON CONFLICT (id) DO UPDATE SET status = 'x'");
  filtered("INSERT INTO public.orders SELECT * FROM public.orders ON CONFLICT (id) DO NOTHING");
  filtered("INSERT INTO public.orders (id, sku) VALUES (1, 'x') ON CONFLICT (id) DO UPDATE SET sku = excluded.sku");
});
