import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageFramer, defaultFrameLimits, frontendLimit, backendLimit, type FrameLimits, type RawMessage } from './framer.ts';
import { ProtocolError } from './types.ts';
import { seededRandom } from '../testing/seeded-random.ts';

const limits: FrameLimits = { maxStartup: 10_000, maxMessage: 1000, maxSmall: 100 };

function header(type: string, bodyLength: number): Buffer {
  const h = Buffer.alloc(5);
  h[0] = type.charCodeAt(0);
  h.writeInt32BE(bodyLength + 4, 1);
  return h;
}
const msg = (type: string, body: string): Buffer => Buffer.concat([header(type, Buffer.byteLength(body)), Buffer.from(body)]);
const startup = Buffer.from('00000008' + '04d2162f', 'hex'); // SSLRequest
const query = Buffer.from('510000000d' + Buffer.from('SELECT 1\0').toString('hex'), 'hex');

function drain(f: MessageFramer): RawMessage[] {
  const out: RawMessage[] = [];
  for (let m = f.next(); m !== null; m = f.next()) out.push(m);
  return out;
}

test('a Query from the spec is framed: type, body after the length, raw = whole message', () => {
  const f = new MessageFramer(limits, 'backend');
  f.push(query);
  const m = f.next();
  assert.ok(m);
  assert.equal(m.type, 0x51);
  assert.equal(m.body.toString(), 'SELECT 1\0');
  assert.deepEqual(m.raw, query);
  assert.equal(f.next(), null);
  assert.equal(f.buffered, 0);
});

test('a message inside one chunk is a zero-copy subarray, even for a chunk with a byteOffset', () => {
  const backing = Buffer.alloc(100);
  query.copy(backing, 37);
  const chunk = backing.subarray(37, 37 + query.length);
  const f = new MessageFramer(limits, 'backend');
  f.push(chunk);
  const m = f.next()!;
  assert.equal(m.raw.buffer, backing.buffer);
  assert.equal(m.raw.byteOffset, chunk.byteOffset);
  assert.equal(m.body.byteOffset, chunk.byteOffset + 5);
});

test('many messages coalesced in one chunk come out one by one', () => {
  const f = new MessageFramer(limits, 'frontend');
  f.push(Buffer.concat([startup, query, msg('S', ''), msg('X', '')]));
  const got = drain(f);
  assert.deepEqual(got.map((m) => m.type), [0, 0x51, 0x53, 0x58]);
  assert.deepEqual(got[0].body, Buffer.from('04d2162f', 'hex'));
});

test('a stream split at every byte boundary (one and two splits) frames identically', () => {
  const stream = Buffer.concat([startup, query, msg('P', 'x\0SELECT $1\0\0\0'), msg('S', ''), msg('d', 'a'.repeat(300))]);
  const expected = drain(withChunks([stream]));
  assert.equal(expected.length, 5);
  for (let i = 0; i <= stream.length; i++) {
    assert.deepEqual(framed(drain(withChunks([stream.subarray(0, i), stream.subarray(i)]))), framed(expected), `split at ${i}`);
    for (let j = i; j <= stream.length; j += 7) {
      const parts = [stream.subarray(0, i), stream.subarray(i, j), stream.subarray(j)];
      assert.deepEqual(framed(drain(withChunks(parts))), framed(expected), `split at ${i},${j}`);
    }
  }
});

/** What a message is, whatever chunk it was read from. */
function framed(ms: RawMessage[]): Array<{ type: number; raw: Buffer; body: Buffer }> {
  return ms.map((m) => {
    assert.deepEqual(m.source.subarray(m.start, m.end), m.raw);
    return { type: m.type, raw: m.raw, body: m.body };
  });
}

function withChunks(chunks: Buffer[]): MessageFramer {
  const f = new MessageFramer(limits, 'frontend');
  for (const c of chunks) f.push(c);
  return f;
}

test('byte-at-a-time delivery with next() after each byte', () => {
  const stream = Buffer.concat([startup, query, msg('S', '')]);
  const f = new MessageFramer(limits, 'frontend');
  const got: RawMessage[] = [];
  for (let i = 0; i < stream.length; i++) {
    f.push(stream.subarray(i, i + 1));
    got.push(...drain(f));
  }
  assert.deepEqual(got.map((m) => m.raw), [startup, query, msg('S', '')]);
});

