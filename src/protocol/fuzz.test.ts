// Random, malformed and truncated input through MessageFramer + the decoders:
// the only acceptable failure is a ProtocolError, and every run terminates.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBackend, encodeBackend } from './backend.ts';
import { MessageFramer, type Direction, type FrameLimits } from './framer.ts';
import { decodeFrontend, decodeStartup, encodeFrontend, encodeStartupMessage, encodeCancelRequest, encodeSSLRequest } from './frontend.ts';
import { ProtocolError, type BackendMessage, type FrontendMessage } from './types.ts';

/** mulberry32: a tiny seeded PRNG so failures are reproducible. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const limits: FrameLimits = { maxStartup: 10_000, maxMessage: 100_000, maxSmall: 10_000 };

function generator(rand: () => number) {
  const int = (n: number): number => Math.floor(rand() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => int(256)));
  const str = (): string => pick(['', 'x', 'SELECT 1', 'héllo', 'a'.repeat(int(50)), '✓✓']);

  const frontend = (): FrontendMessage =>
    pick<() => FrontendMessage>([
      () => ({ type: 'Query', sql: str() }),
      () => ({ type: 'Parse', name: str(), sql: str(), paramTypes: [int(100), 23] }),
      () => ({ type: 'Bind', portal: str(), statement: str(), paramFormats: [1], params: [bytes(int(8)), null], resultFormats: [0, 1] }),
      () => ({ type: 'Describe', kind: pick(['S', 'P'] as const), name: str() }),
      () => ({ type: 'Execute', portal: str(), maxRows: int(10) }),
      () => ({ type: 'Close', kind: 'S', name: str() }),
      () => ({ type: pick(['Sync', 'Flush', 'Terminate', 'CopyDone'] as const) }),
      () => ({ type: 'CopyData', data: bytes(int(20)) }),
      () => ({ type: 'CopyFail', message: str() }),
      () => ({ type: 'FunctionCall', functionOid: int(5000) }),
      () => ({ type: 'PasswordMessage', data: bytes(int(20)) }),
    ])();

  const backend = (): BackendMessage =>
    pick<() => BackendMessage>([
      () => ({ type: 'DataRow', values: [bytes(int(6)), null, bytes(int(3))] }),
      () => ({ type: 'RowDescription', fields: [{ name: str(), tableOid: int(99999), columnAttnum: 1, typeOid: 25, typeSize: -1, typeModifier: -1, format: 0 }] }),
      () => ({ type: 'ErrorResponse', fields: { S: 'ERROR', C: '42501', M: str() } }),
      () => ({ type: 'ReadyForQuery', status: 'I' }),
      () => ({ type: 'AuthenticationSASL', mechanisms: ['SCRAM-SHA-256'] }),
      () => ({ type: 'ParameterDescription', typeOids: [23, 25] }),
      () => ({ type: 'CopyOutResponse', format: 0, columnFormats: [0, 0] }),
      () => ({ type: 'NegotiateProtocolVersion', minorVersion: 0, unrecognized: [str()] }),
    ])();

  /** Damages a valid message: flip bytes, rewrite the length or type, truncate, or append junk. */
  function mutate(msg: Buffer, headerSize: number): Buffer {
    const out = Buffer.from(msg);
    switch (int(6)) {
      case 0: for (let i = 0, n = 1 + int(3); i < n; i++) out[int(out.length)] = int(256); return out;
      case 1: out.writeInt32BE(int(2) ? int(out.length + 10) - 5 : (int(0x7fffffff) | 0) - int(2) * 0x7fffffff, headerSize - 4); return out;
      case 2: return out.subarray(0, int(out.length));
      case 3: return Buffer.concat([out, bytes(1 + int(10))]);
      case 4: if (headerSize === 5) out[0] = int(256); return out;
      default: {
        // Keep the frame valid but randomise the body: this is what exercises the decoders.
        const body = bytes(int(40));
        const h = Buffer.alloc(headerSize);
        if (headerSize === 5) h[0] = out[0];
        h.writeInt32BE(body.length + 4, headerSize - 4);
        return Buffer.concat([h, body]);
      }
    }
  }

  return { int, pick, bytes, frontend, backend, mutate };
}

/** Feeds `stream` in random chunks and decodes everything; returns 'ok', 'error' (ProtocolError) or throws. */
function run(direction: Direction, stream: Buffer, startup: boolean, rand: () => number): { decoded: number; error: boolean } {
  const framer = new MessageFramer(limits, direction);
  framer.startupMode = startup;
  let decoded = 0;
  try {
    for (let pos = 0; pos < stream.length; ) {
      const end = Math.min(stream.length, pos + 1 + Math.floor(rand() * 16));
      framer.push(stream.subarray(pos, end));
      pos = end;
      for (let m = framer.next(); m !== null; m = framer.next(), decoded++) {
        if (m.type === 0 && direction === 'frontend') decodeStartup(m.body);
        else if (direction === 'frontend') decodeFrontend(m.type, m.body);
        else decodeBackend(m.type, m.body);
      }
    }
    return { decoded, error: false };
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw new Error(`non-ProtocolError on ${stream.toString('hex')}: ${String(e)}`, { cause: e });
    assert.match(e.code, /^(08P01|22021)$/);
    return { decoded, error: true };
  }
}

test('2,000 random, malformed and truncated frontend frames yield only ProtocolErrors', { timeout: 30_000 }, () => {
  const rand = prng(0x5c09e);
  const g = generator(rand);
  let errors = 0;
  let decoded = 0;
  for (let i = 0; i < 2000; i++) {
    let stream: Buffer;
    let startup = false;
    switch (g.int(5)) {
      case 0: // a startup packet, maybe damaged, followed by a message
        startup = true;
        stream = g.mutate(g.pick([encodeStartupMessage({ user: 'u', database: 'd' }), encodeSSLRequest(), encodeCancelRequest(1, 2)]), 4);
        stream = Buffer.concat([stream, encodeFrontend(g.frontend())]);
        break;
      case 1: // pure noise
        stream = g.bytes(g.int(64));
        break;
      case 2: // several valid messages with one damaged among them
        stream = Buffer.concat([encodeFrontend(g.frontend()), g.mutate(encodeFrontend(g.frontend()), 5), encodeFrontend(g.frontend())]);
        break;
      default: // one damaged message
        stream = g.mutate(encodeFrontend(g.frontend()), 5);
    }
    const r = run('frontend', stream, startup, rand);
    decoded += r.decoded;
    if (r.error) errors++;
  }
  assert.ok(errors > 500, `expected many rejections, got ${errors}`);
  assert.ok(decoded > 500, `expected many decoded messages, got ${decoded}`);
});

test('1,000 damaged backend frames yield only ProtocolErrors', { timeout: 30_000 }, () => {
  const rand = prng(0xbac0);
  const g = generator(rand);
  let errors = 0;
  for (let i = 0; i < 1000; i++) {
    const stream = Buffer.concat([encodeBackend(g.backend()), g.mutate(encodeBackend(g.backend()), 5)]);
    if (run('backend', stream, false, rand).error) errors++;
  }
  assert.ok(errors > 200, `expected many rejections, got ${errors}`);
});

test('a valid stream parses in full whatever the chunking', () => {
  const rand = prng(7);
  const g = generator(rand);
  const messages = Array.from({ length: 200 }, () => g.frontend());
  const stream = Buffer.concat(messages.map(encodeFrontend));
  for (let round = 0; round < 20; round++) {
    assert.deepEqual(run('frontend', stream, false, rand), { decoded: 200, error: false });
  }
});
