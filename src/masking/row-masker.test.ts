import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FieldDescription, FormatCode } from '../protocol/types.ts';
import { RowMasker, type ColumnMask } from './row-masker.ts';
import { maskText, type MaskStrategy } from './strategies.ts';
import { findLeak, sampleValues } from './leak-forms.ts';

const key = Buffer.from('row-masker-test-key');

function field(name: string, typeOid: number, format: FormatCode = 0): FieldDescription {
  return { name, tableOid: 16384, columnAttnum: 1, typeOid, typeSize: -1, typeModifier: -1, format };
}

function mask(strategy: MaskStrategy): ColumnMask {
  return { strategy };
}

/** DataRow payload as sent by Postgres (written from the protocol docs). */
function dataRowBody(values: (string | Buffer | null)[]): Buffer {
  const parts: Buffer[] = [Buffer.alloc(2)];
  parts[0].writeInt16BE(values.length);
  for (const v of values) {
    const len = Buffer.alloc(4);
    if (v === null) {
      len.writeInt32BE(-1);
      parts.push(len);
    } else {
      const bytes = typeof v === 'string' ? Buffer.from(v) : v;
      len.writeInt32BE(bytes.length);
      parts.push(len, bytes);
    }
  }
  return Buffer.concat(parts);
}

/** Parses a complete DataRow message back into its values, checking the framing. */
function parseDataRow(message: Buffer): (Buffer | null)[] {
  assert.equal(message[0], 0x44, "type byte 'D'");
  assert.equal(message.readInt32BE(1), message.length - 1, 'length covers itself and the payload');
  const count = message.readInt16BE(5);
  const values: (Buffer | null)[] = [];
  let pos = 7;
  for (let i = 0; i < count; i++) {
    const len = message.readInt32BE(pos);
    pos += 4;
    if (len === -1) {
      values.push(null);
    } else {
      values.push(message.subarray(pos, pos + len));
      pos += len;
    }
  }
  assert.equal(pos, message.length, 'no trailing bytes');
  return values;
}

const text = (values: (Buffer | null)[]) => values.map((v) => (v === null ? null : v.toString('utf8')));

const customerFields = [
  field('id', 23),
  field('email', 25),
  field('ssn', 1043),
  field('card_number', 25),
  field('region', 25),
  field('phone', 25),
];

test('masks only the masked columns and copies the others byte for byte', () => {
  const masker = new RowMasker(
    [null, mask('email'), mask('last4'), mask('hash'), null, mask('null')],
    customerFields,
    key,
  );
  assert.ok(masker.active);
  const out = masker.maskDataRow(dataRowBody(['17', 'john.smith17@example.net', '137-14-7919', '4111111111111111', 'EU', '+1-212-555-0110']));
  assert.deepEqual(text(parseDataRow(out)), [
    '17',
    'j***@example.net',
    '***-**-7919',
    maskText('hash', '4111111111111111', key),
    'EU',
    null,
  ]);
});

test('NULL stays NULL and empty strings are masked', () => {
  const masker = new RowMasker([mask('redact'), mask('last4'), null], [field('a', 25), field('b', 25), field('c', 25)], key);
  const out = masker.maskDataRow(dataRowBody([null, '', '']));
  assert.deepEqual(text(parseDataRow(out)), [null, '', '']);
  const out2 = masker.maskDataRow(dataRowBody(['', null, null]));
  assert.deepEqual(text(parseDataRow(out2)), ['[redacted]', null, null]);
});

test('masked non-text columns become NULL, including binary-format ones', () => {
  const int8 = Buffer.alloc(8);
  int8.writeBigInt64BE(137147919n);
  const masker = new RowMasker([mask('last4'), mask('redact'), null], [field('n', 20, 1), field('d', 1082), field('t', 25, 1)], key);
  const out = masker.maskDataRow(dataRowBody([int8, '2024-01-15', 'plain']));
  assert.deepEqual(text(parseDataRow(out)), [null, null, 'plain']);
});

test('binary jsonb columns keep the version byte', () => {
  const masker = new RowMasker([mask('email')], [field('doc', 3802, 1)], key);
  const out = masker.maskDataRow(dataRowBody([Buffer.from('\u0001"john@example.net"')]));
  assert.deepEqual(parseDataRow(out)[0], Buffer.from('\u0001"j***@example.net"'));
});

test('a masker with nothing to mask is inactive but still frames the row', () => {
  const masker = new RowMasker([null, null], [field('a', 25), field('b', 23)], key);
  assert.equal(masker.active, false);
  const body = dataRowBody(['x', null]);
  const out = masker.maskDataRow(body);
  assert.deepEqual(out.subarray(5), body);
  assert.deepEqual(text(parseDataRow(out)), ['x', null]);
});