test('an oversize length is refused as soon as the header arrives, before the body', () => {
  const f = new MessageFramer(limits, 'backend');
  f.push(header('Q', 1000));
  assert.equal(f.next(), null, 'exactly the limit is fine');
  const g = new MessageFramer(limits, 'backend');
  g.push(Buffer.from([0x51, 0, 0]));
  assert.throws(() => g.push(Buffer.from([0x03, 0xf0])), /exceeds the limit of 1000/);
});

test('frontend: small message types use maxSmall, Query/Parse/Bind/CopyData/FunctionCall use maxMessage', () => {
  const cases: [string[], number][] = [
    [['Q', 'P', 'B', 'd', 'F'], limits.maxMessage],
    [['S', 'H', 'X', 'D', 'E', 'C', 'c', 'f', 'p', 'Z'], limits.maxSmall],
  ];
  for (const [types, limit] of cases) {
    for (const t of types) {
      const f = regular();
      f.push(header(t, limit));
      assert.equal(f.next(), null, `type ${t} at its limit`);
      assert.throws(() => regular().push(header(t, limit + 1)), ProtocolError, `type ${t} over its limit`);
    }
  }
});

function regular(): MessageFramer {
  const f = new MessageFramer(limits, 'frontend');
  f.startupMode = false;
  return f;
}

test('the type → limit mapping is explicit per direction', () => {
  const l = defaultFrameLimits;
  assert.equal(l.maxMessage, 64 * 1024 * 1024);
  assert.equal(l.maxSmall, 10_000);
  assert.equal(l.maxStartup, 10_000);
  assert.equal(frontendLimit(0x51, l), l.maxMessage);
  assert.equal(frontendLimit(0x53, l), l.maxSmall);
  for (const t of 'DTZRKECNASdvt') assert.equal(backendLimit(t.charCodeAt(0), l), l.maxMessage);
});

test('backend: DataRow, ErrorResponse, ParameterStatus may be larger than maxSmall', () => {
  const f = new MessageFramer(limits, 'backend');
  const big = Buffer.concat([msg('D', 'x'.repeat(900)), msg('E', 'y'.repeat(900)), msg('S', 'z'.repeat(900))]);
  f.push(big);
  assert.equal(drain(f).length, 3);
  assert.throws(() => new MessageFramer(limits, 'backend').push(header('D', 1001)), ProtocolError);
});

test('a length below 4 is a ProtocolError', () => {
  const f = new MessageFramer(limits, 'backend');
  assert.throws(() => f.push(Buffer.from('5a00000003', 'hex')), /invalid length 3/);
  const g = new MessageFramer(limits, 'backend');
  assert.throws(() => g.push(Buffer.from('5a80000000', 'hex')), ProtocolError, 'negative length');
});

test('length exactly 4 is an empty body', () => {
  const f = new MessageFramer(limits, 'backend');
  f.push(Buffer.from('530000000453', 'hex'));
  const m = f.next()!;
  assert.equal(m.body.length, 0);
  assert.equal(f.buffered, 1);
});

test('startup packets: length below 8 or above maxStartup is refused', () => {
  assert.throws(() => new MessageFramer(limits).push(Buffer.from('00000007', 'hex')), /startup packet length 7/);
  assert.throws(() => new MessageFramer(limits).push(Buffer.from('00002711', 'hex')), /startup packet length 10001/);
  const ok = new MessageFramer(limits);
  ok.push(Buffer.from('00002710', 'hex'));
  assert.equal(ok.next(), null);
  assert.equal(ok.buffered, 4);
});

test('startupMode turns off after a startup packet and can be turned back on after answering N', () => {
  const f = new MessageFramer(defaultFrameLimits, 'frontend');
  assert.equal(f.startupMode, true);
  f.push(startup);
  assert.equal(f.next()!.type, 0);
  assert.equal(f.startupMode, false);
  f.startupMode = true;
  f.push(startup);
  assert.equal(f.next()!.type, 0);
  assert.equal(new MessageFramer(defaultFrameLimits, 'backend').startupMode, false);
});

