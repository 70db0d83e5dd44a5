import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CopyMasker, type CopyOptions } from './copy-masker.ts';
import type { ColumnMask } from './row-masker.ts';
import { maskText, type MaskRule, type MaskStrategy } from './strategies.ts';
import { findLeak, sampleValues } from './leak-forms.ts';
import { seededRandom } from '../testing/seeded-random.ts';

const key = Buffer.from('copy-masker-test-key');
const TEXT: CopyOptions = { format: 'text', delimiter: '\t', null: '\\N', quote: '"', escape: '"', header: false };
const CSV: CopyOptions = { format: 'csv', delimiter: ',', null: '', quote: '"', escape: '"', header: false };
const BINARY: CopyOptions = { ...TEXT, format: 'binary' };

const m = (strategy: MaskStrategy): ColumnMask => ({ strategy });

/** Feeds each chunk, then finish(); returns the forwarded payloads as one string. */
function run(masker: CopyMasker, chunks: (string | Buffer)[]): string {
  const out: Buffer[] = [];
  for (const c of chunks) out.push(...masker.maskChunk(typeof c === 'string' ? Buffer.from(c) : c));
  out.push(...masker.finish());
  return Buffer.concat(out).toString('utf8');
}

// ------------------------------------------------------------------ text

test('text: masks the masked columns of each row and keeps the others', () => {
  const masker = new CopyMasker(TEXT, [null, m('email'), m('last4'), null], [23, 25, 25, 25], key);
  const out = masker.maskChunk(Buffer.from('1\tjohn.smith1@example.net\t137-14-7919\tEU\n'));
  assert.equal(out.length, 1);
  assert.equal(out[0].toString(), '1\tj***@example.net\t***-**-7919\tEU\n');
});

test('text: \\N stays NULL and masked NULLs are written as the null string', () => {
  const masker = new CopyMasker(TEXT, [m('redact'), m('null'), m('last4')], [25, 25, 23], key);
  assert.equal(run(masker, ['\\N\tsecret\t4111\n']), '\\N\t\\N\t\\N\n');
});

test('text: escapes are decoded before masking and the result is re-escaped', () => {
  const masker = new CopyMasker(TEXT, [m('last4'), m('hash'), m('hash'), m('last4')], [25, 25, 25, 25], key);
  const out = run(masker, ['x\\ty\\\\z\t\\101\\x42\t\\N\tab\\ncd\\\\ef\n']);
  const hashAB = maskText('hash', 'AB', key);
  assert.equal(out, `*\\t*\\\\*\t${hashAB}\t\\N\t**\\ncd\\\\ef\n`);
});

test('text: a masked value never contains a raw delimiter or newline', () => {
  const masker = new CopyMasker({ ...TEXT, delimiter: ',' }, [m('last4'), null], [25, 25], key);
  const out = run(masker, ['12\\,34567,x\n']);
  assert.equal(out, '**\\,*4567,x\n');
  const json = new CopyMasker(TEXT, [m('redact')], [114], key);
  assert.equal(run(json, ['{"a":1}\n']), '"[redacted]"\n');
});

test('text: rows split across payloads or merged into one are all masked', () => {
  const masker = new CopyMasker(TEXT, [m('last4'), null], [25, 25], key);
  const out = run(masker, ['137-1', '4-7919\ta\n618-59-0432\tb\n555-', '0142\tc\n']);
  assert.equal(out, '***-**-7919\ta\n***-**-0432\tb\n***-0142\tc\n');
});

test('text: a header line is passed through, and a last row without newline is flushed', () => {
  const masker = new CopyMasker({ ...TEXT, header: true }, [m('last4')], [25], key);
  assert.deepEqual(masker.maskChunk(Buffer.from('ssn\n')).map(String), ['ssn\n']);
  assert.deepEqual(masker.maskChunk(Buffer.from('137-14-7919')), []);
  assert.deepEqual(masker.finish().map(String), ['***-**-7919']);
});

