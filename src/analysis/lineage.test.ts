import { test } from 'node:test';
import assert from 'node:assert/strict';
import { one, outputs, uses, rules, actions } from './test-support.ts';

const C = 'public.customers';

test('table columns are direct; aliases rename the output, not the source', () => {
  assert.deepEqual(outputs(one('SELECT email AS full_name, id FROM public.customers')), [`full_name<${C}.email>!`, `id<${C}.id>!`]);
});

test('views map their columns by position to the definition (renames included), recursively', () => {
  const s = one('SELECT tax_id, contact FROM public.customer_export');
  assert.deepEqual(outputs(s), [`tax_id<${C}.ssn>!`, `contact<${C}.email>!`]);
  assert.deepEqual(actions(s), ['read:public.customer_export', 'read:public.customers']);
  assert.equal(s.actions[1].via, 'view public.customer_export');
  const m = one('SELECT contact_email, lifetime_value FROM analytics.customer_ltv');
  assert.deepEqual(outputs(m), [`contact_email<${C}.email>!`, 'lifetime_value<public.orders.amount>']);
});

test('uses inside view definitions are not reported; the client\'s are', () => {
  const s = one('SELECT region FROM analytics.customer_ltv WHERE contact_email LIKE \'a%\'');
  assert.ok(uses(s).includes(`${C}.email:predicate`));
  assert.ok(!uses(s).includes(`${C}.id:group`), 'GROUP BY inside the matview is the DBA\'s');
});

test('subqueries, CTEs and scalar sublinks keep plain references direct', () => {
  assert.deepEqual(outputs(one('SELECT e FROM (SELECT email AS e FROM public.customers) s')), [`e<${C}.email>!`]);
  assert.deepEqual(outputs(one('WITH x AS (SELECT ssn FROM public.customers) SELECT ssn FROM x')), [`ssn<${C}.ssn>!`]);
  assert.deepEqual(outputs(one('SELECT (SELECT c.email FROM public.customers c WHERE c.id = o.customer_id) FROM public.orders o')), [`email<${C}.email>!`]);
});

test('recursive CTEs take the union of anchor and recursive terms', () => {
  const s = one('WITH RECURSIVE r(v, n) AS (SELECT email, 1 FROM public.customers UNION ALL SELECT v, n + 1 FROM r WHERE n < 3) SELECT v, n FROM r');
  assert.deepEqual(outputs(s), [`v<${C}.email>!`, 'n<>']);
});

test('UNION ALL of plain references stays direct; UNION adds group uses', () => {
  assert.deepEqual(outputs(one('SELECT full_name FROM public.customers UNION ALL SELECT ssn FROM public.customers')), [`full_name<${C}.full_name|${C}.ssn>!`]);
  const u = one('SELECT full_name FROM public.customers UNION SELECT ssn FROM public.customers');
  assert.ok(uses(u).includes(`${C}.ssn:group`));
});

test('anything computed is not direct and records expression uses', () => {
  const s = one('SELECT upper(email), ssn::bytea, card_number || \'\', coalesce(phone, \'\'), CASE WHEN true THEN email END, ARRAY[ssn] FROM public.customers');
  assert.deepEqual(outputs(s), [`upper<${C}.email>`, `ssn<${C}.ssn>`, `?column?<${C}.card_number>`, `coalesce<${C}.phone>`, `case<${C}.email>`, `array<${C}.ssn>`]);
  assert.ok(uses(s).includes(`${C}.email:expression`));
});

test('ARRAY(subquery) and aggregates are not direct', () => {
  assert.deepEqual(outputs(one('SELECT ARRAY(SELECT email FROM public.customers)')), [`array<${C}.email>`]);
  assert.deepEqual(outputs(one('SELECT min(ssn) FROM public.customers')), [`min<${C}.ssn>`]);
});

