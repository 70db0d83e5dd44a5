import { test } from 'node:test';
import assert from 'node:assert/strict';
import { actions, analyse, CTX, one, outputs, rules } from './test-support.ts';
import { analyzeSql } from './analyze.ts';
import { fixtureCatalog } from './test-catalog.ts';

test('wrappers: PREPARE, EXECUTE, DEALLOCATE, DECLARE, FETCH, CLOSE, EXPLAIN carry the inner facts', () => {
  const [p, e] = analyse('PREPARE p1(int) AS DELETE FROM public.orders WHERE id = $1; EXECUTE p1(public.touch_customer(1))');
  assert.equal(p.kind, 'prepare');
  assert.equal(p.name, 'p1');
  assert.equal(p.inner?.kind, 'delete');
  assert.deepEqual(actions(p), actions(p.inner!));
  assert.equal(e.kind, 'execute');
  assert.ok(actions(e).includes('update:public.customers'));
  assert.equal(one('DEALLOCATE ALL').name, '*');
  assert.equal(one('DEALLOCATE p1').name, 'p1');
  const d = one('DECLARE c BINARY CURSOR WITH HOLD FOR SELECT ssn FROM public.customers');
  assert.equal(d.kind, 'declare');
  assert.equal(d.binaryCursor, true);
  assert.deepEqual(outputs(d.inner!), ['ssn<public.customers.ssn>!']);
  assert.equal(one('FETCH 5 FROM c').name, 'c');
  assert.equal(one('MOVE ABSOLUTE 5 IN c').kind, 'fetch');
  assert.equal(one('CLOSE ALL').name, '*');
  const x = one('EXPLAIN SELECT * FROM billing.api_keys');
  assert.equal(x.kind, 'explain');
  assert.deepEqual(outputs(x), ['QUERY PLAN<>']);
  assert.deepEqual(actions(x), ['read:billing.api_keys']);
});

test('transaction statements', () => {
  const s = analyse('BEGIN; SAVEPOINT a; RELEASE a; ROLLBACK TO a; COMMIT; START TRANSACTION READ ONLY; ROLLBACK');
  assert.deepEqual(s.map((x) => x.transaction), ['begin', 'savepoint', 'release', 'rollback-to', 'commit', 'begin', 'rollback']);
  assert.ok(s.every((x) => x.kind === 'transaction' && x.guardrails.length === 0));
  assert.deepEqual(rules(one('BEGIN READ WRITE')), ['security-setting']);
});

test('SET: allowlisted parameters pass, everything else is a security setting', () => {
  for (const ok of ['SET application_name = \'x\'', 'SET LOCAL statement_timeout = 5', 'SET DateStyle TO ISO', 'SET TIME ZONE \'UTC\'',
    'RESET lock_timeout', 'SET enable_seqscan = off', 'SET client_encoding = \'UTF8\'', 'SET NAMES \'utf-8\'', 'SET standard_conforming_strings = on',
    'SET TRANSACTION ISOLATION LEVEL SERIALIZABLE', 'SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY', 'SET jit = off', 'SET work_mem = \'64MB\'']) {
    assert.deepEqual(rules(one(ok)), [], ok);
    assert.equal(one(ok).kind, 'set');
  }
  for (const bad of ['SET search_path = billing', 'SET SCHEMA \'billing\'', 'SET row_security = off', 'SET session_replication_role = replica',
    'SET default_transaction_read_only = off', 'SET corpus.x = \'1\'', 'SET client_encoding = \'SJIS\'', 'SET standard_conforming_strings = off',
    'SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE', 'SET TRANSACTION READ WRITE', 'RESET search_path', 'SET no_such_param = 1']) {
    assert.deepEqual(rules(one(bad)), ['security-setting'], bad);
  }
  for (const auth of ['SET ROLE postgres', 'RESET ROLE', 'SET SESSION AUTHORIZATION postgres', 'RESET SESSION AUTHORIZATION', 'RESET ALL', 'DISCARD ALL', 'DISCARD PLANS']) {
    assert.deepEqual(rules(one(auth)), ['session-authorization'], auth);
  }
});

test('SHOW has one output column', () => {
  const s = one('SHOW search_path');
  assert.equal(s.kind, 'show');
  assert.deepEqual(outputs(s), ['search_path<>']);
});

