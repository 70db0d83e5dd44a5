import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeFrontend, decodePasswordMessage, decodeSASLInitialResponse, encodeBind, encodeClose, encodeCopyData, encodeCopyDone,
  encodeCopyFail, encodeDescribe, encodeExecute, encodeFlush, encodeFrontend, encodeFunctionCall, encodeParse, encodePassword,
  encodeQuery, encodeSASLInitialResponse, encodeSASLResponse, encodeSync, encodeTerminate,
} from './frontend.ts';
import { MessageFramer, defaultFrameLimits } from './framer.ts';
import { ProtocolError, type FrontendMessage } from './types.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const text = (s: string): string => Buffer.from(s, 'latin1').toString('hex');
const t = (c: string): number => c.charCodeAt(0);

/** Decodes one whole message (type byte + length + body) after framing it. */
function decodeWire(wire: Buffer): FrontendMessage {
  const f = new MessageFramer(defaultFrameLimits, 'frontend');
  f.startupMode = false;
  f.push(wire);
  const raw = f.next();
  assert.ok(raw, 'one complete message');
  assert.equal(f.buffered, 0, 'nothing left over');
  return decodeFrontend(raw.type, raw.body);
}

const isProtocolError = (code = '08P01') => (e: unknown): boolean => e instanceof ProtocolError && e.code === code;

// Bytes written by hand from the "Message Formats" page.
const spec: [string, Buffer, Buffer, FrontendMessage][] = [
  ['Query', hex(`51 0000000d ${text('SELECT 1')} 00`), encodeQuery('SELECT 1'), { type: 'Query', sql: 'SELECT 1' }],
  ['Parse', hex(`50 00000017 ${text('s1\0SELECT $1\0')} 0001 00000017`), encodeParse('s1', 'SELECT $1', [23]),
    { type: 'Parse', name: 's1', sql: 'SELECT $1', paramTypes: [23] }],
  ['Bind', hex(`42 0000001e 00 ${text('s1\0')} 0001 0001 0002 00000004 00000001 ffffffff 0001 0000`),
    encodeBind({ statement: 's1', paramFormats: [1], params: [hex('00000001'), null], resultFormats: [0] }),
    { type: 'Bind', portal: '', statement: 's1', paramFormats: [1], params: [hex('00000001'), null], resultFormats: [0] }],
  ['Describe', hex(`44 00000008 53 ${text('s1\0')}`), encodeDescribe('S', 's1'), { type: 'Describe', kind: 'S', name: 's1' }],
  ['Execute', hex('45 00000009 00 00000000'), encodeExecute('', 0), { type: 'Execute', portal: '', maxRows: 0 }],
  ['Close', hex('43 00000006 50 00'), encodeClose('P', ''), { type: 'Close', kind: 'P', name: '' }],
  ['Sync', hex('53 00000004'), encodeSync(), { type: 'Sync' }],
  ['Flush', hex('48 00000004'), encodeFlush(), { type: 'Flush' }],
  ['Terminate', hex('58 00000004'), encodeTerminate(), { type: 'Terminate' }],
  ['CopyData', hex('64 00000006 6162'), encodeCopyData(Buffer.from('ab')), { type: 'CopyData', data: Buffer.from('ab') }],
  ['CopyDone', hex('63 00000004'), encodeCopyDone(), { type: 'CopyDone' }],
  ['CopyFail', hex(`66 00000009 ${text('oops\0')}`), encodeCopyFail('oops'), { type: 'CopyFail', message: 'oops' }],
  ['FunctionCall', hex('46 0000000e 0000063e 0000 0000 0000'), encodeFunctionCall(1598), { type: 'FunctionCall', functionOid: 1598 }],
  ['PasswordMessage', hex(`70 0000000b ${text('secret\0')}`), encodePassword('secret'),
    { type: 'PasswordMessage', data: Buffer.from('secret\0') }],
];

for (const [name, wire, encoded, message] of spec) {
  test(`${name}: spec bytes decode to the typed message and the encoder produces the same bytes`, () => {
    assert.deepEqual(decodeWire(wire), message);
    assert.deepEqual(encoded, wire);
    assert.deepEqual(encodeFrontend(message), wire);
  });
}

