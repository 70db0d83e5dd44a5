// Frontend (client → server) messages: strict decoders for what clients send
// us, and encoders for the gateway's upstream side, where it is the client.
// Decoding dispatches through a table keyed by type byte, one small function
// per message, named as in the protocol docs.

import { describeType } from './framer.ts';
import { BufferReader, latin1 } from './reader.ts';
import { ProtocolError, type FormatCode, type FrontendMessage } from './types.ts';
import { BufferWriter } from './writer.ts';

export { decodeStartup, encodeStartupMessage, encodeSSLRequest, encodeGSSENCRequest, encodeCancelRequest, encodeStartup } from './startup.ts';

type Decoder = (body: Buffer) => FrontendMessage;
type Msg<T extends FrontendMessage['type']> = Extract<FrontendMessage, { type: T }>;

const code = (c: string): number => c.charCodeAt(0);

// ---------------------------------------------------------------- decoding

function Query(body: Buffer): Msg<'Query'> {
  const last = body.length - 1;
  if (last < 0 || body[last] !== 0) new BufferReader(body, 'Query').fail('query string is not NUL-terminated');
  if (last <= 1024) {
    // Most SQL is short ASCII: one pass checks for NUL bytes and for the need to validate UTF-8.
    let ascii = true;
    for (let i = 0; i < last; i++) {
      const b = body[i];
      if (b === 0) new BufferReader(body, 'Query').fail('query string contains a NUL byte');
      if (b >= 0x80) ascii = false;
    }
    if (ascii) return { type: 'Query', sql: latin1(body, 0, last) };
  } else if (body.indexOf(0) !== last) new BufferReader(body, 'Query').fail('query string contains a NUL byte');
  return { type: 'Query', sql: new BufferReader(body, 'Query').text(body.subarray(0, last), 'query string') };
}

function Parse(body: Buffer): Msg<'Parse'> {
  const r = new BufferReader(body, 'Parse');
  const name = r.cstring('statement name');
  const sql = r.cstring('query string');
  const count = r.remaining >= 2 ? body.readUInt16BE(r.pos) : -1;
  if (r.remaining !== 2 + 4 * count) {
    r.fail('parameter type list does not match the message length (a NUL byte inside the query string?)');
  }
  r.pos += 2;
  const paramTypes = new Array<number>(count);
  for (let i = 0; i < count; i++) paramTypes[i] = r.uint32('parameter type');
  return { type: 'Parse', name, sql, paramTypes };
}

/** The format lists nearly every Bind carries, shared rather than built per message. */
const NO_CODES: readonly FormatCode[] = Object.freeze([]);
const ALL_TEXT: readonly FormatCode[] = Object.freeze([0]);
const ALL_BINARY: readonly FormatCode[] = Object.freeze([1]);

function formatCodes(r: BufferReader, what: string): readonly FormatCode[] {
  const n = r.uint16(`${what} count`);
  if (n === 0) return NO_CODES;
  if (n === 1) return r.format(what) === 0 ? ALL_TEXT : ALL_BINARY;
  const codes = new Array<FormatCode>(n);
  for (let i = 0; i < n; i++) codes[i] = r.format(what);
  return codes;
}

/** int16 count, then per value int32 length (-1 = NULL) and the bytes. */
function values(r: BufferReader, what: string): (Buffer | null)[] {
  const n = r.uint16(`${what} count`);
  const out = new Array<Buffer | null>(n);
  for (let i = 0; i < n; i++) {
    const len = r.int32(`${what} length`);
    if (len < -1) r.fail(`${what} ${i + 1} has invalid length ${len}`);
    if (len > r.remaining) r.fail(`${what} ${i + 1} length ${len} exceeds the message`);
    out[i] = len === -1 ? null : r.bytes(len);
  }
  return out;
}

function checkFormatCount(r: BufferReader, formats: number, valueCount: number, what: string): void {
  if (formats > 1 && formats !== valueCount) {
    r.fail(`${formats} ${what} format codes for ${valueCount} ${what}s (must be 0, 1 or ${valueCount})`);
  }
}

