import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { digitForm, findLeak, leakForms } from './leak-forms.ts';

const ssn = '137-14-7919';

test('leakForms lists the exact, reversed, md5, sha256, base64 and hex forms', () => {
  assert.deepEqual(leakForms('ab='), [
    'ab=',
    '=ba',
    createHash('md5').update('ab=').digest('hex'),
    createHash('sha256').update('ab=').digest('hex'),
    'YWI9',
    '61623d',
  ]);
  assert.equal(leakForms('a')[4], 'YQ', 'base64 has no padding');
});

test('findLeak finds each form inside surrounding text', () => {
  const cases: [string, RegExp][] = [
    [`row: ${ssn};`, /as exact/],
    ['EMAIL JOHN.SMITH@EXAMPLE.NET', /as exact/],
    [`x${[...ssn].reverse().join('')}x`, /as reversed/],
    [`md5=${createHash('md5').update(ssn).digest('hex').toUpperCase()}`, /as md5/],
    [`sha=${createHash('sha256').update(ssn).digest('hex')}`, /as sha256/],
    [`b64:${Buffer.from(ssn).toString('base64').replace(/=+$/, '')}`, /as base64/],
    [`\\x${Buffer.from(ssn).toString('hex')}`, /as hex/],
    ['ssn: 1 3 7 1 4 7 9 1 9', /as digits/],
    ['(137) 14.79-19', /as digits/],
    ['+1 (212) 555-0110', /"\+1-212-555-0110" as digits/],
  ];
  for (const [haystack, expected] of cases) {
    assert.match(findLeak(haystack, ['john.smith@example.net', ssn, '+1-212-555-0110']) ?? 'none', expected, haystack);
  }
});

test('findLeak scans Buffers as text and as raw bytes', () => {
  const bytes = Buffer.concat([Buffer.from([0xff, 0x00, 0xc3]), Buffer.from(ssn), Buffer.from([0x80])]);
  assert.match(findLeak(bytes, [ssn]) ?? 'none', /137-14-7919/);
  const utf8 = Buffer.from('prefix Müller-Lüdenscheidt suffix');
  assert.match(findLeak(utf8, ['MÜLLER-lüdenscheidt']) ?? 'none', /as exact/);
});

test('findLeak accepts the masks named in policy §6', () => {
  const raw = [ssn, 'john.smith@example.net', '4111111111111111', '555-0142'];
  for (const masked of ['***-**-7919', 'j***@example.net', '************1111', '***-0142', '[redacted]', 'h:0f3a9c2e11b4d7aa']) {
    assert.equal(findLeak(masked, raw), null, masked);
  }
});

test('the digit-run form applies only to values with at least 9 digits', () => {
  assert.equal(digitForm('555-0142'), null);
  assert.equal(digitForm(ssn), '137147919');
  assert.equal(findLeak('5550142', ['555-0142']), null);
  assert.equal(findLeak('1371479 19', [ssn]), '"137-14-7919" as digits');
  // letters break a run
  assert.equal(findLeak('13714x7919', [ssn]), null);
});

test('findLeak ignores empty raw values', () => {
  assert.equal(findLeak('anything', ['']), null);
});
