import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeStartup, encodeCancelRequest, encodeSSLRequest, encodeStartup, encodeStartupMessage, encodeGSSENCRequest } from './frontend.ts';
import { MessageFramer, defaultFrameLimits } from './framer.ts';
import { ProtocolError, type StartupPacket } from './types.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const text = (s: string): string => Buffer.from(s, 'latin1').toString('hex');
/** Body of a startup packet: everything after the length word. */
const body = (packet: Buffer): Buffer => packet.subarray(4);

function roundTrip(p: StartupPacket): StartupPacket {
  const f = new MessageFramer(defaultFrameLimits, 'frontend');
  f.push(encodeStartup(p));
  const raw = f.next();
  assert.ok(raw);
  assert.equal(raw.type, 0);
  return decodeStartup(raw.body);
}

const spec = {
  startup: hex(`00000024 00030000 ${text('user\0alice\0database\0corpus\0')} 00`),
  ssl: hex('00000008 04d2162f'),
  gssenc: hex('00000008 04d21630'),
  cancel: hex('00000010 04d2162e 000004d2 ffffffff'),
};

test('StartupMessage from the spec bytes', () => {
  assert.deepEqual(decodeStartup(body(spec.startup)), {
    type: 'StartupMessage',
    protocolVersion: 196608,
    parameters: { user: 'alice', database: 'corpus' },
    duplicateKeys: [],
  });
  assert.deepEqual(encodeStartupMessage({ user: 'alice', database: 'corpus' }), spec.startup);
});

test('SSLRequest, GSSENCRequest and CancelRequest from the spec bytes', () => {
  assert.deepEqual(decodeStartup(body(spec.ssl)), { type: 'SSLRequest' });
  assert.deepEqual(decodeStartup(body(spec.gssenc)), { type: 'GSSENCRequest' });
  assert.deepEqual(decodeStartup(body(spec.cancel)), { type: 'CancelRequest', processId: 1234, secretKey: -1 });
  assert.deepEqual(encodeSSLRequest(), spec.ssl);
  assert.deepEqual(encodeGSSENCRequest(), spec.gssenc);
  assert.deepEqual(encodeCancelRequest(1234, -1), spec.cancel);
});

test('round trip of every startup packet through the framer', () => {
  const packets: StartupPacket[] = [
    { type: 'StartupMessage', protocolVersion: 196608, parameters: { user: 'bob', database: 'd', application_name: 'psql', options: '' }, duplicateKeys: [] },
    { type: 'StartupMessage', protocolVersion: 196610, parameters: { user: 'ü' }, duplicateKeys: [] },
    { type: 'SSLRequest' },
    { type: 'GSSENCRequest' },
    { type: 'CancelRequest', processId: 2147483647, secretKey: -2147483648 },
  ];
  for (const p of packets) assert.deepEqual(roundTrip(p), p);
});

test('special requests must have their exact length', () => {
  assert.throws(() => decodeStartup(hex('04d2162f 00')), /SSLRequest: length 9, expected 8/);
  assert.throws(() => decodeStartup(hex('04d21630 00000000')), ProtocolError);
  assert.throws(() => decodeStartup(hex('04d2162e 000004d2')), /CancelRequest: length 12, expected 16/);
  assert.throws(() => decodeStartup(hex('04d2162e 000004d2 00000001 00')), ProtocolError);
  assert.throws(() => decodeStartup(hex('0003')), ProtocolError);
});

test('StartupMessage layout errors are refused', () => {
  const v3 = '00030000';
  const cases: [string, string, RegExp][] = [
    ['missing final terminator', v3 + text('user\0alice\0'), /final NUL terminator/],
    ['unterminated value', v3 + text('user\0alice'), /not NUL-terminated/],
    ['odd number of strings', v3 + text('user\0alice\0database\0') + '00', /missing the final|no value/],
    ['key without value at the end', v3 + text('user\0'), /no value/],
    ['empty key', v3 + text('\0alice\0') + '00', /empty parameter name/],
    ['bytes after the terminator', v3 + text('user\0alice\0') + '00' + '41', /after the final terminator/],
    ['no parameters and no terminator', v3, /final NUL terminator/],
  ];
  for (const [name, h, re] of cases) assert.throws(() => decodeStartup(hex(h)), re, name);
});

test('a StartupMessage with no parameters but the terminator is valid (the caller checks for user)', () => {
  assert.deepEqual(decodeStartup(hex('00030000 00')), { type: 'StartupMessage', protocolVersion: 196608, parameters: {}, duplicateKeys: [] });
});

test('duplicate keys are reported once and the first value is kept', () => {
  const p = decodeStartup(hex('00030000' + text('user\0a\0user\0b\0user\0c\0database\0d\0') + '00'));
  assert.ok(p.type === 'StartupMessage');
  assert.deepEqual(p.parameters, { user: 'a', database: 'd' });
  assert.deepEqual(p.duplicateKeys, ['user']);
});

test('a "__proto__" key stays a plain data property', () => {
  const p = decodeStartup(hex('00030000' + text('__proto__\0x\0') + '00'));
  assert.ok(p.type === 'StartupMessage');
  assert.equal(Object.getPrototypeOf(p.parameters), Object.prototype);
  assert.equal(Object.getOwnPropertyDescriptor(p.parameters, '__proto__')?.value, 'x');
});

test('other protocol versions: 3.x decodes parameters, other majors return none for the caller to refuse', () => {
  const params = text('user\0a\0') + '00';
  const v32 = decodeStartup(hex('00030002' + params));
  assert.deepEqual(v32, { type: 'StartupMessage', protocolVersion: 0x30002, parameters: { user: 'a' }, duplicateKeys: [] });
  const v2 = decodeStartup(hex('00020000' + params));
  assert.deepEqual(v2, { type: 'StartupMessage', protocolVersion: 0x20000, parameters: {}, duplicateKeys: [] });
  const weird = decodeStartup(hex('04d21631'));
  assert.deepEqual(weird, { type: 'StartupMessage', protocolVersion: 80877105, parameters: {}, duplicateKeys: [] });
});

test('invalid UTF-8 in a startup parameter is refused', () => {
  assert.throws(() => decodeStartup(hex('00030000 7573657200 ff00 00')), (e: unknown) => e instanceof ProtocolError && e.code === '22021');
});
