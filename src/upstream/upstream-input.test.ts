import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { UpstreamInput } from './connect.ts';

test('delivered chunks stay intact while later reads arrive, whatever their sizes', async () => {
  // Bursts of different sizes and contents, each written after the previous was read.
  const bursts = [Buffer.alloc(200_000, 1), Buffer.from('small answer'), Buffer.alloc(9_000, 2), Buffer.alloc(70, 3), Buffer.alloc(150_000, 4), Buffer.from('end')];
  const server = net.createServer((s) => {
    let i = 0;
    const next = (): void => {
      if (i === bursts.length) return void s.end();
      s.write(bursts[i++], () => setTimeout(next, 20));
    };
    next();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const input = new UpstreamInput();
  const got: Buffer[] = [];
  input.listen((chunk) => got.push(chunk));
  const socket = net.connect({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port, onread: UpstreamInput.tap(input) });
  await new Promise<void>((r) => socket.on('end', () => r()));
  socket.destroy();
  server.close();
  assert.deepEqual(Buffer.concat(got), Buffer.concat(bursts));
  assert.ok(got.length >= bursts.length, 'several reads');
});
