// A masked value that reaches an operation able to fail on it is an error oracle ('fallible' use):
// arithmetic, casts to non-text types, functions outside the known-total list, subscripts, XMLPARSE.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { one, uses } from './test-support.ts';
import { safeArgument, safeCast, safeOperand } from './fallible.ts';

const SSN = 'public.customers.ssn';
const fallible = (sql: string): boolean => uses(one(sql)).includes(`${SSN}:fallible`);

test('arithmetic, casts to non-text types and unknown functions are fallible uses of their operands', () => {
  for (const sql of [
    'SELECT 1/(ascii(ssn) - 49) FROM public.customers WHERE id = 1',
    'SELECT ascii(substr(ssn, 3, 1)) * 43826197 FROM public.customers',
    'SELECT substr(ssn, 1, 3)::int FROM public.customers',
    "SELECT (ssn = '137-14-7919')::int FROM public.customers",
    'SELECT CAST(ssn AS date) FROM public.customers',
    'SELECT chr(ascii(ssn) - 48) FROM public.customers',
    "SELECT repeat('x', ascii(ssn)) FROM public.customers",
    "SELECT substr('abc', 1, ascii(ssn) - 60) FROM public.customers",
    'SELECT (ARRAY[1, 2])[ascii(ssn)] FROM public.customers',
    "SELECT format(ssn, 1) FROM public.customers",
    "SELECT 'x' ~ ssn FROM public.customers",
    'SELECT xmlparse(content ssn) FROM public.customers',
    "SELECT (to_jsonb(c) ->> 'ssn')::numeric FROM public.customers c",
  ]) assert.ok(fallible(sql), sql);
});

test('functions and operators that accept every value stay plain expression uses (masked in the output)', () => {
  for (const sql of [
    'SELECT upper(ssn), md5(ssn), length(ssn), reverse(ssn) FROM public.customers',
    "SELECT substr(ssn, 1, 3), split_part(ssn, '-', 2), ssn || 'x' FROM public.customers",
    "SELECT ssn > '5', ssn LIKE '1%', coalesce(ssn, ''), nullif(ssn, '') FROM public.customers",
    "SELECT to_jsonb(c) ->> 'ssn', row_to_json(c) FROM public.customers c",
    "SELECT string_agg(ssn, ','), max(ssn), sum(ascii(ssn)) FROM public.customers",
    'SELECT ssn::text, ssn::varchar(4), CAST(ssn AS char(3)) FROM public.customers',
  ]) assert.ok(!fallible(sql), sql);
});

test('the tables: argument positions, cast targets and operator sides', () => {
  assert.equal(safeArgument('substr', 0), true);
  assert.equal(safeArgument('substr', 2), false);
  assert.equal(safeArgument('format', 0), false);
  assert.equal(safeArgument('format', 1), true);
  assert.equal(safeArgument('chr', 0), false);
  assert.equal(safeArgument('constructor', 0), false);
  assert.equal(safeCast(['pg_catalog', 'varchar'], false), true);
  assert.equal(safeCast(['text'], true), false);
  assert.equal(safeCast(['int4'], false), false);
  assert.equal(safeOperand('~~', 'left'), true);
  assert.equal(safeOperand('~~', 'right'), false);
  assert.equal(safeOperand('/', 'left'), false);
});