test('round trip (encode → frame → decode) of every frontend message type', () => {
  const messages: FrontendMessage[] = [
    { type: 'Query', sql: "SELECT 'héllo ✓', $$x$$" },
    { type: 'Query', sql: '' },
    { type: 'Parse', name: '', sql: 'SELECT $1::int, $2', paramTypes: [23, 0xfffffffe] },
    { type: 'Bind', portal: 'p', statement: 's', paramFormats: [0, 1], params: [Buffer.from('42'), Buffer.alloc(0)], resultFormats: [1, 0, 1] },
    { type: 'Bind', portal: '', statement: '', paramFormats: [], params: [], resultFormats: [] },
    { type: 'Describe', kind: 'P', name: 'portal' },
    { type: 'Execute', portal: 'p', maxRows: 2147483647 },
    { type: 'Close', kind: 'S', name: 'stmt' },
    { type: 'Sync' }, { type: 'Flush' }, { type: 'Terminate' }, { type: 'CopyDone' },
    { type: 'CopyData', data: Buffer.from([0, 1, 2, 255]) },
    { type: 'CopyFail', message: 'client gave up' },
    { type: 'FunctionCall', functionOid: 4294967295 },
    { type: 'PasswordMessage', data: Buffer.from([1, 2, 3]) },
  ];
  for (const m of messages) assert.deepEqual(decodeWire(encodeFrontend(m)), m, m.type);
});

test('a NUL byte inside Query text is refused', () => {
  assert.throws(() => decodeFrontend(t('Q'), Buffer.from('SELECT 1\0; DROP TABLE x\0')), /NUL/);
  assert.throws(() => decodeFrontend(t('Q'), Buffer.from('\0\0')), /NUL/);
});

test('a NUL byte inside Parse text is refused', () => {
  const body = Buffer.concat([Buffer.from('s\0SELECT 1\0; DROP TABLE x\0'), hex('0000')]);
  assert.throws(() => decodeFrontend(t('P'), body), /NUL/);
});

test('an unterminated Query and an empty Query body are refused', () => {
  assert.throws(() => decodeFrontend(t('Q'), Buffer.from('SELECT 1')), /not NUL-terminated/);
  assert.throws(() => decodeFrontend(t('Q'), Buffer.alloc(0)), isProtocolError());
});

test('invalid UTF-8 in SQL is a ProtocolError with SQLSTATE 22021', () => {
  assert.throws(() => decodeFrontend(t('Q'), hex(`${text('SELECT ')} c328 00`)), isProtocolError('22021'));
  assert.throws(() => decodeFrontend(t('P'), hex(`00 ${text('SELECT ')} ff 00 0000`)), isProtocolError('22021'));
});

test('Query text decodes the same on the short ASCII path and the long validated one', () => {
  for (const sql of ['SELECT 1', "SELECT 'é€😀'", 'SELECT ' + '1,'.repeat(600) + '1', "SELECT '" + 'ü'.repeat(700) + "'", '']) {
    assert.deepEqual(decodeFrontend(t('Q'), Buffer.from(`${sql}\0`)), { type: 'Query', sql });
  }
  const long = 'SELECT ' + 'x'.repeat(2000);
  assert.throws(() => decodeFrontend(t('Q'), Buffer.from(`${long}\0${long}\0`)), /NUL/);
  assert.throws(() => decodeFrontend(t('Q'), Buffer.concat([Buffer.from(long), hex('c328 00')])), isProtocolError('22021'));
});

test('server-only and unknown type bytes from a client are refused', () => {
  for (const c of ['T', 'Z', 'R', 'K', 'I', 'A', 'N', '1', 'n', 't', 'v', 'V', 'G', 'W', 's']) {
    assert.throws(() => decodeFrontend(t(c), Buffer.alloc(0)), /unexpected message type/, c);
  }
  for (const b of [0, 0x7f, 0xff]) assert.throws(() => decodeFrontend(b, Buffer.alloc(0)), isProtocolError());
});

const bindBody = (after: string): Buffer => hex(`00 00 ${after}`);

test('Bind validation: lengths, format counts and format codes', () => {
  const cases: [string, string, RegExp][] = [
    ['length below -1', '0000 0001 fffffffe 0000', /invalid length -2/],
    ['length beyond the body', '0000 0001 00000010 41 0000', /exceeds the message/],
    ['2 format codes for 3 params', '0002 0000 0000 0003 ffffffff ffffffff ffffffff 0000', /must be 0, 1 or 3/],
    ['format code 2', '0001 0002 0000 0000', /neither 0 \(text\) nor 1/],
    ['result format code 2', '0000 0000 0001 0002', /neither 0 \(text\) nor 1/],
    ['trailing bytes', '0000 0000 0000 00', /trailing/],
    ['truncated result formats', '0000 0000 0002 0000', /truncated/],
    ['missing statement terminator', '', /truncated|NUL/],
  ];
  for (const [name, h, re] of cases) assert.throws(() => decodeFrontend(t('B'), bindBody(h)), re, name);
  assert.throws(() => decodeFrontend(t('B'), hex('00 4142')), /statement name is not NUL-terminated/);
});