test('text: a row with the wrong number of fields throws', () => {
  const masker = new CopyMasker(TEXT, [m('redact'), null], [25, 25], key);
  assert.throws(() => masker.maskChunk(Buffer.from('a\tb\tc\n')), /3 fields, expected 2/);
  assert.throws(() => masker.maskChunk(Buffer.from('a\\\tb\n')), /1 fields, expected 2/);
});

// ------------------------------------------------------------------ csv

test('csv: quoted fields, embedded delimiters and quotes, header and NULL', () => {
  const masker = new CopyMasker({ ...CSV, header: true }, [null, m('email'), m('last4'), m('last4')], [25, 25, 25, 25], key);
  const out = run(masker, [
    'full_name,email,ssn,notes\n',
    '"Smith, John",john.smith1@example.net,137-14-7919,"say ""hi"", 1234"\n',
    '"Doe, Jane",,"",\n',
  ]);
  assert.equal(
    out,
    'full_name,email,ssn,notes\n' +
      '"Smith, John",j***@example.net,***-**-7919,"*** ""**"", 1234"\n' +
      '"Doe, Jane",,"",\n',
  );
});

test('csv: a quoted value spanning lines is one row', () => {
  const masker = new CopyMasker(CSV, [null, m('last4')], [23, 25], key);
  const out = run(masker, ['1,"line one\nline two 4111111111111111"\n', '2,x\n']);
  assert.equal(out, '1,"**** ***\n**** *** ************1111"\n2,*\n');
  const split = new CopyMasker(CSV, [null, m('last4')], [23, 25], key);
  assert.equal(run(split, ['1,"a\n', 'b 12345"\n']), '1,"*\n* *2345"\n');
});

test('csv: a custom escape character is honoured when decoding and encoding', () => {
  const opts: CopyOptions = { ...CSV, escape: '\\', null: 'NULL' };
  const masker = new CopyMasker(opts, [m('hash'), m('last4'), m('redact')], [25, 25, 25], key);
  const out = run(masker, ['"a\\"b\\\\c",",x\\"abcdef",NULL\n']);
  assert.equal(out, `${maskText('hash', 'a"b\\c', key)},",*\\"**cdef",NULL\n`);
});

test('csv: a masked value equal to the null string is quoted', () => {
  const masker = new CopyMasker({ ...CSV, null: '****' }, [m('last4')], [25], key);
  assert.equal(run(masker, ['abcd\n']), '"****"\n');
});

test('csv: CRLF line endings are kept', () => {
  const masker = new CopyMasker(CSV, [m('last4'), null], [25, 25], key);
  assert.equal(run(masker, ['137-14-7919,a\r\n']), '***-**-7919,a\r\n');
});

// ------------------------------------------------------------------ binary

function binaryCopy(rows: (string | Buffer | null)[][]): Buffer {
  const header = Buffer.alloc(19);
  Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1').copy(header);
  const parts: Buffer[] = [header];
  for (const row of rows) {
    const count = Buffer.alloc(2);
    count.writeInt16BE(row.length);
    parts.push(count);
    for (const v of row) {
      const len = Buffer.alloc(4);
      const bytes = v === null ? null : typeof v === 'string' ? Buffer.from(v) : v;
      len.writeInt32BE(bytes === null ? -1 : bytes.length);
      parts.push(len);
      if (bytes !== null) parts.push(bytes);
    }
  }
  parts.push(Buffer.from([0xff, 0xff]));
  return Buffer.concat(parts);
}

function chunked(data: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
  return out;
}

test('binary: masks fields whatever the payload boundaries', () => {
  const int4 = Buffer.alloc(4);
  int4.writeInt32BE(42);
  const input = binaryCopy([
    [int4, 'john.smith1@example.net', '137-14-7919', Buffer.from('\u0001"4111111111111111"')],
    [int4, null, '618-59-0432', null],
  ]);
  const expected = binaryCopy([
    [int4, 'j***@example.net', '***-**-7919', Buffer.from('\u0001"************1111"')],
    [int4, null, '***-**-0432', null],
  ]);
  for (const size of [1, 2, 3, 7, 19, 20, 64, input.length]) {
    const masker = new CopyMasker(BINARY, [null, m('email'), m('last4'), m('last4')], [23, 25, 1043, 3802], key);
    const out: Buffer[] = [];
    for (const c of chunked(input, size)) out.push(...masker.maskChunk(c));
    out.push(...masker.finish());
    assert.deepEqual(Buffer.concat(out), expected, `chunk size ${size}`);
  }
});

