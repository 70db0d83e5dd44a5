import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dataRowFieldCount, dataRowFieldOffsets, encodeDataRow, readDataRowFields, rewriteDataRow } from './datarow.ts';
import { ProtocolError } from './types.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
/** The body (after type and length) of an encoded DataRow. */
const bodyOf = (values: (Buffer | null)[]): Buffer => encodeDataRow(values).subarray(5);
const b = (s: string): Buffer => Buffer.from(s);

test('field offsets point at each value; NULL has length -1', () => {
  const body = hex('0003 00000002 6869 ffffffff 00000000');
  assert.equal(dataRowFieldCount(body), 3);
  assert.deepEqual([...dataRowFieldOffsets(body)], [6, 2, 12, -1, 16, 0]);
});

test('offsets respect the byteOffset of a body that is a slice of a larger buffer', () => {
  const backing = Buffer.concat([Buffer.alloc(13, 0xee), bodyOf([b('abc'), b('de')])]);
  const body = backing.subarray(13);
  const off = dataRowFieldOffsets(body);
  assert.equal(body.subarray(off[0], off[0] + off[1]).toString(), 'abc');
  assert.equal(body.subarray(off[2], off[2] + off[3]).toString(), 'de');
});

test('readDataRowFields returns zero-copy subarrays', () => {
  const body = bodyOf([b('x'), null, b('')]);
  const fields = readDataRowFields(body);
  assert.deepEqual(fields, [b('x'), null, b('')]);
  assert.equal(fields[0]!.buffer, body.buffer);
});

test('an offsets array can be reused across rows; too small ones are replaced', () => {
  const scratch = new Int32Array(8);
  const out = dataRowFieldOffsets(bodyOf([b('a'), b('b')]), scratch);
  assert.equal(out, scratch);
  const bigger = dataRowFieldOffsets(bodyOf([b('a'), b('b'), b('c'), b('d'), b('e')]), scratch);
  assert.notEqual(bigger, scratch);
  assert.equal(bigger.length, 10);
});

test('rewriteDataRow replaces a few fields and keeps the others byte for byte', () => {
  const values = [b('keep-1'), b('secret@example.com'), null, b('keep-2'), b('123-45-6789')];
  const body = bodyOf(values);
  const offsets = dataRowFieldOffsets(body);
  const cases: [(Buffer | null | undefined)[], (Buffer | null)[]][] = [
    [[], values],
    [[undefined, b('***')], [values[0], b('***'), null, values[3], values[4]]],
    [[undefined, null, b('now set'), undefined, b('6789')], [values[0], null, b('now set'), values[3], b('6789')]],
    [[b(''), b('a much longer replacement value than before')], [b(''), b('a much longer replacement value than before'), null, values[3], values[4]]],
    [[null, null, null, null, null], [null, null, null, null, null]],
  ];
  for (const [replacements, expected] of cases) {
    assert.deepEqual(rewriteDataRow(body, offsets, replacements), encodeDataRow(expected));
  }
  const sparse: (Buffer | null)[] = [];
  sparse[4] = b('****');
  assert.deepEqual(rewriteDataRow(body, offsets, sparse), encodeDataRow([...values.slice(0, 4), b('****')]));
});

test('malformed DataRow bodies are ProtocolErrors', () => {
  const bad = ['', '00', '0001', '0001 000000', '0001 fffffffe', '0001 00000003 4142', '0001 00000001 41 42', '0000 00'];
  for (const h of bad) assert.throws(() => dataRowFieldOffsets(hex(h)), ProtocolError, h);
});

test('a DataRow with 1600 columns (the Postgres maximum is 1664)', () => {
  const values = Array.from({ length: 1600 }, (_, i) => (i % 3 === 0 ? null : b(String(i))));
  assert.deepEqual(readDataRowFields(bodyOf(values)), values);
});