test('COPY options from both syntaxes, with defaults', () => {
  const a = one('COPY public.orders (id, sku) TO STDOUT WITH (FORMAT csv, HEADER)');
  assert.equal(a.kind, 'copy-out');
  assert.deepEqual(a.copy, { format: 'csv', delimiter: ',', null: '', header: true, quote: '"', escape: '"' });
  assert.deepEqual(outputs(a), ['id<public.orders.id>!', 'sku<public.orders.sku>!']);
  assert.deepEqual(one('COPY public.orders TO STDOUT').copy, { format: 'text', delimiter: '\t', null: '\\N', header: false, quote: '"', escape: '"' });
  assert.deepEqual(one("COPY public.orders TO STDOUT CSV DELIMITER ';' NULL 'x' QUOTE '''' ESCAPE '\\'").copy,
    { format: 'csv', delimiter: ';', null: 'x', header: false, quote: "'", escape: '\\' });
  assert.equal(one('COPY public.orders TO STDOUT (FORMAT binary)').copy?.format, 'binary');
  assert.equal(one('COPY public.orders TO STDOUT').output?.length, 6);
  const i = one('COPY public.orders FROM STDIN');
  assert.equal(i.kind, 'copy-in');
  assert.deepEqual(actions(i), ['insert:public.orders']);
  assert.deepEqual(rules(one("COPY public.orders TO '/tmp/x'")), ['copy-file']);
  assert.deepEqual(rules(one("COPY public.orders FROM '/tmp/x'")), ['copy-file']);
});

test('writes: ON CONFLICT DO UPDATE, MERGE per action, writes through views, TRUNCATE, LOCK, row locks', () => {
  assert.ok(actions(one('INSERT INTO public.orders (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET sku = excluded.sku')).includes('update:public.orders'));
  const m = one('MERGE INTO public.orders o USING public.customers c ON o.customer_id = c.id WHEN MATCHED THEN UPDATE SET sku = \'x\' WHEN NOT MATCHED THEN INSERT (id) VALUES (c.id) WHEN NOT MATCHED BY SOURCE AND o.sku = \'x\' THEN DELETE');
  for (const p of ['insert', 'update', 'delete']) assert.ok(actions(m).includes(`${p}:public.orders`));
  assert.deepEqual(rules(m), []);
  const v = one('UPDATE public.customer_contacts SET phone = \'1\' WHERE id = 1');
  assert.ok(actions(v).includes('update:public.customer_contacts') && actions(v).includes('update:public.customers'));
  const t = one('TRUNCATE analytics.quality_flags');
  assert.deepEqual(actions(t), ['truncate:analytics.quality_flags']);
  assert.deepEqual(rules(t), ['truncate']);
  assert.equal(one('LOCK TABLE public.orders').actions[0].via, 'LOCK');
  const r = one('SELECT * FROM (SELECT id FROM public.orders FOR SHARE) s');
  assert.deepEqual(r.actions.filter((a) => a.via === 'row lock').map((a) => a.object), ['public.orders']);
  const k = one('SELECT 1 FROM public.orders o, public.customers c WHERE o.customer_id = c.id FOR KEY SHARE OF c');
  assert.deepEqual(k.actions.filter((a) => a.via === 'row lock').map((a) => a.object), ['public.customers']);
  // A MERGE that only does nothing still locks its target as for writing.
  const n = one('MERGE INTO public.orders o USING (SELECT 1 AS id) s ON o.id = s.id WHEN NOT MATCHED THEN DO NOTHING');
  assert.deepEqual(n.actions.filter((a) => a.via === 'row lock').map((a) => `${a.privilege}:${a.object}`), ['update:public.orders']);
  assert.deepEqual(m.actions.filter((a) => a.via === 'row lock'), []);
});

test('unfiltered writes: no WHERE, constant-true WHERE, WHERE not about the target, MERGE ON true', () => {
  for (const sql of ['DELETE FROM public.orders', 'DELETE FROM public.orders WHERE true', 'DELETE FROM public.orders WHERE 1=1',
    "UPDATE public.orders SET sku = 'x' WHERE 'a' = 'a'", 'DELETE FROM public.orders WHERE NOT false', 'DELETE FROM public.orders WHERE id = 1 OR 1 = 1',
    "UPDATE public.orders SET sku = 'x' FROM public.customers c WHERE c.region = 'EU'", 'DELETE FROM public.orders WHERE true AND 2 > 1',
    'WITH d AS (DELETE FROM public.orders RETURNING 1) SELECT 1', 'MERGE INTO public.orders o USING public.customers c ON true WHEN MATCHED THEN DELETE']) {
    assert.ok(rules(one(sql)).includes('unfiltered-write'), sql);
  }
  for (const sql of ['DELETE FROM public.orders WHERE id = 1', 'DELETE FROM public.orders o USING public.customers c WHERE o.customer_id = c.id',
    'UPDATE public.orders SET sku = \'x\' WHERE CURRENT OF c1', 'DELETE FROM public.orders WHERE id = 1 AND 1 = 1']) {
    assert.deepEqual(rules(one(sql)), [], sql);
  }
});