test('binary: non-text masked columns become NULL', () => {
  const int8 = Buffer.alloc(8);
  int8.writeBigInt64BE(137147919n);
  const masker = new CopyMasker(BINARY, [m('last4')], [20], key);
  assert.deepEqual(Buffer.concat(masker.maskChunk(binaryCopy([[int8]]))), binaryCopy([[null]]));
});

test('binary: malformed streams throw', () => {
  const masks = [m('redact')];
  assert.throws(() => new CopyMasker(BINARY, masks, [25], key).maskChunk(Buffer.from('NOTCOPY')), /signature/);
  assert.throws(() => new CopyMasker(BINARY, masks, [25], key).maskChunk(binaryCopy([['a', 'b']])), /2 fields, expected 1/);
  const truncated = new CopyMasker(BINARY, masks, [25], key);
  const data = binaryCopy([['secret']]);
  truncated.maskChunk(data.subarray(0, 25));
  assert.throws(() => truncated.finish(), /ends inside a tuple/);
  const after = new CopyMasker(BINARY, masks, [25], key);
  after.maskChunk(data);
  assert.throws(() => after.maskChunk(Buffer.from([0])), /after the trailer/);
  const oids = Buffer.from(data);
  oids.writeUInt32BE(1 << 16, 11);
  assert.throws(() => new CopyMasker(BINARY, masks, [25], key).maskChunk(oids), /flags/);
});

test('binary: a header extension area is passed through', () => {
  const data = binaryCopy([['137-14-7919']]);
  data.writeUInt32BE(3, 15);
  const withExt = Buffer.concat([data.subarray(0, 19), Buffer.from('ext'), data.subarray(19)]);
  const masker = new CopyMasker(BINARY, [m('last4')], [25], key);
  const out = Buffer.concat([...masker.maskChunk(withExt), ...masker.finish()]);
  assert.equal(out.subarray(0, 22).toString('latin1'), withExt.subarray(0, 22).toString('latin1'));
  assert.ok(out.includes('***-**-7919'));
});

// ------------------------------------------------------------------ all formats

test('a COPY with nothing to mask passes payloads through untouched', () => {
  const masker = new CopyMasker(TEXT, [null, null], [25, 25], key);
  const payload = Buffer.from('anything\tat all\n');
  assert.equal(masker.maskChunk(payload)[0], payload);
});

test('options and column lists are validated', () => {
  assert.throws(() => new CopyMasker({ ...CSV, delimiter: '::' }, [null], [25], key), /single ASCII/);
  assert.throws(() => new CopyMasker({ ...TEXT, delimiter: '\n' }, [null], [25], key), /delimiter/);
  assert.throws(() => new CopyMasker(TEXT, [null, null], [25], key), /2 column masks for 1/);
});

test('no strategy leaks sample values through COPY in any format', () => {
  for (const strategy of ['redact', 'null', 'last4', 'email', 'hash'] as const) {
    for (const value of sampleValues) {
      const text = run(new CopyMasker(TEXT, [m(strategy), null], [25, 23], key), [`${value}\t1\n`]);
      const csv = run(new CopyMasker(CSV, [m(strategy), null], [25, 23], key), [`"${value}",1\n`]);
      const binary = new CopyMasker(BINARY, [m(strategy)], [25], key).maskChunk(binaryCopy([[value]]));
      for (const out of [text, csv, ...binary]) assert.equal(findLeak(out, [value]), null, `${strategy} ${value}`);
    }
  }
});

// ------------------------------------------------------------------ runs of CopyData messages

/** Payloads as CopyData messages back to back. */
function messages(payloads: Buffer[]): Buffer {
  return Buffer.concat(payloads.map((p) => Buffer.concat([Buffer.from([0x64]), Buffer.from([0, 0, 0, 0].map((_, i) => ((4 + p.length) >>> (24 - 8 * i)) & 0xff)), p])));
}

