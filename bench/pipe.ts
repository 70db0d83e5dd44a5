// A bare Node TCP pipe: accepts a connection, opens one to the target and copies
// bytes both ways with stream.pipe (backpressure included), TCP_NODELAY on both
// sockets, no parsing at all. It is the throughput ceiling for any Node proxy.
//
// usage: tsx bench/pipe.ts LISTEN_PORT TARGET_HOST TARGET_PORT
// Prints "listening <port>" on stdout once it accepts connections (port 0 = any free port).
import net from 'node:net';

function link(client: net.Socket, targetHost: string, targetPort: number): void {
  const upstream = net.connect({ host: targetHost, port: targetPort, noDelay: true });
  client.setNoDelay(true);
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    client.destroy();
    upstream.destroy();
  };
  for (const s of [client, upstream]) {
    s.on('error', close);
    s.on('close', close);
  }
  client.pipe(upstream);
  upstream.pipe(client);
}

function main(argv: string[]): void {
  const [listenPort, targetHost, targetPort] = argv;
  if (!targetHost || !targetPort) {
    console.error('usage: tsx bench/pipe.ts LISTEN_PORT TARGET_HOST TARGET_PORT');
    process.exit(64);
  }
  const server = net.createServer((client) => link(client, targetHost, Number(targetPort)));
  server.maxConnections = 100_000;
  server.listen(Number(listenPort ?? 0), '127.0.0.1', () => {
    const addr = server.address();
    console.log(`listening ${typeof addr === 'object' && addr ? addr.port : listenPort}`);
  });
  const stop = (): void => {
    server.close();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main(process.argv.slice(2));
