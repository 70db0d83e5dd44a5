// Backend (server → client) messages: strict decoders for what an upstream
// server sends us, and encoders for what the gateway sends its clients.
// Structure is checked as strictly as for frontend input; text is decoded
// leniently (a SQL_ASCII server may send any bytes in its messages).

import { encodeDataRow, readDataRowFields } from './datarow.ts';
import { describeType } from './framer.ts';
import { encodeCopyData, encodeCopyDone } from './frontend.ts';
import { BufferReader } from './reader.ts';
import { ProtocolError, type BackendMessage, type FieldDescription, type FormatCode, type NoticeFields } from './types.ts';
import { BufferWriter } from './writer.ts';

export { encodeDataRow, encodeCopyData, encodeCopyDone };

type Decoder = (r: BufferReader) => BackendMessage;
type Msg<T extends BackendMessage['type']> = Extract<BackendMessage, { type: T }>;

const code = (c: string): number => c.charCodeAt(0);

export const AUTH_OK = 0;
export const AUTH_CLEARTEXT_PASSWORD = 3;
export const AUTH_MD5_PASSWORD = 5;
export const AUTH_SASL = 10;
export const AUTH_SASL_CONTINUE = 11;
export const AUTH_SASL_FINAL = 12;

// ---------------------------------------------------------------- decoding

function Authentication(r: BufferReader): BackendMessage {
  const kind = r.int32('authentication code');
  switch (kind) {
    case AUTH_OK:
      r.end();
      return { type: 'AuthenticationOk' };
    case AUTH_CLEARTEXT_PASSWORD:
      r.end();
      return { type: 'AuthenticationCleartextPassword' };
    case AUTH_MD5_PASSWORD: {
      const salt = r.bytes(4, 'salt');
      r.end();
      return { type: 'AuthenticationMD5Password', salt };
    }
    case AUTH_SASL: {
      const mechanisms: string[] = [];
      for (let m = r.cstring('mechanism'); m !== ''; m = r.cstring('mechanism')) mechanisms.push(m);
      r.end();
      return { type: 'AuthenticationSASL', mechanisms };
    }
    case AUTH_SASL_CONTINUE: return { type: 'AuthenticationSASLContinue', data: r.rest() };
    case AUTH_SASL_FINAL: return { type: 'AuthenticationSASLFinal', data: r.rest() };
    default: return { type: 'AuthenticationOther', code: kind }; // GSS/SSPI data, if any, is not ours to read
  }
}

function noticeFields(r: BufferReader): NoticeFields {
  const fields: NoticeFields = {};
  for (let c = r.int8('field code'); c !== 0; c = r.int8('field code')) {
    fields[String.fromCharCode(c)] = r.cstring('field value');
  }
  r.end();
  return fields;
}

function copyResponse<T extends 'CopyInResponse' | 'CopyOutResponse' | 'CopyBothResponse'>(type: T) {
  return (r: BufferReader): Msg<T> => {
    const format = r.int8('overall format');
    if (format !== 0 && format !== 1) r.fail(`overall format ${format} is neither 0 nor 1`);
    const n = r.uint16('column count');
    const columnFormats = new Array<FormatCode>(n);
    for (let i = 0; i < n; i++) columnFormats[i] = r.format('column format code');
    r.end();
    return { type, format, columnFormats } as Msg<T>;
  };
}

function RowDescription(r: BufferReader): Msg<'RowDescription'> {
  const n = r.uint16('field count');
  const fields = new Array<FieldDescription>(n);
  for (let i = 0; i < n; i++) {
    fields[i] = {
      name: r.cstring('field name'),
      tableOid: r.uint32('table OID'),
      columnAttnum: r.int16('column number'),
      typeOid: r.uint32('type OID'),
      typeSize: r.int16('type size'),
      typeModifier: r.int32('type modifier'),
      format: r.format(),
    };
  }
  r.end();
  return { type: 'RowDescription', fields };
}

/** A message with an empty body. */
function only<T extends 'EmptyQueryResponse' | 'ParseComplete' | 'BindComplete' | 'CloseComplete' | 'NoData' | 'PortalSuspended' | 'CopyDone'>(
  type: T,
): (r: BufferReader) => { type: T } {
  return (r) => (r.end(), { type });
}

const decoders: (Decoder | undefined)[] = new Array(256);
const names: string[] = new Array(256);
function on(c: string, name: string, decode: Decoder): void {
  decoders[code(c)] = decode;
  names[code(c)] = name;
}