/** The payloads of CopyData messages back to back. */
function payloadsOf(stream: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let pos = 0; pos < stream.length; ) {
    assert.equal(stream[pos], 0x64);
    const end = pos + 1 + stream.readInt32BE(pos + 1);
    out.push(stream.subarray(pos + 5, end));
    pos = end;
  }
  return out;
}

test('maskRun writes the same bytes as maskChunk, row by row, for every format, cut and value', () => {
  const rand = seededRandom(11);
  const values = ['plain', 'jane.doe@example.com', '4111 1111 1111 1111', 'tab\there', 'line\nbreak', 'back\\slash', 'ünï 😀', 'a,b', 'say "hi"', '', 'x', '\\.', 'nul'];
  const strategies: (MaskRule | null)[] = [null, 'email', 'last4', 'redact', 'null', 'hash', { detect: ['email'] }];
  const options: CopyOptions[] = [TEXT, CSV, { ...TEXT, delimiter: '|', null: 'nul' }, { ...CSV, delimiter: ';', quote: "'", escape: '\\', header: true }];
  for (let trial = 0; trial < 120; trial++) {
    const opts = options[trial % options.length];
    const columns = 1 + rand(5);
    const masks = Array.from({ length: columns }, () => strategies[rand(strategies.length)]);
    const rows: string[] = [];
    if (opts.header) rows.push(Array.from({ length: columns }, (_, i) => `c${i}`).join(opts.delimiter) + '\n');
    for (let r = rand(40); r >= 0; r--) {
      const fields = Array.from({ length: columns }, () => {
        if (rand(8) === 0) return opts.format === 'csv' ? opts.null : opts.null;
        const v = values[rand(values.length)];
        if (opts.format === 'csv') return /[,;'"\n\\]/.test(v) || v === '' ? `${opts.quote}${v.split(opts.quote).join(opts.escape + opts.quote)}${opts.quote}` : v;
        return v.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').split(opts.delimiter).join('\\' + opts.delimiter);
      });
      rows.push(fields.join(opts.delimiter) + (rand(6) === 0 ? '\r\n' : '\n'));
    }
    // Mostly one row per payload (as Postgres sends), sometimes rows cut or merged.
    const data = Buffer.from(rows.join(''));
    const payloads: Buffer[] = [];
    for (let pos = 0; pos < data.length; ) {
      const lf = data.indexOf(0x0a, pos);
      const end = rand(4) === 0 ? Math.min(data.length, pos + 1 + rand(30)) : lf === -1 ? data.length : lf + 1;
      payloads.push(data.subarray(pos, end));
      pos = end;
    }
    const columnMasks = masks.map((s) => (s ? { strategy: s } : null));
    const types = masks.map(() => 25);
    const viaChunks = new CopyMasker(opts, columnMasks, types, key);
    const expected: Buffer[] = [];
    for (const p of payloads) expected.push(...viaChunks.maskChunk(p));
    expected.push(...viaChunks.finish());

    const viaRuns = new CopyMasker(opts, columnMasks, types, key);
    const got: Buffer[] = [];
    const stream = messages(payloads);
    for (let pos = 0; pos < stream.length; ) {
      // Runs of a few messages at a time, as the framer hands them over.
      let end = pos;
      for (let k = 1 + rand(8); k > 0 && end < stream.length; k--) end += 1 + stream.readInt32BE(end + 1);
      viaRuns.maskRun(stream, pos, end, (b, s, e) => got.push(...payloadsOf(Buffer.from(b.subarray(s, e)))));
      pos = end;
    }
    got.push(...viaRuns.finish());
    assert.equal(Buffer.concat(got).toString('latin1'), Buffer.concat(expected).toString('latin1'), `trial ${trial}`);
  }
});

test('maskRun refuses bytes that are not whole CopyData messages', () => {
  const masker = new CopyMasker(TEXT, [m('redact')], [25], key);
  assert.throws(() => masker.maskRun(Buffer.from('D\0\0\0\x05a'), 0, 6, () => undefined), /not a CopyData/);
  assert.throws(() => masker.maskRun(Buffer.from('d\0\0\0\x09a'), 0, 6, () => undefined), /overruns/);
});