test('unfiltered writes: an expression compared with itself, or a condition and its complement', () => {
  for (const sql of ['DELETE FROM public.orders WHERE id = id', "UPDATE public.orders SET sku = 'x' WHERE amount >= amount",
    'DELETE FROM public.orders WHERE id IS NOT DISTINCT FROM id', 'DELETE FROM public.orders WHERE id BETWEEN id AND id',
    'DELETE FROM public.orders WHERE id IN (id)', 'DELETE FROM public.orders WHERE id = ANY(ARRAY[id, 5])', 'DELETE FROM public.orders WHERE NOT (id <> id)', 'DELETE FROM public.orders WHERE id::text = id::text',
    "DELETE FROM public.orders WHERE status = status OR id = 1", 'DELETE FROM public.orders WHERE id IS NULL OR id IS NOT NULL',
    "DELETE FROM public.orders WHERE status LIKE 'a%' OR NOT status LIKE 'a%'", 'DELETE FROM public.orders WHERE id > 0 OR id <= 0',
    'DELETE FROM public.orders WHERE amount < 5 OR 5 <= amount',
    'MERGE INTO public.orders o USING public.customers c ON o.id = o.id WHEN MATCHED THEN DELETE']) {
    assert.ok(rules(one(sql)).includes('unfiltered-write'), sql);
  }
  for (const sql of ['DELETE FROM public.orders WHERE id = customer_id', 'DELETE FROM public.orders WHERE id + 1 = id + 2',
    'DELETE FROM public.orders WHERE id = 1 OR id IS NULL', 'DELETE FROM public.orders WHERE id > 0 OR id < 0']) {
    assert.deepEqual(rules(one(sql)), [], sql);
  }
  assert.equal(one('DELETE FROM public.orders WHERE id = id').guardrails[0].object, 'public.orders');
});

test('unfiltered writes: a NULL test on a NOT NULL column of the target filters nothing', () => {
  for (const sql of ['DELETE FROM public.orders WHERE id IS NOT NULL', 'DELETE FROM public.orders o WHERE o.status IS NOT NULL',
    "UPDATE public.orders SET sku = 'x' WHERE NOT (sku IS NULL)", 'DELETE FROM public.orders WHERE id IS NOT NULL AND amount IS NOT NULL',
    'DELETE FROM public.orders WHERE (id IS NOT NULL) IS TRUE', 'DELETE FROM public.orders WHERE id IS NULL OR sku IS NOT NULL',
    'WITH d AS (DELETE FROM public.orders WHERE public.orders.id IS NOT NULL RETURNING id) SELECT count(*) FROM d']) {
    assert.ok(rules(one(sql)).includes('unfiltered-write'), sql);
  }
  // Nullable columns, columns of another table, and real filters beside the test stay filters.
  for (const sql of ['DELETE FROM public.customers WHERE notes IS NOT NULL', 'DELETE FROM public.orders WHERE id IS NULL',
    'DELETE FROM public.orders o USING public.customers c WHERE c.id = o.customer_id AND c.email IS NOT NULL',
    'DELETE FROM public.orders WHERE id IS NOT NULL AND id = 5']) {
    assert.deepEqual(rules(one(sql)), [], sql);
  }
});