on('R', 'Authentication', Authentication);
on('S', 'ParameterStatus', (r) => {
  const name = r.cstring('parameter name');
  const value = r.cstring('parameter value');
  r.end();
  return { type: 'ParameterStatus', name, value };
});
on('K', 'BackendKeyData', (r) => {
  const processId = r.int32('process id');
  const secretKey = r.int32('secret key');
  r.end();
  return { type: 'BackendKeyData', processId, secretKey };
});
on('Z', 'ReadyForQuery', (r) => {
  const s = r.int8('transaction status');
  if (s !== 0x49 && s !== 0x54 && s !== 0x45) r.fail(`unknown transaction status ${describeType(s)}`);
  r.end();
  return { type: 'ReadyForQuery', status: String.fromCharCode(s) as 'I' | 'T' | 'E' };
});
on('T', 'RowDescription', RowDescription);
on('D', 'DataRow', (r) => ({ type: 'DataRow', values: readDataRowFields(r.body) }));
on('C', 'CommandComplete', (r) => {
  const tag = r.cstring('command tag');
  r.end();
  return { type: 'CommandComplete', tag };
});
on('I', 'EmptyQueryResponse', only('EmptyQueryResponse'));
on('E', 'ErrorResponse', (r) => ({ type: 'ErrorResponse', fields: noticeFields(r) }));
on('N', 'NoticeResponse', (r) => ({ type: 'NoticeResponse', fields: noticeFields(r) }));
on('A', 'NotificationResponse', (r) => {
  const processId = r.int32('process id');
  const channel = r.cstring('channel');
  const payload = r.cstring('payload');
  r.end();
  return { type: 'NotificationResponse', processId, channel, payload };
});
on('1', 'ParseComplete', only('ParseComplete'));
on('2', 'BindComplete', only('BindComplete'));
on('3', 'CloseComplete', only('CloseComplete'));
on('n', 'NoData', only('NoData'));
on('s', 'PortalSuspended', only('PortalSuspended'));
on('t', 'ParameterDescription', (r) => {
  const n = r.uint16('parameter count');
  const typeOids = new Array<number>(n);
  for (let i = 0; i < n; i++) typeOids[i] = r.uint32('parameter type');
  r.end();
  return { type: 'ParameterDescription', typeOids };
});
on('G', 'CopyInResponse', copyResponse('CopyInResponse'));
on('H', 'CopyOutResponse', copyResponse('CopyOutResponse'));
on('W', 'CopyBothResponse', copyResponse('CopyBothResponse'));
on('d', 'CopyData', (r) => ({ type: 'CopyData', data: r.body }));
on('c', 'CopyDone', only('CopyDone'));
on('V', 'FunctionCallResponse', (r) => {
  const len = r.int32('result length');
  if (len < -1) r.fail(`invalid result length ${len}`);
  const result = len === -1 ? null : r.bytes(len, 'result');
  r.end();
  return { type: 'FunctionCallResponse', result };
});
on('v', 'NegotiateProtocolVersion', (r) => {
  const minorVersion = r.int32('minor version');
  const n = r.int32('option count');
  if (n < 0 || n > r.remaining) r.fail(`invalid option count ${n}`);
  const unrecognized: string[] = [];
  for (let i = 0; i < n; i++) unrecognized.push(r.cstring('option name'));
  r.end();
  return { type: 'NegotiateProtocolVersion', minorVersion, unrecognized };
});

/** Decodes one backend message. Returned objects are fresh; Buffers are subarrays of `body`. */
export function decodeBackend(type: number, body: Buffer): BackendMessage {
  const decode = decoders[type];
  if (decode === undefined) throw new ProtocolError(`unexpected message type ${describeType(type)} from the server`);
  return decode(new BufferReader(body, names[type], false));
}

// ---------------------------------------------------------------- encoding

const w = new BufferWriter(1024);
const R = code('R');

export const encodeAuthenticationOk = (): Buffer => w.reset().int32(AUTH_OK).build(R);
export const encodeAuthenticationCleartextPassword = (): Buffer => w.reset().int32(AUTH_CLEARTEXT_PASSWORD).build(R);
export const encodeAuthenticationMD5Password = (salt: Uint8Array): Buffer => w.reset().int32(AUTH_MD5_PASSWORD).bytes(salt).build(R);
export function encodeAuthenticationSASL(mechanisms: readonly string[]): Buffer {
  w.reset().int32(AUTH_SASL);
  for (const m of mechanisms) w.cstring(m);
  return w.int8(0).build(R);
}
export const encodeAuthenticationSASLContinue = (data: Uint8Array): Buffer => w.reset().int32(AUTH_SASL_CONTINUE).bytes(data).build(R);
export const encodeAuthenticationSASLFinal = (data: Uint8Array): Buffer => w.reset().int32(AUTH_SASL_FINAL).bytes(data).build(R);

export const encodeParameterStatus = (name: string, value: string): Buffer => w.reset().cstring(name).cstring(value).build(code('S'));
export const encodeBackendKeyData = (processId: number, secretKey: number): Buffer =>
  w.reset().int32(processId).int32(secretKey).build(code('K'));

export function encodeReadyForQuery(status: 'I' | 'T' | 'E'): Buffer {
  const out = Buffer.allocUnsafe(6);
  out[0] = 0x5a;
  out.writeInt32BE(5, 1);
  out[5] = status.charCodeAt(0);
  return out;
}

export function encodeRowDescription(fields: readonly FieldDescription[]): Buffer {
  w.reset().uint16(fields.length);
  for (const f of fields) {
    w.cstring(f.name).uint32(f.tableOid).int16(f.columnAttnum).uint32(f.typeOid);
    w.int16(f.typeSize).int32(f.typeModifier).int16(f.format);
  }
  return w.build(code('T'));
}

