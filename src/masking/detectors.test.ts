import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectors, isDetector, luhnValid, scrubText, type Detector } from './detectors.ts';
import { findLeak, sampleValues } from './leak-forms.ts';

const all: Detector[] = [...detectors];

function scrubbed(text: string, only: Detector[] = all): string {
  return scrubText(text, only);
}

test('luhnValid accepts real test card numbers and rejects a changed digit', () => {
  for (const n of ['4111111111111111', '5555555555554444', '6011111111111117', '378282246310005', '3530111333300000']) {
    assert.ok(luhnValid(n), n);
  }
  assert.ok(!luhnValid('4111111111111112'));
});

test('card: Luhn-valid 13–19 digit numbers are masked keeping the last 4', () => {
  assert.equal(scrubbed('card 4111111111111111.', ['card']), 'card ************1111.');
  assert.equal(scrubbed('card 4111 1111 1111 1111 exp 2027', ['card']), 'card **** **** **** 1111 exp 2027');
  assert.equal(scrubbed('card 5555-5555-5555-4444', ['card']), 'card ****-****-****-4444');
  assert.equal(scrubbed('amex 378282246310005', ['card']), 'amex ***********0005');
  assert.equal(scrubbed('ref 12 4111111111111111', ['card']).endsWith('1111'), true);
});

test('card: non-Luhn, too short, too long and embedded numbers are left alone', () => {
  for (const text of [
    'not a card 4111111111111112',
    'order 1234567890123456',
    'short 411111111111',
    'long 41111111111111111111111',
    'id 04111111111111111110',
    'date 2024-01-15',
  ]) {
    assert.equal(scrubbed(text, ['card']), text);
  }
});

test('ssn: the ddd-dd-dddd shape keeps its last 4', () => {
  assert.equal(scrubbed('SSN 137-14-7919, alt 618-59-0432.', ['ssn']), 'SSN ***-**-7919, alt ***-**-0432.');
  for (const text of ['1137-14-7919', '137-14-79190', '137-147-919', '137 14 7919', '2024-01-15', '137-14-7919-2']) {
    assert.equal(scrubbed(text, ['ssn']), text, text);
  }
});

test('email: first character, ***, @ and the domain', () => {
  assert.equal(
    scrubbed('mail john.smith@example.net, legacy.smith1@mail.example.org!', ['email']),
    'mail j***@example.net, l***@mail.example.org!',
  );
  for (const text of ['user@localhost', 'a @ b.com', '@example.com', 'price@ 5']) {
    assert.equal(scrubbed(text, ['email']), text, text);
  }
});

test('phone: US and international shapes keep their last 4 digits', () => {
  const cases: [string, string][] = [
    ['call 555-0142 now', 'call ***-0142 now'],
    ['+1 (555) 010-1234', '+* (***) ***-1234'],
    ['+1-212-555-0110', '+*-***-***-0110'],
    ['(212) 555-0110', '(***) ***-0110'],
    ['212.555.0110', '***.***.0110'],
    ['212 555 0110', '*** *** 0110'],
    ['+44 20 7946 0958', '+** ** **** 0958'],
    ['+49 30 123456', '+** ** **3456'],
    ['phones: 555-0142, 555-0199', 'phones: ***-0142, ***-0199'],
  ];
  for (const [text, expected] of cases) assert.equal(scrubbed(text, ['phone']), expected, text);
});

test('phone: dates, times, prices, zip codes, IPs and versions are not phones', () => {
  for (const text of [
    'date 2024-01-15 10:30',
    'price 123.4567',
    'zip 12345-6789',
    'ip 192.168.100.1000',
    'version 1.2.3',
    'count 5550142',
    'range 2019-2024',
    '+12',
  ]) {
    assert.equal(scrubbed(text, ['phone']), text, text);
  }
});

test('token: bearer tokens and well-known API keys become [secret]', () => {
  const cases: [string, string][] = [
    ['Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U', 'Authorization: Bearer [secret]'],
    ['Bearer abc123def456', 'Bearer [secret]'],
    ['key sk_live_4eC39HqLyjWDarjtT1zdp7dc ok', 'key [secret] ok'],
    ['token ghp_16C7e42F292c6912E7710c838347Ae178B4a', 'token [secret]'],
    ['aws AKIAIOSFODNN7EXAMPLE x', 'aws [secret] x'],
    ['jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig_nature', 'jwt [secret]'],
    ['slack xoxb-1234567890-abcdefghij', 'slack [secret]'],
    ['hex 5d41402abc4b2a76b9719d911017c592deadbeef', 'hex [secret]'],
    ['b64 dGhpcyBpcyBhIHNlY3JldCBrZXkgMTIzNDU2Nzg5MA==', 'b64 [secret]'],
    ['ck_fake_5d41402abc4b2a76b9719d911017c592deadbeef', 'ck_fake_[secret]'],
  ];
  for (const [text, expected] of cases) assert.equal(scrubbed(text, ['token']), expected, text);
});

test('token: ordinary words, paths, UUIDs and short hex are left alone', () => {
  for (const text of [
    'Bearer of bad news',
    'the bearer responsibilities',
    'uuid 550e8400-e29b-41d4-a716-446655440000',
    'path /usr/local/lib/node_modules/typescript/lib/tsc.js',
    'Pneumonoultramicroscopicsilicovolcanoconiosis',
    'commit 5d41402a',
    'h:0f3a9c2e11b4d7aa',
  ]) {
    assert.equal(scrubbed(text, ['token']), text, text);
  }
});

test('only the enabled detectors run', () => {
  const text = 'john@example.net 137-14-7919 555-0142';
  assert.equal(scrubText(text, []), text);
  assert.equal(scrubText(text, ['ssn']), 'john@example.net ***-**-7919 555-0142');
  assert.equal(scrubText(text, ['email', 'phone']), 'j***@example.net 137-14-7919 ***-0142');
});

test('a note mixing several values is scrubbed without leaks', () => {
  const note = `Customer john.smith1@example.net (SSN 137-14-7919, card 4111 1111 1111 1111, tel +1-212-555-0110, alt 555-0142) key sk_live_4eC39HqLyjWDarjtT1zdp7dc`;
  const out = scrubbed(note);
  assert.equal(
    out,
    'Customer j***@example.net (SSN ***-**-7919, card **** **** **** 1111, tel +*-***-***-0110, alt ***-0142) key [secret]',
  );
  assert.equal(findLeak(out, ['john.smith1@example.net', '137-14-7919', '4111 1111 1111 1111', '+1-212-555-0110', '555-0142']), null);
});

test('every sample value is caught by some detector without leaks', () => {
  for (const value of sampleValues) {
    const out = scrubbed(`value: ${value}.`);
    assert.notEqual(out, `value: ${value}.`, value);
    assert.equal(findLeak(out, [value]), null, `${value} → ${out}`);
  }
});

test('detector names are checked by isDetector', () => {
  assert.ok(isDetector('card'));
  assert.ok(!isDetector('iban'));
});
