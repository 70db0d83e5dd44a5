import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as be from './backend.ts';
import { MessageFramer, defaultFrameLimits } from './framer.ts';
import { ProtocolError, type BackendMessage } from './types.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const text = (s: string): string => Buffer.from(s, 'latin1').toString('hex');
const t = (c: string): number => c.charCodeAt(0);

function decodeWire(wire: Buffer): BackendMessage {
  const f = new MessageFramer(defaultFrameLimits, 'backend');
  f.push(wire);
  const raw = f.next();
  assert.ok(raw, 'one complete message');
  assert.equal(f.buffered, 0, 'nothing left over');
  return be.decodeBackend(raw.type, raw.body);
}

const field = { name: 'id', tableOid: 16384, columnAttnum: 1, typeOid: 23, typeSize: 4, typeModifier: -1, format: 0 as const };

// Bytes written by hand from the "Message Formats" page, the specific encoder's output, and the typed message.
const spec: [Buffer, Buffer, BackendMessage][] = [
  [hex('52 00000008 00000000'), be.encodeAuthenticationOk(), { type: 'AuthenticationOk' }],
  [hex('52 00000008 00000003'), be.encodeAuthenticationCleartextPassword(), { type: 'AuthenticationCleartextPassword' }],
  [hex('52 0000000c 00000005 01020304'), be.encodeAuthenticationMD5Password(hex('01020304')),
    { type: 'AuthenticationMD5Password', salt: hex('01020304') }],
  [hex(`52 00000017 0000000a ${text('SCRAM-SHA-256\0')} 00`), be.encodeAuthenticationSASL(['SCRAM-SHA-256']),
    { type: 'AuthenticationSASL', mechanisms: ['SCRAM-SHA-256'] }],
  [hex(`52 0000000d 0000000b ${text('r=abc')}`), be.encodeAuthenticationSASLContinue(Buffer.from('r=abc')),
    { type: 'AuthenticationSASLContinue', data: Buffer.from('r=abc') }],
  [hex(`52 0000000d 0000000c ${text('v=xyz')}`), be.encodeAuthenticationSASLFinal(Buffer.from('v=xyz')),
    { type: 'AuthenticationSASLFinal', data: Buffer.from('v=xyz') }],
  [hex(`53 00000019 ${text('client_encoding\0UTF8\0')}`), be.encodeParameterStatus('client_encoding', 'UTF8'),
    { type: 'ParameterStatus', name: 'client_encoding', value: 'UTF8' }],
  [hex('4b 0000000c 000004d2 12345678'), be.encodeBackendKeyData(1234, 0x12345678),
    { type: 'BackendKeyData', processId: 1234, secretKey: 0x12345678 }],
  [hex('5a 00000005 49'), be.encodeReadyForQuery('I'), { type: 'ReadyForQuery', status: 'I' }],
  [hex(`54 0000001b 0001 ${text('id\0')} 00004000 0001 00000017 0004 ffffffff 0000`), be.encodeRowDescription([field]),
    { type: 'RowDescription', fields: [field] }],
  [hex('44 0000000f 0002 00000001 31 ffffffff'), be.encodeDataRow([Buffer.from('1'), null]),
    { type: 'DataRow', values: [Buffer.from('1'), null] }],
  [hex(`43 0000000d ${text('SELECT 1\0')}`), be.encodeCommandComplete('SELECT 1'), { type: 'CommandComplete', tag: 'SELECT 1' }],
  [hex('49 00000004'), be.encodeEmptyQueryResponse(), { type: 'EmptyQueryResponse' }],
  [hex(`45 00000022 ${text('SERROR\0VERROR\0C42501\0Mdenied\0')} 00`),
    be.encodeErrorResponse({ S: 'ERROR', V: 'ERROR', C: '42501', M: 'denied' }),
    { type: 'ErrorResponse', fields: { S: 'ERROR', V: 'ERROR', C: '42501', M: 'denied' } }],
  [hex(`4e 0000000d ${text('SNOTICE\0')} 00`), be.encodeNoticeResponse({ S: 'NOTICE' }),
    { type: 'NoticeResponse', fields: { S: 'NOTICE' } }],
  [hex(`41 0000000e 00000007 ${text('ch\0hi\0')}`), be.encodeNotificationResponse(7, 'ch', 'hi'),
    { type: 'NotificationResponse', processId: 7, channel: 'ch', payload: 'hi' }],
  [hex('31 00000004'), be.encodeParseComplete(), { type: 'ParseComplete' }],
  [hex('32 00000004'), be.encodeBindComplete(), { type: 'BindComplete' }],
  [hex('33 00000004'), be.encodeCloseComplete(), { type: 'CloseComplete' }],
  [hex('6e 00000004'), be.encodeNoData(), { type: 'NoData' }],
  [hex('73 00000004'), be.encodePortalSuspended(), { type: 'PortalSuspended' }],
  [hex('74 0000000e 0002 00000017 00000019'), be.encodeParameterDescription([23, 25]),
    { type: 'ParameterDescription', typeOids: [23, 25] }],
  [hex('47 0000000b 00 0002 0000 0000'), be.encodeCopyResponse('G', 0, [0, 0]),
    { type: 'CopyInResponse', format: 0, columnFormats: [0, 0] }],
  [hex('48 00000009 01 0001 0001'), be.encodeCopyResponse('H', 1, [1]), { type: 'CopyOutResponse', format: 1, columnFormats: [1] }],
  [hex('57 00000007 00 0000'), be.encodeCopyResponse('W', 0, []), { type: 'CopyBothResponse', format: 0, columnFormats: [] }],
  [hex('64 00000005 0a'), be.encodeCopyData(hex('0a')), { type: 'CopyData', data: hex('0a') }],
  [hex('63 00000004'), be.encodeCopyDone(), { type: 'CopyDone' }],
  [hex('56 0000000a 00000002 3432'), be.encodeFunctionCallResponse(Buffer.from('42')),
    { type: 'FunctionCallResponse', result: Buffer.from('42') }],
  [hex('56 00000008 ffffffff'), be.encodeFunctionCallResponse(null), { type: 'FunctionCallResponse', result: null }],
  [hex(`76 00000015 00000000 00000001 ${text('_pq_.foo\0')}`), be.encodeNegotiateProtocolVersion(0, ['_pq_.foo']),
    { type: 'NegotiateProtocolVersion', minorVersion: 0, unrecognized: ['_pq_.foo'] }],
];

