// A loopback TCP relay (client ⇄ relay ⇄ server) that records every byte the
// server sends to clients, so a test can scan "any byte the gateway sends"
// whatever client library it drives.
import net from 'node:net';

export interface RecordedConnection {
  /** Bytes the server sent towards the client, in order. */
  fromServer: Buffer[];
  /** Bytes the client sent towards the server, in order. */
  fromClient: Buffer[];
}

export interface Recorder {
  host: string;
  port: number;
  /** Every connection relayed since the last take(), oldest first. */
  connections(): RecordedConnection[];
  /** All server→client bytes since the last take(), then forgets them. */
  take(): Buffer;
  /** Destroys every relayed connection (both sides), e.g. to abandon a hung client. */
  dropAll(): void;
  close(): Promise<void>;
}

export async function startRecorder(target: { host: string; port: number }): Promise<Recorder> {
  let recorded: RecordedConnection[] = [];
  const sockets = new Set<net.Socket>();

  const server = net.createServer((client) => {
    const rec: RecordedConnection = { fromServer: [], fromClient: [] };
    recorded.push(rec);
    const upstream = net.connect(target);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.setNoDelay(true);
      s.on('close', () => sockets.delete(s));
    }
    client.on('data', (c: Buffer) => {
      rec.fromClient.push(c);
      upstream.write(c);
    });
    upstream.on('data', (c: Buffer) => {
      rec.fromServer.push(c);
      client.write(c);
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address() as net.AddressInfo;

  return {
    host: '127.0.0.1',
    port: addr.port,
    connections: () => recorded,
    take() {
      const bytes = Buffer.concat(recorded.flatMap((r) => r.fromServer));
      recorded = [];
      return bytes;
    },
    dropAll() {
      for (const s of sockets) s.destroy();
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