function Bind(body: Buffer): Msg<'Bind'> {
  const r = new BufferReader(body, 'Bind');
  const portal = r.cstring('portal name');
  const statement = r.cstring('statement name');
  const paramFormats = formatCodes(r, 'parameter format code');
  const params = values(r, 'parameter');
  checkFormatCount(r, paramFormats.length, params.length, 'parameter');
  const resultFormats = formatCodes(r, 'result format code');
  r.end();
  return { type: 'Bind', portal, statement, paramFormats, params, resultFormats };
}

function kind(r: BufferReader): 'S' | 'P' {
  const k = r.int8('kind');
  if (k === 0x53) return 'S';
  if (k === 0x50) return 'P';
  return r.fail(`kind ${describeType(k)} is neither 'S' nor 'P'`);
}

function Describe(body: Buffer): Msg<'Describe'> {
  const r = new BufferReader(body, 'Describe');
  const k = kind(r);
  const name = r.cstring('name');
  r.end();
  return { type: 'Describe', kind: k, name };
}

function Close(body: Buffer): Msg<'Close'> {
  const r = new BufferReader(body, 'Close');
  const k = kind(r);
  const name = r.cstring('name');
  r.end();
  return { type: 'Close', kind: k, name };
}

function Execute(body: Buffer): Msg<'Execute'> {
  const r = new BufferReader(body, 'Execute');
  const portal = r.cstring('portal name');
  const maxRows = r.int32('row limit');
  if (maxRows < 0) r.fail(`negative row limit ${maxRows}`);
  r.end();
  return { type: 'Execute', portal, maxRows };
}

function empty<T extends 'Sync' | 'Flush' | 'Terminate' | 'CopyDone'>(type: T): (body: Buffer) => { type: T } {
  const message = Object.freeze({ type }); // one per kind: these carry nothing, and Sync comes with every extended request
  return (body) => {
    if (body.length !== 0) throw new ProtocolError(`invalid ${type} message: ${body.length} unexpected byte(s)`);
    return message;
  };
}

function CopyData(body: Buffer): Msg<'CopyData'> {
  return { type: 'CopyData', data: body };
}

function CopyFail(body: Buffer): Msg<'CopyFail'> {
  const r = new BufferReader(body, 'CopyFail');
  const message = r.cstring('error message');
  r.end();
  return { type: 'CopyFail', message };
}

function FunctionCall(body: Buffer): Msg<'FunctionCall'> {
  const r = new BufferReader(body, 'FunctionCall');
  const functionOid = r.uint32('function OID');
  const argFormats = formatCodes(r, 'argument format code');
  const args = values(r, 'argument');
  checkFormatCount(r, argFormats.length, args.length, 'argument');
  r.format('result format code');
  r.end();
  return { type: 'FunctionCall', functionOid };
}

function PasswordMessage(body: Buffer): Msg<'PasswordMessage'> {
  return { type: 'PasswordMessage', data: body };
}

const decoders: (Decoder | undefined)[] = new Array(256);
decoders[code('Q')] = Query;
decoders[code('P')] = Parse;
decoders[code('B')] = Bind;
decoders[code('D')] = Describe;
decoders[code('E')] = Execute;
decoders[code('C')] = Close;
decoders[code('S')] = empty('Sync');
decoders[code('H')] = empty('Flush');
decoders[code('X')] = empty('Terminate');
decoders[code('d')] = CopyData;
decoders[code('c')] = empty('CopyDone');
decoders[code('f')] = CopyFail;
decoders[code('F')] = FunctionCall;
decoders[code('p')] = PasswordMessage;

/** Decodes one regular frontend message; anything a client may not send is a ProtocolError. */
export function decodeFrontend(type: number, body: Buffer): FrontendMessage {
  const decode = decoders[type];
  if (decode === undefined) throw new ProtocolError(`unexpected message type ${describeType(type)} from a client`);
  return decode(body);
}

// ------------------------------------------- 'p' bodies by authentication state

/** PasswordMessage holding a cleartext (or md5-hashed) password. */
export function decodePasswordMessage(data: Buffer): string {
  const r = new BufferReader(data, 'PasswordMessage');
  const password = r.cstring('password');
  r.end();
  return password;
}