for (const [wire, encoded, message] of spec) {
  test(`${message.type}: spec bytes ⇄ typed message, specific and generic encoders agree`, () => {
    assert.deepEqual(decodeWire(wire), message);
    assert.deepEqual(encoded, wire);
    assert.deepEqual(be.encodeBackend(message), wire);
  });
}

test('round trip (encode → frame → decode) of every backend message type, with edge values', () => {
  const messages: BackendMessage[] = [
    ...spec.map(([, , m]) => m),
    { type: 'AuthenticationOther', code: 7 },
    { type: 'AuthenticationSASL', mechanisms: ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'] },
    { type: 'ReadyForQuery', status: 'T' },
    { type: 'ReadyForQuery', status: 'E' },
    { type: 'RowDescription', fields: [] },
    { type: 'RowDescription', fields: [{ ...field, name: 'naïve', tableOid: 0xffffffff, typeOid: 0xfffffff0, typeSize: -1, typeModifier: 65540, format: 1 }, field] },
    { type: 'DataRow', values: [] },
    { type: 'DataRow', values: [Buffer.alloc(0), null, Buffer.alloc(70000, 1)] },
    { type: 'BackendKeyData', processId: -1, secretKey: -2147483648 },
    { type: 'ErrorResponse', fields: { S: 'FATAL', V: 'FATAL', C: '08P01', M: 'bad', D: 'detail', H: 'hint', P: '12' } },
    { type: 'NegotiateProtocolVersion', minorVersion: 2, unrecognized: [] },
  ];
  for (const m of messages) assert.deepEqual(decodeWire(be.encodeBackend(m)), m, m.type);
});

const fails = (c: string, body: string, re: RegExp): void => {
  assert.throws(() => be.decodeBackend(t(c), hex(body)), (e: unknown) => e instanceof ProtocolError && re.test(e.message), `${c} ${body}`);
};

test('unknown and client-only type bytes from a server are refused', () => {
  for (const c of ['Q', 'P', 'B', 'F', 'p', 'X', 'f', '\0', 'x']) fails(c, '', /unexpected message type/);
});

test('strict structure: trailing bytes, truncation and bad values are ProtocolErrors', () => {
  fails('R', '00000000 00', /trailing/);
  fails('R', '000000', /truncated/);
  fails('R', '00000005 0102', /truncated salt/);
  fails('R', `0000000a ${text('SCRAM-SHA-256\0')}`, /not NUL-terminated/);
  fails('Z', '58', /transaction status/);
  fails('Z', '4949', /trailing/);
  fails('K', '00000001', /truncated/);
  fails('T', '0002 696400 00004000 0001 00000017 0004 ffffffff 0000', /not NUL-terminated/);
  fails('T', '0001 696400 00004000 0001 00000017 0004 ffffffff', /truncated/);
  fails('T', '0001 696400 00004000 0001 00000017 0004 ffffffff 0002', /format code/);
  fails('D', '0001 fffffffe', /invalid length -2/);
  fails('D', '0001 00000005 4142', /exceeds the message/);
  fails('D', '0000 00', /trailing/);
  fails('E', `${text('SERROR\0')}`, /truncated/);
  fails('C', text('SELECT 1'), /not NUL-terminated/);
  fails('1', '00', /trailing/);
  fails('G', '02 0000', /overall format/);
  fails('t', '0001 000000', /truncated/);
  fails('V', 'fffffffe', /invalid result length/);
  fails('v', '00000000 7fffffff', /invalid option count/);
});

test('backend text is decoded leniently (a SQL_ASCII server may send any bytes)', () => {
  const m = be.decodeBackend(t('C'), hex('ff 00'));
  assert.deepEqual(m, { type: 'CommandComplete', tag: '\ufffd' });
});

test('ErrorResponse fields must be one-character codes', () => {
  assert.throws(() => be.encodeErrorResponse({ SS: 'x' }), ProtocolError);
});

test('AuthenticationOther keeps only the code (GSS data is not interpreted)', () => {
  assert.deepEqual(be.decodeBackend(t('R'), hex('00000008 0102')), { type: 'AuthenticationOther', code: 8 });
});
