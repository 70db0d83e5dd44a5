import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emailAscii, last4Ascii } from './ascii-fast.ts';
import { maskText } from './strategies.ts';

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
