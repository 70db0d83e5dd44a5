import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { maskField, maskText, maskStrategies, isMaskStrategy, textLikeTypeOids, type MaskStrategy } from './strategies.ts';
import { findLeak, sampleValues } from './leak-forms.ts';

const key = Buffer.from('unit-test-hash-key-0123456789abcdef');


test('redact returns the fixed placeholder and null returns SQL NULL', () => {
  assert.equal(maskText('redact', '137-14-7919', key), '[redacted]');
  assert.equal(maskText('redact', '', key), '[redacted]');
  assert.equal(maskText('null', '137-14-7919', key), null);
});

test('last4 keeps the last 4 letters/digits and punctuation', () => {
  assert.equal(maskText('last4', '137-14-7919', key), '***-**-7919');
  assert.equal(maskText('last4', '4111111111111111', key), '************1111');
  assert.equal(maskText('last4', '4111 1111 1111 1111', key), '**** **** **** 1111');
  assert.equal(maskText('last4', '+1 (555) 010-1234', key), '+* (***) ***-1234');
  assert.equal(maskText('last4', '555-0142', key), '***-0142');
  assert.equal(maskText('last4', 'Ab-12cd', key), '**-12cd');
});

test('last4 masks every letter/digit of a value with 4 or fewer', () => {
  assert.equal(maskText('last4', '0142', key), '****');
  assert.equal(maskText('last4', '12-3', key), '**-*');
  assert.equal(maskText('last4', '', key), '');
  assert.equal(maskText('last4', '--', key), '--');
});

test('last4 treats non-ASCII letters and digits as alphanumeric', () => {
  assert.equal(maskText('last4', 'Ünïcødé-1', key), '****ødé-1');
  assert.equal(maskText('last4', '١٢٣٤٥٦', key), '**٣٤٥٦');
});

test('email keeps the first character of the local part and the domain', () => {
  assert.equal(maskText('email', 'john.smith@example.net', key), 'j***@example.net');
  assert.equal(maskText('email', 'a@example.com', key), 'a***@example.com');
  assert.equal(maskText('email', 'legacy.smith1@mail.example.com  ', key), 'l***@mail.example.com');
});

test('email redacts values that are not an email', () => {
  for (const v of ['137-14-7919', 'john at example.net', '@example.net', 'john@', 'a@b@c.com', 'x@exa mple.com', 'ssn 1 @ x.com']) {
    assert.equal(maskText('email', v, key), '[redacted]', v);
  }
});

test('hash is a keyed HMAC-SHA256 prefix, deterministic per key', () => {
  const h = maskText('hash', '137-14-7919', key);
  assert.equal(h, 'h:' + createHmac('sha256', key).update('137-14-7919').digest('hex').slice(0, 16));
  assert.match(h ?? '', /^h:[0-9a-f]{16}$/);
  assert.equal(maskText('hash', '137-14-7919', key), h);
  assert.notEqual(maskText('hash', '137-14-7919', Buffer.from('another key')), h);
  assert.notEqual(maskText('hash', '137-14-7920', key), h);
});

test('hash refuses an empty key', () => {
  assert.throws(() => maskText('hash', 'x', Buffer.alloc(0)), /non-empty key/);
});

test('strategy names are checked by isMaskStrategy', () => {
  assert.deepEqual([...maskStrategies], ['redact', 'null', 'last4', 'email', 'hash']);
  assert.ok(isMaskStrategy('last4'));
  assert.ok(!isMaskStrategy('partial'));
});

test('maskField writes the masked string for text-like types in both formats', () => {
  assert.deepEqual([...textLikeTypeOids].sort((a, b) => a - b), [19, 25, 705, 1042, 1043]);
  for (const oid of textLikeTypeOids) {
    for (const format of [0, 1] as const) {
      const out = maskField('last4', Buffer.from('137-14-7919'), oid, format, key);
      assert.equal(out?.toString('utf8'), '***-**-7919');
    }
  }
});

test('maskField returns NULL for the null strategy whatever the type', () => {
  assert.equal(maskField('null', Buffer.from('x'), 25, 0, key), null);
  assert.equal(maskField('null', Buffer.from('"x"'), 3802, 0, key), null);
});

test('maskField writes a JSON string literal for json and jsonb', () => {
  assert.equal(maskField('email', Buffer.from('"john.smith@example.net"'), 114, 0, key)?.toString(), '"j***@example.net"');
  assert.equal(maskField('email', Buffer.from('"john.smith@example.net"'), 114, 1, key)?.toString(), '"j***@example.net"');
  assert.equal(maskField('redact', Buffer.from('{"ssn":"137-14-7919"}'), 3802, 0, key)?.toString(), '"[redacted]"');
  assert.equal(maskField('last4', Buffer.from('4111111111111111'), 3802, 0, key)?.toString(), '"************1111"');
  const binary = Buffer.concat([Buffer.from([1]), Buffer.from('"137-14-7919"')]);
  const out = maskField('last4', binary, 3802, 1, key);
  assert.deepEqual(out, Buffer.concat([Buffer.from([1]), Buffer.from('"***-**-7919"')]));
});

test('maskField returns NULL for types that cannot hold a masked string', () => {
  const int8 = Buffer.alloc(8);
  int8.writeBigInt64BE(4111111111111111n);
  for (const [oid, value, format] of [
    [20, int8, 1], // int8 binary
    [20, Buffer.from('4111111111111111'), 0], // int8 text
    [1700, Buffer.from('137147919'), 0], // numeric
    [17, Buffer.from('\\x3133372d31342d37393139'), 0], // bytea
    [1009, Buffer.from('{137-14-7919}'), 0], // text[]
    [2249, Buffer.from('(137-14-7919)'), 0], // record
    [1082, Buffer.from('2024-01-15'), 0], // date
    [987654, Buffer.from('john@example.net'), 0], // citext or any unknown oid
  ] as const) {
    for (const s of maskStrategies) assert.equal(maskField(s, value, oid, format, key), null, `${oid} ${s}`);
  }
});

test('no strategy leaks a realistic value in any policy §6 form', () => {
  const strategies: MaskStrategy[] = ['redact', 'null', 'last4', 'email', 'hash'];
  for (const value of sampleValues) {
    for (const s of strategies) {
      const masked = maskText(s, value, key);
      assert.equal(findLeak(masked ?? '', [value]), null, `${s}(${value}) = ${masked}`);
      for (const [oid, format] of [[25, 0], [1043, 1], [114, 0], [3802, 1]] as const) {
        const field = maskField(s, Buffer.from(oid === 3802 ? `\u0001${JSON.stringify(value)}` : value), oid, format, key);
        if (field !== null) assert.equal(findLeak(field, [value]), null, `${s} ${oid}/${format}(${value})`);
      }
    }
  }
});