test('unfiltered writes: a condition and its NOT form (NOT IN, NOT LIKE, NOT BETWEEN, …), a negated contradiction, a CASE or NULL test in other words', () => {
  for (const sql of ["DELETE FROM public.orders WHERE status IN ('paid') OR status NOT IN ('paid')",
    'DELETE FROM public.orders WHERE id BETWEEN 1 AND 5 OR id NOT BETWEEN 1 AND 5', "DELETE FROM public.orders WHERE sku LIKE 'a%' OR sku NOT LIKE 'a%'",
    "DELETE FROM public.orders WHERE sku ILIKE 'a%' OR sku NOT ILIKE 'a%'", "DELETE FROM public.orders WHERE sku SIMILAR TO 'a%' OR sku NOT SIMILAR TO 'a%'",
    "DELETE FROM public.orders WHERE sku ~ '^a' OR sku !~ '^a'", "DELETE FROM public.orders WHERE status IS DISTINCT FROM 'paid' OR status IS NOT DISTINCT FROM 'paid'",
    'DELETE FROM public.orders WHERE (amount > 5) IS TRUE OR (amount > 5) IS NOT TRUE', 'DELETE FROM public.orders WHERE id = ANY(ARRAY[1, 2]) OR id <> ALL(ARRAY[1, 2])',
    'DELETE FROM public.orders WHERE NOT (id = 5 AND NOT id = 5)', 'DELETE FROM public.orders WHERE CASE WHEN id = 1 THEN true ELSE true END',
    'DELETE FROM public.orders WHERE id IS DISTINCT FROM NULL', "UPDATE public.orders SET sku = 'x' WHERE NOT (status IS NOT DISTINCT FROM NULL)",
    'DELETE FROM public.orders WHERE id::text IS NOT NULL']) {
    assert.ok(rules(one(sql)).includes('unfiltered-write'), sql);
  }
  for (const sql of ["DELETE FROM public.orders WHERE status IN ('paid') OR status NOT IN ('shipped')",
    "DELETE FROM public.orders WHERE sku LIKE 'a%' OR sku NOT LIKE 'b%'", 'DELETE FROM public.orders WHERE id BETWEEN 1 AND 5 OR id NOT BETWEEN 1 AND 6',
    "DELETE FROM public.orders WHERE status IS DISTINCT FROM 'paid'", 'DELETE FROM public.customers WHERE notes IS DISTINCT FROM NULL',
    'DELETE FROM public.orders WHERE id = 5 AND NOT id = 6', 'DELETE FROM public.orders WHERE CASE WHEN id = 1 THEN true ELSE false END',
    'DELETE FROM public.orders WHERE CASE WHEN id = 1 THEN true END']) {
    assert.deepEqual(rules(one(sql)), [], sql);
  }
});

test('unfiltered writes: the target read back whole by an IN subquery filters nothing; a subquery that may drop rows still filters', () => {
  for (const sql of ['DELETE FROM public.orders WHERE id IN (SELECT id FROM public.orders)',
    "UPDATE public.orders SET sku = 'x' WHERE id = ANY (SELECT id FROM orders)",
    'DELETE FROM public.orders o WHERE o.customer_id IN (SELECT x.customer_id FROM public.orders x)',
    'DELETE FROM public.orders WHERE id IN (SELECT DISTINCT orders.id FROM public.orders WHERE true)',
    'DELETE FROM ONLY public.customers WHERE id IN (SELECT id FROM public.customers)',
    'WITH d AS (DELETE FROM public.orders WHERE id IN (SELECT id FROM public.orders) RETURNING 1) SELECT count(*) FROM d',
    // A UNION holds every row of its branches: the target read whole in one branch is still read whole.
    'DELETE FROM public.orders WHERE id IN (SELECT id FROM public.orders UNION SELECT 1)']) {
    assert.ok(rules(one(sql)).includes('unfiltered-write'), sql);
  }
  for (const sql of ["DELETE FROM public.orders WHERE id IN (SELECT id FROM public.orders WHERE status = 'paid')",
    'DELETE FROM public.orders WHERE id IN (SELECT id FROM public.orders ORDER BY id LIMIT 2)',
    'DELETE FROM public.orders WHERE id IN (SELECT customer_id FROM public.orders)',
    'DELETE FROM public.orders WHERE customer_id IN (SELECT id FROM public.customers)',
    'DELETE FROM public.customers WHERE id IN (SELECT id FROM ONLY public.customers)',
    'WITH orders AS (SELECT 5 AS id) DELETE FROM public.orders WHERE id IN (SELECT id FROM orders)',
    'DELETE FROM public.orders WHERE id IN (SELECT DISTINCT ON (customer_id) id FROM public.orders)',
    'DELETE FROM public.orders WHERE id IN (SELECT id FROM public.orders GROUP BY id HAVING count(*) > 1)',
    'DELETE FROM public.orders WHERE id IN (SELECT o.id FROM public.orders o JOIN public.customers c ON c.id = o.customer_id)',
    'DELETE FROM public.orders WHERE id > ANY (SELECT id FROM public.orders)']) {
    assert.deepEqual(rules(one(sql)), [], sql);
  }
});