test('ordered-set aggregates return their WITHIN GROUP values', () => {
  const s = one('SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY card_number) FROM public.customers');
  assert.deepEqual(outputs(s), [`percentile_disc<${C}.card_number>`]);
  assert.ok(uses(s).includes(`${C}.card_number:order`));
});

test('IS NULL and count(col) are presence only and add no sources', () => {
  const s = one('SELECT count(email), email IS NULL AS missing FROM public.customers WHERE ssn IS NOT NULL');
  assert.deepEqual(outputs(s), ['count<>', 'missing<>']);
  assert.deepEqual(uses(s).sort(), [`${C}.email:presence`, `${C}.ssn:presence`]);
  const d = one('SELECT count(DISTINCT email) FROM public.customers');
  assert.ok(uses(d).includes(`${C}.email:expression`));
});

test('whole-row references: bare alias, casts, to_jsonb, field selection', () => {
  const s = one('SELECT c FROM public.customers c');
  assert.equal(s.output![0].direct, false);
  assert.equal(s.output![0].sources.length, 9);
  assert.ok(uses(s).includes(`${C}.ssn:whole-row`));
  assert.ok(uses(one('SELECT to_jsonb(c) FROM public.customers c')).includes(`${C}.card_number:whole-row`));
  assert.ok(uses(one('SELECT row_to_json(c.*) FROM public.customers c')).includes(`${C}.email:whole-row`));
  assert.ok(uses(one('SELECT (s.c).ssn FROM (SELECT c FROM public.customers c) s')).includes(`${C}.ssn:whole-row`));
});

test('* and t.* expand with lineage; FROM alias column lists rename by position', () => {
  assert.equal(one('SELECT * FROM public.orders').output!.length, 6);
  assert.deepEqual(outputs(one('SELECT c.k, c.s FROM public.customers AS c(k, n, e, s)')), [`k<${C}.id>!`, `s<${C}.ssn>!`]);
  assert.deepEqual(outputs(one('SELECT o.* FROM public.orders o JOIN public.customers c ON c.id = o.customer_id')).length, 6);
});

test('JOIN USING merges the column (listed first by *) and stays direct', () => {
  const s = one('SELECT * FROM public.orders JOIN public.customer_contacts USING (id)');
  assert.equal(s.output![0].name, 'id');
  assert.deepEqual(s.output![0].sources, ['public.orders.id', `${C}.id`]);
  assert.equal(s.output![0].direct, true);
  assert.equal(s.output!.length, 6 + 5 - 1);
});

test('set-returning functions in FROM: column definition lists, OUT columns, or the alias', () => {
  const s = one('SELECT x.label FROM jsonb_to_recordset((SELECT jsonb_agg(k) FROM billing.api_keys k)) AS x(label text, secret text)');
  assert.equal(s.output![0].direct, false);
  assert.ok(s.output![0].sources.includes('billing.api_keys.secret'));
  assert.deepEqual(outputs(one('SELECT g FROM generate_series(1, 3) g')), ['g<>']);
  assert.deepEqual(outputs(one('SELECT i FROM generate_series(1, 3) g(i)')), ['i<>']);
  const f = one('SELECT card_on_file FROM public.customer_billing_profile(1)');
  assert.equal(f.output![0].direct, false);
  assert.ok(f.output![0].sources.includes(`${C}.card_number`));
});

test('bare names search the FROM scope, then outer scopes (correlation); ambiguity is unanalysable', () => {
  const s = one('SELECT id FROM public.orders o WHERE EXISTS (SELECT 1 FROM public.customers c WHERE c.id = customer_id AND ssn = \'x\')');
  assert.ok(uses(s).includes('public.orders.customer_id:predicate'));
  assert.ok(uses(s).includes(`${C}.ssn:predicate`));
  assert.deepEqual(rules(one('SELECT id FROM public.orders, public.customers')), ['unanalysable']);
  assert.deepEqual(rules(one('SELECT nope FROM public.orders')), ['unanalysable']);
});

