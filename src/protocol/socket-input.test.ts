import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { onreadSlots, SocketInput } from './socket-input.ts';

// Bursts of different sizes and contents, each written after the previous was read.
const bursts = [Buffer.alloc(200_000, 1), Buffer.from('small answer'), Buffer.alloc(9_000, 2), Buffer.alloc(70, 3), Buffer.alloc(150_000, 4), Buffer.from('end')];

function sendBursts(s: net.Socket): void {
  let i = 0;
  const next = (): void => {
    if (i === bursts.length) return void s.end();
    s.write(bursts[i++], () => setTimeout(next, 20));
  };
  next();
}

test('a connecting socket: delivered chunks stay intact while later reads arrive, whatever their sizes', async () => {
  const server = net.createServer(sendBursts);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const input = new SocketInput();
  const got: Buffer[] = [];
  input.listen((chunk) => got.push(chunk));
  const socket = net.connect({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port, onread: SocketInput.tap(input) });
  await new Promise<void>((r) => socket.on('end', () => r()));
  socket.destroy();
  server.close();
  assert.deepEqual(Buffer.concat(got), Buffer.concat(bursts));
  assert.ok(got.length >= bursts.length, 'several reads');
});

test('large reads that leave room are handed over back to back in one allocation, and none is overwritten by the next', async () => {
  // 10 KiB pieces, each sent after the previous was read: reads of about 10 KiB into a 64 KiB buffer.
  const pieces = Array.from({ length: 12 }, (_, i) => Buffer.alloc(10 * 1024, i + 1));
  const input = new SocketInput();
  const got: Buffer[] = [];
  let wake: (() => void) | null = null;
  input.listen((chunk) => {
    got.push(chunk);
    wake?.();
  });
  const server = net.createServer(async (s) => {
    for (const p of pieces) {
      const before = Buffer.concat(got).length;
      s.write(p);
      while (Buffer.concat(got).length < before + p.length) await new Promise<void>((r) => (wake = r));
    }
    s.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const socket = net.connect({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port, onread: SocketInput.tap(input) });
  await new Promise<void>((r) => socket.on('end', () => r()));
  socket.destroy();
  server.close();
  assert.deepEqual(Buffer.concat(got), Buffer.concat(pieces), 'every chunk still holds what was read into it');
  const adjacent = got.slice(1).filter((c, i) => c.buffer === got[i].buffer && c.byteOffset === got[i].byteOffset + got[i].length);
  assert.ok(adjacent.length >= 4, `reads share allocations (${adjacent.length} of ${got.length - 1} follow the previous one)`);
});

test('this Node keeps onread where adopt() looks for it', () => {
  assert.notEqual(onreadSlots(), null);
});

test('an accepted socket is read through onread, with chunks intact whatever their sizes', async () => {
  let input: SocketInput | undefined;
  const got: Buffer[] = [];
  const ended = new Promise<void>((resolve) => {
    const server = net.createServer({ pauseOnConnect: true }, (s) => {
      input = SocketInput.adopt(s);
      input.listen((chunk) => got.push(chunk));
      s.on('end', () => {
        server.close();
        resolve();
      });
      s.resume();
    });
    server.listen(0, '127.0.0.1', () => {
      const c = net.connect({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port }, () => sendBursts(c));
    });
  });
  await ended;
  assert.equal(input?.viaOnread, true);
  assert.deepEqual(Buffer.concat(got), Buffer.concat(bursts));
  assert.ok(got.length >= bursts.length, 'several reads');
});

test('an adopted socket still stops reading while paused and delivers what waited once resumed', async () => {
  const got: Buffer[] = [];
  let accepted!: net.Socket;
  const server = net.createServer({ pauseOnConnect: true }, (s) => {
    accepted = s;
    SocketInput.adopt(s).listen((chunk) => got.push(chunk));
    s.resume();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const c = net.connect({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port });
  await new Promise<void>((r) => c.on('connect', r));
  c.write('first');
  while (got.length === 0) await new Promise((r) => setTimeout(r, 5));
  accepted.pause();
  c.write('second');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(Buffer.concat(got).toString(), 'first', 'nothing delivered while paused');
  accepted.resume();
  while (Buffer.concat(got).length < 'firstsecond'.length) await new Promise((r) => setTimeout(r, 5));
  assert.equal(Buffer.concat(got).toString(), 'firstsecond');
  c.destroy();
  accepted.destroy();
  server.close();
});

test('a TLS socket keeps data events', () => {
  const socket = new tls.TLSSocket(new net.Socket());
  const input = SocketInput.adopt(socket);
  assert.equal(input.viaOnread, false);
  assert.equal(socket.listenerCount('data'), 1);
  socket.destroy();
});

test('bytes a paused socket read into its stream buffer before adopt() come first, then what follows', async () => {
  const got: Buffer[] = [];
  let input: SocketInput | undefined;
  let accepted: net.Socket | undefined;
  const server = net.createServer((s) => {
    accepted = s;
    // As the handshake does: read the first packet with 'data', then pause and stop listening.
    s.once('data', (first) => {
      got.push(first);
      s.pause();
      // The client keeps sending while the gateway authenticates; Node keeps reading into the stream buffer.
      setTimeout(() => {
        assert.ok(s.readableLength > 0, 'bytes wait in the stream buffer');
        input = SocketInput.adopt(s);
        input.listen((chunk) => got.push(chunk));
        s.resume();
      }, 100);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const c = net.connect({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port });
  await new Promise<void>((r) => c.on('connect', r));
  c.write('startup|');
  await new Promise((r) => setTimeout(r, 30));
  c.write('pipelined query|');
  await new Promise((r) => setTimeout(r, 150));
  c.write('after');
  const want = 'startup|pipelined query|after';
  try {
    for (let i = 0; i < 200 && Buffer.concat(got).length < want.length; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(input?.viaOnread, true);
    assert.equal(Buffer.concat(got).toString(), want);
  } finally {
    c.destroy();
    accepted?.destroy();
    server.close();
  }
});