/** SASLInitialResponse: mechanism name, then int32 length (-1 = no data) and the data. */
export function decodeSASLInitialResponse(data: Buffer): { mechanism: string; data: Buffer | null } {
  const r = new BufferReader(data, 'SASLInitialResponse');
  const mechanism = r.cstring('mechanism');
  const len = r.int32('data length');
  if (len < -1 || len > r.remaining) r.fail(`invalid data length ${len}`);
  const initial = len === -1 ? null : r.bytes(len);
  r.end();
  return { mechanism, data: initial };
}

// ---------------------------------------------------------------- encoding

const w = new BufferWriter(1024);

export const encodeQuery = (sql: string): Buffer => w.reset().cstring(sql).build(code('Q'));

export function encodeParse(name: string, sql: string, paramTypes: readonly number[] = []): Buffer {
  w.reset().cstring(name).cstring(sql).uint16(paramTypes.length);
  for (const oid of paramTypes) w.uint32(oid);
  return w.build(code('P'));
}

export interface BindOptions {
  portal?: string;
  statement?: string;
  paramFormats?: readonly FormatCode[];
  params?: readonly (Buffer | null)[];
  resultFormats?: readonly FormatCode[];
}

export function encodeBind(b: BindOptions): Buffer {
  const { paramFormats = [], params = [], resultFormats = [] } = b;
  w.reset().cstring(b.portal ?? '').cstring(b.statement ?? '').uint16(paramFormats.length);
  for (const f of paramFormats) w.int16(f);
  w.uint16(params.length);
  for (const p of params) {
    if (p === null) w.int32(-1);
    else w.int32(p.length).bytes(p);
  }
  w.uint16(resultFormats.length);
  for (const f of resultFormats) w.int16(f);
  return w.build(code('B'));
}

export const encodeDescribe = (kind: 'S' | 'P', name = ''): Buffer => w.reset().int8(code(kind)).cstring(name).build(code('D'));
export const encodeExecute = (portal = '', maxRows = 0): Buffer => w.reset().cstring(portal).int32(maxRows).build(code('E'));
export const encodeClose = (kind: 'S' | 'P', name = ''): Buffer => w.reset().int8(code(kind)).cstring(name).build(code('C'));
export const encodeSync = (): Buffer => w.reset().build(code('S'));
export const encodeFlush = (): Buffer => w.reset().build(code('H'));
export const encodeTerminate = (): Buffer => w.reset().build(code('X'));
export const encodeCopyDone = (): Buffer => w.reset().build(code('c'));
export const encodeCopyFail = (message: string): Buffer => w.reset().cstring(message).build(code('f'));

/** CopyData is the same in both directions: one allocation, one copy. */
export function encodeCopyData(data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + data.length);
  out[0] = code('d');
  out.writeInt32BE(4 + data.length, 1);
  out.set(data, 5);
  return out;
}

/** FunctionCall with no arguments and a text result (the type carries only the OID). */
export const encodeFunctionCall = (oid: number): Buffer =>
  w.reset().uint32(oid).uint16(0).uint16(0).int16(0).build(code('F'));

export const encodePassword = (password: string): Buffer => w.reset().cstring(password).build(code('p'));

export function encodeSASLInitialResponse(mechanism: string, data: Uint8Array | string | null): Buffer {
  w.reset().cstring(mechanism);
  if (data === null) return w.int32(-1).build(code('p'));
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return w.int32(bytes.length).bytes(bytes).build(code('p'));
}

export function encodeSASLResponse(data: Uint8Array | string): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return w.reset().bytes(bytes).build(code('p'));
}

export function encodeFrontend(m: FrontendMessage): Buffer {
  switch (m.type) {
    case 'Query': return encodeQuery(m.sql);
    case 'Parse': return encodeParse(m.name, m.sql, m.paramTypes);
    case 'Bind': return encodeBind(m);
    case 'Describe': return encodeDescribe(m.kind, m.name);
    case 'Execute': return encodeExecute(m.portal, m.maxRows);
    case 'Close': return encodeClose(m.kind, m.name);
    case 'Sync': return encodeSync();
    case 'Flush': return encodeFlush();
    case 'Terminate': return encodeTerminate();
    case 'CopyData': return encodeCopyData(m.data);
    case 'CopyDone': return encodeCopyDone();
    case 'CopyFail': return encodeCopyFail(m.message);
    case 'FunctionCall': return encodeFunctionCall(m.functionOid);
    case 'PasswordMessage': return w.reset().bytes(m.data).build(code('p'));
  }
}