test('a wrong field count or malformed row throws (the caller fails closed)', () => {
  const masker = new RowMasker([mask('redact'), null], [field('a', 25), field('b', 25)], key);
  assert.throws(() => masker.maskDataRow(dataRowBody(['only one'])), /1 fields, RowDescription has 2/);
  assert.throws(() => masker.maskDataRow(dataRowBody(['a', 'b', 'c'])), /3 fields/);
  const good = dataRowBody(['secret', 'x']);
  assert.throws(() => masker.maskDataRow(good.subarray(0, good.length - 1)), /overruns/);
  assert.throws(() => masker.maskDataRow(good.subarray(0, 8)), /overruns|truncated/);
  assert.throws(() => masker.maskDataRow(Buffer.concat([good, Buffer.from([0])])), /trailing bytes/);
  assert.throws(() => masker.maskDataRow(Buffer.from([0])), /too short/);
  const badLength = Buffer.from(good);
  badLength.writeInt32BE(-2, 2);
  assert.throws(() => masker.maskDataRow(badLength), /invalid DataRow field length -2/);
});

test('masks and fields of different lengths are refused', () => {
  assert.throws(() => new RowMasker([null], [field('a', 25), field('b', 25)], key), /1 column masks for 2/);
});

test('no strategy leaks sample values through DataRows', () => {
  for (const strategy of ['redact', 'null', 'last4', 'email', 'hash'] as const) {
    const masker = new RowMasker([mask(strategy), null], [field('v', 25), field('id', 23)], key);
    for (const value of sampleValues) {
      const out = masker.maskDataRow(dataRowBody([value, '1']));
      assert.equal(findLeak(out, [value]), null, `${strategy} ${value}`);
    }
  }
});

test('masks 100k rows of 3 masked + 3 plain columns', () => {
  const fields = [field('id', 23), field('email', 25), field('name', 25), field('ssn', 25), field('region', 25), field('card', 25)];
  const masker = new RowMasker([null, mask('email'), null, mask('last4'), null, mask('hash')], fields, key);
  const rows = 100_000;
  const bodies: Buffer[] = [];
  for (let i = 0; i < 1000; i++) {
    bodies.push(dataRowBody([String(i), `user${i}@example.com`, `Name ${i}`, `137-14-${String(i).padStart(4, '0')}`, 'EU', `41111111111${String(i).padStart(5, '0')}`]));
  }
  let bytes = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < rows; i++) bytes += masker.maskDataRow(bodies[i % 1000]).length;
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  assert.ok(bytes > rows * 50);
  const sample = parseDataRow(masker.maskDataRow(bodies[7]));
  assert.deepEqual(text(sample).slice(0, 4), ['7', 'u***@example.com', 'Name 7', '***-**-0007']);
  console.log(`# RowMasker: ${rows} rows in ${ms.toFixed(0)} ms (${((rows / ms) * 1000).toFixed(0)} rows/s)`);
});

test('maskRows over a batch of DataRows gives the bytes of maskDataRow row by row, across slab boundaries', () => {
  const fields = [23, 25, 25, 25].map((typeOid) => ({ name: 'c', tableOid: 0, columnAttnum: 0, typeOid, typeSize: -1, typeModifier: -1, format: 0 as const }));
  const masks = [null, { strategy: 'email' as const }, { strategy: 'redact' as const }, { strategy: 'last4' as const }];
  const dataRow = (values: (string | null)[]): Buffer => {
    const parts = [Buffer.from([0, values.length])];
    for (const v of values) {
      const len = Buffer.alloc(4);
      len.writeInt32BE(v === null ? -1 : Buffer.byteLength(v));
      parts.push(len, v === null ? Buffer.alloc(0) : Buffer.from(v));
    }
    const body = Buffer.concat(parts);
    const head = Buffer.alloc(5);
    head[0] = 0x44;
    head.writeInt32BE(body.length + 4, 1);
    return Buffer.concat([head, body]);
  };
  const rows = Array.from({ length: 400 }, (_, i) =>
    dataRow([String(i), i % 7 === 0 ? null : `user${i}@example.com`, 'x'.repeat(i % 50 === 0 ? 40_000 : 10), `4111-${i}`]));
  const one = new RowMasker(masks, fields, Buffer.from('k'));
  const expected = Buffer.concat(rows.map((r) => Buffer.from(one.maskDataRow(r.subarray(5)))));
  const bulk = new RowMasker(masks, fields, Buffer.from('k'));
  const slices: Buffer[] = [];
  for (let i = 0; i < rows.length; i += 50) bulk.maskRows(Buffer.concat(rows.slice(i, i + 50)), 50, (b, s, e) => slices.push(Buffer.from(b.subarray(s, e))));
  assert.deepEqual(Buffer.concat(slices), expected);
  assert.ok(slices.length < rows.length / 4, `${slices.length} slices for ${rows.length} rows`);
  assert.throws(() => bulk.maskRows(Buffer.concat([rows[0], Buffer.from('junk')]), 2, () => {}), /masking:/);
});