export const encodeCommandComplete = (tag: string): Buffer => w.reset().cstring(tag).build(code('C'));
export const encodeEmptyQueryResponse = (): Buffer => w.reset().build(code('I'));

function encodeFields(type: number, fields: NoticeFields): Buffer {
  w.reset();
  for (const key of Object.keys(fields)) {
    if (key.length !== 1 || key === '\0') throw new ProtocolError(`invalid error field code ${JSON.stringify(key)}`);
    w.int8(key.charCodeAt(0)).cstring(fields[key]);
  }
  return w.int8(0).build(type);
}
export const encodeErrorResponse = (fields: NoticeFields): Buffer => encodeFields(code('E'), fields);
export const encodeNoticeResponse = (fields: NoticeFields): Buffer => encodeFields(code('N'), fields);

export const encodeNotificationResponse = (processId: number, channel: string, payload: string): Buffer =>
  w.reset().int32(processId).cstring(channel).cstring(payload).build(code('A'));
export const encodeParseComplete = (): Buffer => w.reset().build(code('1'));
export const encodeBindComplete = (): Buffer => w.reset().build(code('2'));
export const encodeCloseComplete = (): Buffer => w.reset().build(code('3'));
export const encodeNoData = (): Buffer => w.reset().build(code('n'));
export const encodePortalSuspended = (): Buffer => w.reset().build(code('s'));

export function encodeParameterDescription(typeOids: readonly number[]): Buffer {
  w.reset().uint16(typeOids.length);
  for (const oid of typeOids) w.uint32(oid);
  return w.build(code('t'));
}

/** CopyInResponse ('G'), CopyOutResponse ('H') or CopyBothResponse ('W'). */
export function encodeCopyResponse(type: 'G' | 'H' | 'W', format: FormatCode, columnFormats: readonly FormatCode[]): Buffer {
  w.reset().int8(format).uint16(columnFormats.length);
  for (const f of columnFormats) w.int16(f);
  return w.build(code(type));
}

export function encodeFunctionCallResponse(result: Uint8Array | null): Buffer {
  w.reset();
  if (result === null) w.int32(-1);
  else w.int32(result.length).bytes(result);
  return w.build(code('V'));
}

export function encodeNegotiateProtocolVersion(minorVersion: number, unrecognized: readonly string[]): Buffer {
  w.reset().int32(minorVersion).int32(unrecognized.length);
  for (const name of unrecognized) w.cstring(name);
  return w.build(code('v'));
}

export function encodeBackend(m: BackendMessage): Buffer {
  switch (m.type) {
    case 'AuthenticationOk': return encodeAuthenticationOk();
    case 'AuthenticationCleartextPassword': return encodeAuthenticationCleartextPassword();
    case 'AuthenticationMD5Password': return encodeAuthenticationMD5Password(m.salt);
    case 'AuthenticationSASL': return encodeAuthenticationSASL(m.mechanisms);
    case 'AuthenticationSASLContinue': return encodeAuthenticationSASLContinue(m.data);
    case 'AuthenticationSASLFinal': return encodeAuthenticationSASLFinal(m.data);
    case 'AuthenticationOther': return w.reset().int32(m.code).build(R);
    case 'ParameterStatus': return encodeParameterStatus(m.name, m.value);
    case 'BackendKeyData': return encodeBackendKeyData(m.processId, m.secretKey);
    case 'ReadyForQuery': return encodeReadyForQuery(m.status);
    case 'RowDescription': return encodeRowDescription(m.fields);
    case 'DataRow': return encodeDataRow(m.values);
    case 'CommandComplete': return encodeCommandComplete(m.tag);
    case 'EmptyQueryResponse': return encodeEmptyQueryResponse();
    case 'ErrorResponse': return encodeErrorResponse(m.fields);
    case 'NoticeResponse': return encodeNoticeResponse(m.fields);
    case 'NotificationResponse': return encodeNotificationResponse(m.processId, m.channel, m.payload);
    case 'ParseComplete': return encodeParseComplete();
    case 'BindComplete': return encodeBindComplete();
    case 'CloseComplete': return encodeCloseComplete();
    case 'NoData': return encodeNoData();
    case 'PortalSuspended': return encodePortalSuspended();
    case 'ParameterDescription': return encodeParameterDescription(m.typeOids);
    case 'CopyInResponse': return encodeCopyResponse('G', m.format, m.columnFormats);
    case 'CopyOutResponse': return encodeCopyResponse('H', m.format, m.columnFormats);
    case 'CopyBothResponse': return encodeCopyResponse('W', m.format, m.columnFormats);
    case 'CopyData': return encodeCopyData(m.data);
    case 'CopyDone': return encodeCopyDone();
    case 'FunctionCallResponse': return encodeFunctionCallResponse(m.result);
    case 'NegotiateProtocolVersion': return encodeNegotiateProtocolVersion(m.minorVersion, m.unrecognized);
  }
}
