import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emailAscii, emailAsciiInto, last4Ascii, last4AsciiInto, maxAsciiOutput } from './ascii-fast.ts';
import { maskText } from './strategies.ts';
import { seededRandom } from '../testing/seeded-random.ts';

const key = Buffer.from('k');
const samples = [
  '137-14-7919', '4111111111111111', '12', '', 'abcd', 'a-b-c-d-e', '555-0142', ' x ',
  'john.smith@example.net', 'J@EXAMPLE.COM', 'a@b', 'no-at-sign', '@example.com', 'x@', 'x@-bad.com', 'x@bad-.com', 'x@a..b',
  ' spaced@example.org ', 'two@@example.com', 'tab\t@example.com', 'ok@sub.example-one.co',
];

test('byte-level last4 and email give exactly what the string versions give', () => {
  for (const v of samples) {
    assert.equal(last4Ascii(Buffer.from(v))?.toString(), maskText('last4', v, key), `last4 ${JSON.stringify(v)}`);
    assert.equal(emailAscii(Buffer.from(v))?.toString(), maskText('email', v, key), `email ${JSON.stringify(v)}`);
  }
});

test('non-ASCII values are left to the string versions', () => {
  assert.equal(last4Ascii(Buffer.from('é1234567')), undefined);
  assert.equal(emailAscii(Buffer.from('jörg@example.de')), undefined);
});

test('writing in place: same bytes as the string versions, never past maxAsciiOutput', () => {
  const alphabet = 'aZ09@.-_ \t+x';
  const rand = seededRandom(3);
  for (let n = 0; n < 5000; n++) {
    let v = '';
    for (let k = rand(24); k > 0; k--) v += alphabet[rand(alphabet.length)];
    const src = Buffer.from(`##${v}##`);
    for (const [into, strategy] of [[last4AsciiInto, 'last4'], [emailAsciiInto, 'email']] as const) {
      const out = Buffer.alloc(7 + maxAsciiOutput(v.length) + 7, 0xee);
      const written = into(src, 2, 2 + v.length, out, 7);
      assert.ok(written <= maxAsciiOutput(v.length), `${strategy} ${JSON.stringify(v)} wrote ${written}`);
      assert.equal(out.toString('latin1', 7, 7 + written), maskText(strategy, v, key), `${strategy} ${JSON.stringify(v)}`);
      assert.ok(out.subarray(0, 7).every((b) => b === 0xee) && out.subarray(7 + written).every((b) => b === 0xee), 'wrote outside its range');
    }
  }
});