test('after a framing error the framer stays failed', () => {
  const f = new MessageFramer(limits, 'backend');
  assert.throws(() => f.push(header('D', 5000)), ProtocolError);
  assert.throws(() => f.next(), ProtocolError);
  assert.throws(() => f.push(query), ProtocolError);
  assert.equal(f.buffered, 0);
});

test('unknown type bytes are framed; judging them is the decoder’s job', () => {
  const f = new MessageFramer(limits, 'backend');
  f.push(Buffer.from('0000000004' + 'ff00000004', 'hex'));
  assert.deepEqual(drain(f).map((m) => m.type), [0, 0xff]);
});

test('a message spanning chunks is copied once into an exact-size buffer', () => {
  const f = new MessageFramer(limits, 'backend');
  f.push(query.subarray(0, 3));
  f.push(query.subarray(3, 9));
  assert.equal(f.next(), null);
  assert.equal(f.buffered, 9);
  f.push(Buffer.concat([query.subarray(9), query.subarray(0, 2)]));
  const m = f.next()!;
  assert.deepEqual(m.raw, query);
  assert.equal(m.raw.buffer.byteLength >= query.length, true);
  assert.equal(f.buffered, 2);
});

const D = 'D'.charCodeAt(0);

test('takeRun hands over back-to-back DataRows of one chunk as one slice and leaves the rest to next()', () => {
  const rows = [msg('D', 'r1'), msg('D', 'row-2'), msg('D', '')];
  const stream = Buffer.concat([msg('T', 'desc'), ...rows, msg('C', 'SELECT 3\0'), msg('Z', 'I')]);
  const f = new MessageFramer(limits, 'backend');
  f.push(stream);
  assert.equal(f.takeRun(D), null, 'a RowDescription is first');
  assert.equal(f.next()?.type, 'T'.charCodeAt(0));
  const run = f.takeRun(D);
  assert.ok(run);
  assert.equal(run.count, 3);
  assert.deepEqual(run.source.subarray(run.start, run.end), Buffer.concat(rows));
  assert.equal(f.takeRun(D), null);
  assert.deepEqual(drain(f).map((m) => String.fromCharCode(m.type)), ['C', 'Z']);
  assert.equal(f.buffered, 0);
});

test('takeRun checks every header it passes: an oversized message after a run is still refused by next()', () => {
  const f = new MessageFramer(limits, 'backend');
  const oversized = header('D', limits.maxMessage + 1);
  f.push(Buffer.concat([msg('D', 'ok'), oversized]));
  const run = f.takeRun(D);
  assert.equal(run?.count, 1);
  assert.throws(() => f.next(), ProtocolError);
});

test('takeRun and next() interleaved give exactly the bytes next() alone gives, however the stream is cut', () => {
  const rand = seededRandom(5);
  for (let trial = 0; trial < 300; trial++) {
    const parts: Buffer[] = [];
    for (let i = rand(30); i >= 0; i--) parts.push(msg(rand(4) === 0 ? 'N' : 'D', 'x'.repeat(rand(40))));
    const stream = Buffer.concat(parts);
    const a = new MessageFramer(limits, 'backend');
    const b = new MessageFramer(limits, 'backend');
    const viaNext: Buffer[] = [];
    const viaRuns: Buffer[] = [];
    let rowsSeen = 0;
    for (let pos = 0; pos < stream.length; ) {
      const cut = Math.min(stream.length, pos + 1 + rand(60));
      const chunk = stream.subarray(pos, cut);
      pos = cut;
      a.push(chunk);
      b.push(chunk);
      for (let m = a.next(); m; m = a.next()) viaNext.push(Buffer.from(m.raw));
      for (;;) {
        const run = b.takeRun(D);
        if (run) {
          viaRuns.push(Buffer.from(run.source.subarray(run.start, run.end)));
          rowsSeen += run.count;
          continue;
        }
        const m = b.next();
        if (!m) break;
        if (m.type === D) rowsSeen++;
        viaRuns.push(Buffer.from(m.raw));
      }
    }
    assert.deepEqual(Buffer.concat(viaRuns), Buffer.concat(viaNext));
    assert.equal(rowsSeen, parts.filter((p) => p[0] === D).length);
    assert.equal(b.buffered, 0);
  }
});