test('predicate contexts: WHERE, JOIN ON, HAVING, FILTER, CASE WHEN, LIMIT, IN (subquery)', () => {
  const p = (sql: string, col: string): void => assert.ok(uses(one(sql)).includes(`${col}:predicate`), sql);
  p('SELECT 1 FROM public.customers WHERE email = \'a\'', `${C}.email`);
  p('SELECT 1 FROM public.customers a JOIN public.customers b ON a.phone = b.phone', `${C}.phone`);
  p('SELECT region FROM public.customers GROUP BY region HAVING max(ssn) > \'1\'', `${C}.ssn`);
  p('SELECT count(*) FILTER (WHERE ssn > \'1\') FROM public.customers', `${C}.ssn`);
  p('SELECT CASE WHEN ssn LIKE \'1%\' THEN 1 END FROM public.customers', `${C}.ssn`);
  p('SELECT 1 FROM public.customers LIMIT (SELECT length(max(ssn)) FROM public.customers)', `${C}.ssn`);
  p('SELECT 1 FROM public.orders WHERE customer_id IN (SELECT length(email) FROM public.customers)', `${C}.email`);
});

test('order and group contexts: positional, output alias, window, DISTINCT, DISTINCT ON', () => {
  const has = (sql: string, want: string): void => assert.ok(uses(one(sql)).includes(want), `${sql} → ${want}`);
  has('SELECT id, ssn FROM public.customers ORDER BY 2', `${C}.ssn:order`);
  has('SELECT id, ssn AS s FROM public.customers ORDER BY s', `${C}.ssn:order`);
  has('SELECT rank() OVER (PARTITION BY phone ORDER BY email) FROM public.customers', `${C}.phone:group`);
  has('SELECT rank() OVER (PARTITION BY phone ORDER BY email) FROM public.customers', `${C}.email:order`);
  has('SELECT sum(id) OVER w FROM public.customers WINDOW w AS (PARTITION BY ssn)', `${C}.ssn:group`);
  has('SELECT string_agg(full_name, \',\' ORDER BY email) FROM public.customers', `${C}.email:order`);
  has('SELECT phone, count(*) FROM public.customers GROUP BY 1', `${C}.phone:group`);
  has('SELECT DISTINCT email FROM public.customers', `${C}.email:group`);
  has('SELECT DISTINCT ON (ssn) id FROM public.customers', `${C}.ssn:group`);
});

test('INSERT ... SELECT values and UPDATE SET right-hand sides are write uses', () => {
  assert.ok(uses(one('INSERT INTO analytics.quality_flags (table_name, row_ref, column_name, issue, severity) SELECT \'t\', ssn, \'c\', \'i\', \'low\' FROM public.customers')).includes(`${C}.ssn:write`));
  assert.ok(uses(one('UPDATE public.orders o SET sku = c.email FROM public.customers c WHERE c.id = o.customer_id')).includes(`${C}.email:write`));
});

test('DML RETURNING gives output lineage; without RETURNING the output is null', () => {
  assert.deepEqual(outputs(one('DELETE FROM public.customers WHERE id = 1 RETURNING email')), [`email<${C}.email>!`]);
  assert.equal(one('DELETE FROM public.customers WHERE id = 1').output, null);
});

test('pg_stat_activity is a data catalog only when its query column is reached', () => {
  assert.deepEqual(rules(one('SELECT pid, state FROM pg_stat_activity')), []);
  assert.deepEqual(rules(one('SELECT query FROM pg_stat_activity')), ['data-catalog']);
  assert.deepEqual(rules(one('SELECT * FROM pg_catalog.pg_stat_activity')), ['data-catalog']);
  assert.deepEqual(rules(one('SELECT count(*) FROM pg_stat_activity WHERE query LIKE \'%x%\'')), ['data-catalog']);
  assert.deepEqual(rules(one('SELECT to_jsonb(a) FROM pg_stat_activity a')), ['data-catalog']);
});