test('Describe/Close kind must be S or P; Execute row limit must not be negative', () => {
  assert.throws(() => decodeFrontend(t('D'), hex('58 00')), /neither 'S' nor 'P'/);
  assert.throws(() => decodeFrontend(t('C'), hex('73 00')), /neither 'S' nor 'P'/);
  assert.throws(() => decodeFrontend(t('D'), hex('53')), /not NUL-terminated/);
  assert.throws(() => decodeFrontend(t('E'), hex('00 ffffffff')), /negative row limit/);
  assert.throws(() => decodeFrontend(t('E'), hex('00 000000')), /truncated/);
});

test('messages without a body refuse extra bytes, others refuse trailing bytes', () => {
  for (const c of ['S', 'H', 'X', 'c']) assert.throws(() => decodeFrontend(t(c), hex('00')), /unexpected byte/, c);
  assert.throws(() => decodeFrontend(t('D'), hex('53 00 00')), /trailing/);
  assert.throws(() => decodeFrontend(t('f'), hex('41 00 42')), /trailing/);
  assert.throws(() => decodeFrontend(t('P'), hex('00 4100 0001')), /NUL/);
});

test('FunctionCall validates its arguments and result format', () => {
  assert.deepEqual(decodeFrontend(t('F'), hex('00000010 0001 0001 0001 00000002 3432 0001')), { type: 'FunctionCall', functionOid: 16 });
  assert.throws(() => decodeFrontend(t('F'), hex('00000010 0000 0001 fffffffd 0000')), /invalid length -3/);
  assert.throws(() => decodeFrontend(t('F'), hex('00000010 0000 0000 0002')), /result format code/);
  assert.throws(() => decodeFrontend(t('F'), hex('000000')), /truncated/);
});

test("'p' bodies by auth state: cleartext password and SASLInitialResponse", () => {
  assert.equal(decodePasswordMessage(Buffer.from('tok\0')), 'tok');
  assert.throws(() => decodePasswordMessage(Buffer.from('tok')), ProtocolError);
  assert.throws(() => decodePasswordMessage(Buffer.from('tok\0x')), /trailing/);

  const initial = encodeSASLInitialResponse('SCRAM-SHA-256', 'n,,n=,r=abc');
  assert.deepEqual(initial, hex(`70 00000021 ${text('SCRAM-SHA-256\0')} 0000000b ${text('n,,n=,r=abc')}`));
  const m = decodeWire(initial);
  assert.ok(m.type === 'PasswordMessage');
  assert.deepEqual(decodeSASLInitialResponse(m.data), { mechanism: 'SCRAM-SHA-256', data: Buffer.from('n,,n=,r=abc') });
  assert.deepEqual(decodeSASLInitialResponse(hex(`${text('X\0')} ffffffff`)), { mechanism: 'X', data: null });
  assert.throws(() => decodeSASLInitialResponse(hex(`${text('X\0')} 00000005 41`)), /invalid data length 5/);
  assert.deepEqual(encodeSASLResponse('c=biws'), hex(`70 0000000a ${text('c=biws')}`));
  assert.deepEqual(encodeSASLInitialResponse('X', null), hex(`70 0000000a ${text('X\0')} ffffffff`));
});

test('decoded Bind parameters and CopyData are zero-copy views of the body', () => {
  const body = bindBody('0000 0001 00000002 4142 0000');
  const m = decodeFrontend(t('B'), body);
  assert.ok(m.type === 'Bind');
  assert.equal(m.params[0]!.buffer, body.buffer);
  const d = decodeFrontend(t('d'), body);
  assert.ok(d.type === 'CopyData');
  assert.equal(d.data, body);
});

test('the format lists of Binds with no code or one code are shared, read-only lists', () => {
  const decodeBind = (body: string) => {
    const m = decodeFrontend(t('B'), bindBody(body));
    assert.ok(m.type === 'Bind');
    return m;
  };
  const none = decodeBind('0000 0000 0000');
  const text = decodeBind('0001 0000 0000 0001 0000');
  const binary = decodeBind('0001 0001 0000 0001 0001');
  assert.deepEqual([none.paramFormats, none.resultFormats], [[], []]);
  assert.deepEqual([text.paramFormats, text.resultFormats], [[0], [0]]);
  assert.deepEqual([binary.paramFormats, binary.resultFormats], [[1], [1]]);
  assert.equal(decodeBind('0001 0000 0000 0001 0000').resultFormats, text.resultFormats);
  for (const list of [none.paramFormats, text.resultFormats, binary.paramFormats]) assert.ok(Object.isFrozen(list));
  // Several codes are the client's own list.
  const mixed = decodeBind('0000 0000 0002 0001 0000');
  assert.deepEqual(mixed.resultFormats, [1, 0]);
  assert.ok(!Object.isFrozen(mixed.resultFormats));
});
