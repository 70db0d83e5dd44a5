import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PgError, errorFields, toPgError } from './errors.ts';
import { decodeBackend, encodeErrorResponse } from './backend.ts';
import { ProtocolError } from './types.ts';

test('errorFields gives S, V, C, M and the optional D and H', () => {
  const e = new PgError('42501', 'scopegate: read on public.x denied by rule deny[0]', { hint: 'ask for access', detail: 'policy reporting' });
  assert.deepEqual(errorFields(e), {
    S: 'ERROR', V: 'ERROR', C: '42501', M: 'scopegate: read on public.x denied by rule deny[0]', D: 'policy reporting', H: 'ask for access',
  });
  assert.deepEqual(errorFields(new PgError('08P01', 'bad', { severity: 'FATAL' })), { S: 'FATAL', V: 'FATAL', C: '08P01', M: 'bad' });
});

test('error fields survive encoding, including a NUL that cannot travel in a cstring', () => {
  const e = new PgError('22021', 'bad \0 byte');
  const wire = encodeErrorResponse(errorFields(e));
  assert.deepEqual(decodeBackend(wire[0], wire.subarray(5)), {
    type: 'ErrorResponse', fields: { S: 'ERROR', V: 'ERROR', C: '22021', M: 'bad \\0 byte' },
  });
});

test('a PgError needs a five-character SQLSTATE and knows whether it is fatal', () => {
  assert.throws(() => new PgError('4250', 'x'), TypeError);
  assert.equal(new PgError('57P01', 'bye', { severity: 'FATAL' }).fatal, true);
  assert.equal(new PgError('42501', 'no').fatal, false);
});

test('toPgError: PgErrors pass, ProtocolErrors become FATAL with their code, anything else hides its internals', () => {
  const pg = new PgError('42501', 'no');
  assert.equal(toPgError(pg), pg);
  const pe = toPgError(new ProtocolError('invalid Bind message', '08P01'));
  assert.equal(pe.code, '08P01');
  assert.equal(pe.severity, 'FATAL');
  const internal = toPgError(new Error('ECONNRESET at /secret/path'));
  assert.equal(internal.code, 'XX000');
  assert.doesNotMatch(internal.message, /secret/);
});