test('routine calls: name rules, volatility, SECURITY DEFINER, bodies analysed with via', () => {
  assert.deepEqual(rules(one('SELECT query FROM pg_stat_get_activity(NULL)')), ['data-catalog']);
  assert.deepEqual(rules(one('SELECT * FROM pg_show_all_file_settings()')), ['server-file-function']);
  assert.deepEqual(rules(one('SELECT * FROM pg_catalog.pg_hba_file_rules')), ['server-file-function']);
  assert.deepEqual(rules(one('SELECT random(), clock_timestamp(), now()')), []);
  assert.deepEqual(rules(one("SELECT pg_total_relation_size('public.orders'), pg_is_in_recovery()")), []);
  assert.deepEqual(rules(one('SELECT setseed(0.5)')), ['side-effect-function']);
  assert.deepEqual(rules(one('SELECT txid_current()')), ['side-effect-function']);
  assert.deepEqual(rules(one('SELECT * FROM ts_stat(\'SELECT 1\')')), ['sql-text-function']);
  assert.deepEqual(rules(one('SELECT pg_advisory_lock(1)')), ['side-effect-function']);
  const s = one('SELECT * FROM public.customer_billing_profile(1)');
  assert.deepEqual(rules(s), ['security-definer']);
  assert.equal(s.actions.find((a) => a.object === 'billing.invoices')?.via, 'function public.customer_billing_profile');
  const c = one('CALL public.archive_orders(DATE \'2024-01-01\')');
  assert.equal(c.kind, 'call');
  assert.deepEqual(actions(c), ['execute:public.archive_orders', 'delete:public.orders', 'read:public.orders']);
  assert.deepEqual(rules(one('SELECT analytics.refresh_daily_stats()')), ['unfiltered-write']);
  assert.deepEqual(rules(one('SELECT dblink_connect(\'x\')')), ['out-of-band-connection']);
});

test('C routines outside pg_catalog without a name rule are unanalysable', () => {
  const s = one('SELECT public.opaque()', { extraFunctions: [{ oid: 7, schema: 'public', name: 'opaque', kind: 'function', volatility: 'stable', securityDefiner: false, language: 'c', body: null, returnsSet: false }] });
  assert.deepEqual(rules(s), ['unanalysable']);
});

test('CREATE FUNCTION: DDL, SECURITY DEFINER, sql (AS and BEGIN ATOMIC) and plpgsql bodies; dynamic EXECUTE', () => {
  const a = one('CREATE FUNCTION public.f() RETURNS SETOF text LANGUAGE sql AS $$ SELECT ssn FROM public.customers $$');
  assert.deepEqual(actions(a), ['ddl:public.f', 'read:public.customers']);
  assert.ok(a.changesCatalog);
  const b = one('CREATE FUNCTION public.g() RETURNS int LANGUAGE sql SECURITY DEFINER BEGIN ATOMIC DELETE FROM public.orders WHERE id = 1; SELECT 1; END');
  assert.deepEqual(rules(b), ['security-definer']);
  assert.ok(actions(b).includes('delete:public.orders'));
  const c = one('CREATE PROCEDURE public.p(x int) LANGUAGE plpgsql AS $$ BEGIN UPDATE public.orders SET sku = \'a\' WHERE id = x; EXECUTE \'DROP TABLE public.orders\'; END $$');
  assert.ok(actions(c).includes('update:public.orders'));
  assert.deepEqual(rules(c), ['unanalysable']);
  assert.match(c.guardrails[0].detail, /dynamic SQL/);
  assert.deepEqual(rules(one('CREATE FUNCTION public.h() RETURNS int LANGUAGE plpython3u AS $$ return 1 $$')), ['unanalysable']);
});