test('catalogNames lists string constants when a catalog relation is read, anywhere', () => {
  assert.deepEqual(one('SELECT table_name FROM information_schema.tables WHERE table_schema = \'Billing\'').catalogNames, ['billing']);
  assert.deepEqual(one('SELECT 1 WHERE EXISTS (SELECT 1 FROM pg_class WHERE relname = \'api_keys\')').catalogNames, ['api_keys', 'billing.api_keys']);
  assert.equal(one('SELECT \'billing\' FROM public.orders').catalogNames, undefined);
});

test('recursive CTEs: a value moved between columns on later rounds keeps its lineage; SEARCH and CYCLE columns carry what they track', () => {
  const shift = 'WITH RECURSIVE r(n, a, b) AS (SELECT 1, \'\'::text, \'\'::text UNION ALL SELECT n + 1, b, (SELECT ssn FROM public.customers LIMIT 1) FROM r';
  assert.deepEqual(outputs(one(`${shift} WHERE n < 3) SELECT a FROM r`)), [`a<${C}.ssn>`]);
  assert.ok(uses(one(`${shift} WHERE a LIKE '1%') SELECT n FROM r`)).includes(`${C}.ssn:predicate`));
  const sc = one('WITH RECURSIVE r(e) AS (SELECT email FROM public.customers UNION ALL SELECT e FROM r) SEARCH DEPTH FIRST BY e SET ord CYCLE e SET is_cycle USING path SELECT * FROM r');
  assert.deepEqual(outputs(sc), [`e<${C}.email>!`, `ord<${C}.email>`, `is_cycle<${C}.email>`, `path<${C}.email>`]);
  assert.ok(uses(sc).includes(`${C}.email:order`));
});

test('XMLTABLE columns take the lineage of their PATH and DEFAULT expressions', () => {
  const d = one('SELECT x.v FROM public.customers c, XMLTABLE(\'/r\' PASSING \'<r/>\' COLUMNS v text PATH \'m\' DEFAULT c.ssn) x');
  assert.deepEqual(outputs(d), [`v<${C}.ssn>`]);
  const p = one('SELECT x.v FROM public.customers c, XMLTABLE(\'/r\' PASSING \'<r/>\' COLUMNS v text PATH \'\'\'\' || c.email || \'\'\'\') x');
  assert.deepEqual(outputs(p), [`v<${C}.email>`]);
});

test('comparisons hidden in joins and set operations: USING, NATURAL, INTERSECT ALL, EXCEPT ALL', () => {
  const has = (sql: string, want: string): void => assert.ok(uses(one(sql)).includes(want), `${sql} → ${want}`);
  has('SELECT count(*) FROM public.customers JOIN (VALUES (\'x\')) v(ssn) USING (ssn)', `${C}.ssn:predicate`);
  has('SELECT id FROM public.customers NATURAL JOIN (SELECT \'x\'::text AS email) v', `${C}.email:predicate`);
  has('SELECT ssn FROM public.customers INTERSECT ALL SELECT \'x\'', `${C}.ssn:group`);
  has('SELECT email FROM public.customers EXCEPT ALL SELECT \'x\'', `${C}.email:group`);
  assert.deepEqual(uses(one('SELECT ssn FROM public.customers UNION ALL SELECT email FROM public.customers')), []);
});

test('arguments of set-returning functions decide how many rows come back: predicate uses', () => {
  const has = (sql: string, want: string): void => assert.ok(uses(one(sql)).includes(want), `${sql} → ${want}`);
  has('SELECT count(*) FROM public.customers c, generate_series(1, length(c.ssn)) g', `${C}.ssn:predicate`);
  has('SELECT (SELECT count(*) FROM (SELECT generate_series(1, length(c.email))) s) FROM public.customers c', `${C}.email:predicate`);
  assert.deepEqual(uses(one('SELECT upper(email) FROM public.customers')), [`${C}.email:expression`]);
});
