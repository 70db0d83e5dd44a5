// Startup packets: the untyped first packet(s) of a connection.
//   int32 length (including itself), int32 code, payload
// The code is a protocol version (3.0 = 196608) or one of the special request
// codes 1234.5678 (CancelRequest), 1234.5679 (SSLRequest), 1234.5680 (GSSENCRequest).

import { BufferReader } from './reader.ts';
import { ProtocolError, type StartupPacket } from './types.ts';
import { BufferWriter } from './writer.ts';

export const PROTOCOL_3_0 = 196608;
export const CANCEL_REQUEST_CODE = 80877102;
export const SSL_REQUEST_CODE = 80877103;
export const GSSENC_REQUEST_CODE = 80877104;

/** Decodes a startup packet body (everything after the length word). */
export function decodeStartup(body: Buffer): StartupPacket {
  if (body.length < 4) throw new ProtocolError('invalid startup packet: shorter than 8 bytes');
  const code = body.readInt32BE(0);
  switch (code) {
    case SSL_REQUEST_CODE:
      expectSize(body, 8, 'SSLRequest');
      return { type: 'SSLRequest' };
    case GSSENC_REQUEST_CODE:
      expectSize(body, 8, 'GSSENCRequest');
      return { type: 'GSSENCRequest' };
    case CANCEL_REQUEST_CODE:
      expectSize(body, 16, 'CancelRequest');
      return { type: 'CancelRequest', processId: body.readInt32BE(4), secretKey: body.readInt32BE(8) };
    default:
      return decodeStartupMessage(code, body);
  }
}

function expectSize(body: Buffer, total: number, what: string): void {
  if (body.length + 4 !== total) {
    throw new ProtocolError(`invalid ${what}: length ${body.length + 4}, expected ${total}`);
  }
}

/**
 * Protocol 3.x: key/value cstring pairs ending in an extra NUL. Other major
 * versions are returned with no parameters for the caller to refuse.
 */
function decodeStartupMessage(protocolVersion: number, body: Buffer): StartupPacket {
  const parameters: Record<string, string> = {};
  const duplicateKeys: string[] = [];
  const message = { type: 'StartupMessage' as const, protocolVersion, parameters, duplicateKeys };
  if (protocolVersion >>> 16 !== 3) return message;

  const r = new BufferReader(body, 'StartupMessage');
  r.pos = 4;
  for (;;) {
    if (r.remaining === 0) r.fail('missing the final NUL terminator');
    if (body[r.pos] === 0) {
      r.pos++;
      if (r.remaining !== 0) r.fail('empty parameter name or bytes after the final terminator');
      return message;
    }
    const key = r.cstring('parameter name');
    if (r.remaining === 0) r.fail(`parameter "${key}" has no value (odd number of strings)`);
    const value = r.cstring(`value of parameter "${key}"`);
    if (Object.hasOwn(parameters, key)) {
      if (!duplicateKeys.includes(key)) duplicateKeys.push(key);
    } else {
      // defineProperty: a key such as "__proto__" must stay plain data.
      Object.defineProperty(parameters, key, { value, enumerable: true, writable: true, configurable: true });
    }
  }
}

const w = new BufferWriter(256);

export function encodeStartupMessage(params: Record<string, string>, protocolVersion = PROTOCOL_3_0): Buffer {
  w.reset().int32(protocolVersion);
  for (const key of Object.keys(params)) w.cstring(key).cstring(params[key]);
  return w.int8(0).build();
}

export function encodeSSLRequest(): Buffer {
  return w.reset().int32(SSL_REQUEST_CODE).build();
}

export function encodeGSSENCRequest(): Buffer {
  return w.reset().int32(GSSENC_REQUEST_CODE).build();
}

export function encodeCancelRequest(processId: number, secretKey: number): Buffer {
  return w.reset().int32(CANCEL_REQUEST_CODE).int32(processId).int32(secretKey).build();
}

/** Encodes any startup packet (duplicate keys cannot be represented and are ignored). */
export function encodeStartup(p: StartupPacket): Buffer {
  switch (p.type) {
    case 'StartupMessage':
      return encodeStartupMessage(p.parameters, p.protocolVersion);
    case 'SSLRequest':
      return encodeSSLRequest();
    case 'GSSENCRequest':
      return encodeGSSENCRequest();
    case 'CancelRequest':
      return encodeCancelRequest(p.processId, p.secretKey);
  }
}