test('DDL objects and drop guardrails', () => {
  assert.deepEqual(actions(one('CREATE SCHEMA scratch')), ['ddl:scratch.*']);
  assert.deepEqual(rules(one('ALTER TABLE public.orders DROP COLUMN sku')), ['drop']);
  assert.deepEqual(rules(one('ALTER TABLE public.orders DROP CONSTRAINT orders_pkey')), ['drop']);
  assert.deepEqual(rules(one('ALTER TABLE public.orders ADD COLUMN note text DEFAULT pg_sleep(1)::text')), ['side-effect-function']);
  assert.deepEqual(actions(one('SELECT * INTO TEMP x FROM public.orders')), ['ddl:pg_temp.x', 'read:public.orders']);
  assert.deepEqual(actions(one('VACUUM')), ['ddl:*']);
  assert.equal(one('REFRESH MATERIALIZED VIEW analytics.customer_ltv').kind, 'maintenance');
  assert.deepEqual(rules(one('DROP EXTENSION dblink')).sort(), ['drop', 'server-admin']);
  assert.deepEqual(rules(one('ALTER FUNCTION public.touch_customer(int) SECURITY DEFINER')), ['security-definer']);
  assert.deepEqual(actions(one('CREATE TRIGGER t BEFORE UPDATE ON public.orders FOR EACH ROW EXECUTE FUNCTION public.touch_customer()')).slice(0, 2), ['ddl:public.orders', 'execute:public.touch_customer']);
});

test('table definitions read the tables they copy (LIKE) or reference (FOREIGN KEY)', () => {
  assert.deepEqual(actions(one('CREATE TABLE public.k (LIKE billing.api_keys INCLUDING ALL)')), ['ddl:public.k', 'read:billing.api_keys']);
  assert.deepEqual(actions(one('CREATE TABLE public.k (x int REFERENCES billing.api_keys (id))')), ['ddl:public.k', 'read:billing.api_keys']);
  assert.deepEqual(actions(one('ALTER TABLE public.orders ADD CONSTRAINT fk FOREIGN KEY (customer_id) REFERENCES billing.api_keys (id)')),
    ['ddl:public.orders', 'read:billing.api_keys']);
  assert.deepEqual(actions(one('ALTER TABLE public.orders ADD COLUMN k int REFERENCES billing.api_keys')), ['ddl:public.orders', 'read:billing.api_keys']);
});

test('table definitions read the relations whose row type they use (a column type, CREATE TABLE OF)', () => {
  assert.deepEqual(actions(one('CREATE TABLE public.k (k billing.api_keys)')), ['ddl:public.k', 'read:billing.api_keys']);
  assert.deepEqual(actions(one('CREATE TABLE public.k OF billing.api_keys')), ['ddl:public.k', 'read:billing.api_keys']);
  assert.deepEqual(actions(one('ALTER TABLE public.orders ADD COLUMN k billing.invoices_2024[]')), ['ddl:public.orders', 'read:billing.invoices_2024']);
  assert.deepEqual(actions(one('CREATE TABLE public.k (a int, b text)')), ['ddl:public.k']);
});

test('privilege and server administration statements', () => {
  for (const sql of ['GRANT SELECT ON public.orders TO PUBLIC', 'REVOKE ALL ON SCHEMA public FROM PUBLIC', 'ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO PUBLIC',
    'CREATE USER x', 'ALTER ROLE x SET search_path = billing', 'DROP ROLE x', 'ALTER DATABASE corpus SET row_security = off', 'GRANT pg_read_server_files TO x']) {
    assert.ok(rules(one(sql)).includes('privilege-change'), sql);
    assert.ok(actions(one(sql)).includes('admin:*'), sql);
  }
  for (const sql of ['LOAD \'auto_explain\'', 'CHECKPOINT', 'ALTER SYSTEM SET work_mem = \'1GB\'', 'CREATE EXTENSION file_fdw', 'ALTER EXTENSION dblink UPDATE']) {
    assert.deepEqual(rules(one(sql)), ['server-admin'], sql);
  }
  for (const sql of ['LISTEN ch', 'NOTIFY ch, \'x\'', 'UNLISTEN *']) assert.deepEqual(rules(one(sql)), ['listen-notify'], sql);
  assert.deepEqual(rules(one('DO $$ BEGIN END $$')), ['do-block']);
});

test('huge expressions and set operations fail closed instead of throwing', () => {
  for (const sql of [
    `SELECT ${Array.from({ length: 20000 }, () => '1').join(' + ')}`,
    Array.from({ length: 3000 }, () => 'SELECT ssn FROM public.customers').join(' UNION ALL '),
  ]) {
    const r = analyzeSql(sql, fixtureCatalog(), CTX);
    if (!r.ok) { assert.ok('error' in r && r.error.code === '54001'); continue; }
    const s = r.analysis.statements[0];
    assert.ok(s.guardrails.length > 0 || s.output?.[0].sources.includes('public.customers.ssn'));
  }
});
