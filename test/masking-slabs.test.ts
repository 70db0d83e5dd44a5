// Masked rows leave the gateway in views of reused 64 KiB slabs
// (src/masking/slab-pool.ts). A slab handed to another session while its bytes
// still wait to be sent would deliver that session's rows to this client. The
// client here stops reading in the middle of a large masked result, so its
// rows wait in the gateway's socket queue, while another session streams
// masked rows of its own through the same process; every row must then arrive
// as it should, in plaintext and through TLS.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startCluster, type Cluster } from './harness/cluster.ts';
import { makeToken, startGateway, type Gateway, type Token } from './harness/gateway.ts';
import { encodePassword, encodeQuery, encodeSSLRequest, encodeStartupMessage } from '../src/protocol/frontend.ts';
import { readDataRowFields } from '../src/protocol/datarow.ts';
import { MessageFramer } from '../src/protocol/framer.ts';

/** Rows of ~30 KB, two to a 64 KiB slab: a queued write usually spans a slab the masker has moved past. */
const ROWS = 4_000;
const PAD = 15_000;
const DATA_ROW = 0x44;
const COPY_DATA = 0x64;
let cluster: Cluster;
let gw: Gateway;
let token: Token;
const password = 'slab-owner-' + Math.random().toString(36).slice(2);

before(async () => {
  token = makeToken('reader');
  cluster = await startCluster();
  await cluster.query(`CREATE ROLE slab_owner LOGIN PASSWORD '${password}'`);
  await cluster.query('CREATE DATABASE app OWNER slab_owner');
  await cluster.query(
    `SET ROLE slab_owner;
     CREATE TABLE docs (id int PRIMARY KEY, body text NOT NULL);
     INSERT INTO docs SELECT g, repeat('ab', ${PAD}) || lpad(g::text, 4, '0') FROM generate_series(1, ${ROWS}) g;`,
    'app',
  );
  const certDir = mkdtempSync(join(tmpdir(), 'sg-slab-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem')], { stdio: 'ignore' });
  gw = await startGateway({
    configYaml: `
listen: 127.0.0.1:{{PORT}}
tls: { cert: ${join(certDir, 'cert.pem')}, key: ${join(certDir, 'key.pem')} }
upstreams:
  app:
    url: postgres://slab_owner@127.0.0.1:${cluster.port}/app
    password_env: APP_DB_PASSWORD
    tls: disable
identities:
  tokens:
    - { name: reader, sha256: ${token.sha256}, groups: [readers] }
policies:
  - name: readers
    for: { groups: [readers] }
    allow:
      - read: [public.docs]
    mask:
      public.docs.body: last4
`,
    env: { APP_DB_PASSWORD: password },
  });
});

after(async () => {
  await gw?.stop();
  await cluster?.stop();
});

function client(): pg.Client {
  return new pg.Client({ host: '127.0.0.1', port: gw.port, user: 'reader', password: token.token, database: 'app' });
}

const STARS = '*'.repeat(2 * PAD);
const maskedBody = (id: number): string => STARS + String(id).padStart(4, '0');

function checkRows(rows: { id: number; body: string }[], ids: number[]): void {
  assert.equal(rows.length, ids.length);
  for (let i = 0; i < rows.length; i++) {
    const id = ids[i];
    if (rows[i].id !== id || rows[i].body !== maskedBody(id)) {
      assert.fail(`row ${i}: id ${rows[i].id}, body ${JSON.stringify(rows[i].body.slice(0, 20))}…${JSON.stringify(rows[i].body.slice(-20))} (${rows[i].body.length} chars), expected id ${id}`);
    }
  }
}

/**
 * A raw connection (TLS when asked) that sends one query and reads its answer
 * only when told to; `done` gives the bodies of the answer's messages of `type`.
 */
async function rawQuery(sql: string, type: number, useTls = false): Promise<{ socket: net.Socket; done: Promise<Buffer[]> }> {
  const plain = net.connect(gw.port, '127.0.0.1');
  await once(plain, 'connect');
  let socket: net.Socket = plain;
  if (useTls) {
    plain.write(encodeSSLRequest());
    const [answer] = (await once(plain, 'data')) as [Buffer];
    assert.equal(answer.toString('latin1'), 'S');
    socket = tls.connect({ socket: plain, rejectUnauthorized: false });
    await once(socket, 'secureConnect');
  }
  const framer = new MessageFramer(undefined, 'backend');
  const done = new Promise<Buffer[]>((resolve, reject) => {
    const bodies: Buffer[] = [];
    let readyCount = 0; // one ReadyForQuery after login, one after the query
    socket.on('data', (chunk: Buffer) => {
      framer.push(chunk);
      for (let m = framer.next(); m; m = framer.next()) {
        if (m.type === type) bodies.push(m.body);
        else if (m.type === 0x45) reject(new Error(`error from the gateway: ${m.body.toString('latin1')}`));
        else if (m.type === 0x5a && ++readyCount === 2) {
          socket.destroy();
          resolve(bodies);
        }
      }
    });
    socket.on('error', reject);
  });
  socket.write(Buffer.concat([encodeStartupMessage({ user: 'reader', database: 'app' }), encodePassword(token.token), encodeQuery(sql)]));
  return { socket, done };
}

/**
 * While `slow` is not read, another session streams masked rows through the
 * gateway (2 results of 300 rows, 9 MB, checked); four times, with `slow`
 * read for a moment in between, so its queued writes end in different slabs.
 */
async function stallWhileBusy(slow: net.Socket): Promise<void> {
  for (let round = 0; round < 4; round++) {
    slow.pause();
    // Long enough for the kernel's socket buffers to fill and the gateway's writes to queue.
    await new Promise((r) => setTimeout(r, 400));
    await busySession();
    slow.resume();
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function busySession(): Promise<void> {
  const busy = client();
  await busy.connect();
  try {
    const ids = Array.from({ length: 300 }, (_, i) => 300 - i);
    for (let i = 0; i < 2; i++) {
      const r = await busy.query<{ id: number; body: string }>('SELECT id, body FROM docs WHERE id <= 300 ORDER BY id DESC');
      checkRows(r.rows, ids);
    }
  } finally {
    await busy.end();
  }
}

test('a client that stops reading mid-result gets its own masked rows, while another session streams masked rows', { timeout: 60_000 }, async () => {
  await stalledSelect(false);
});

test('the same through TLS', { timeout: 120_000 }, async () => {
  await stalledSelect(true);
});

async function stalledSelect(useTls: boolean): Promise<void> {
  const slow = await rawQuery('SELECT id, body FROM docs ORDER BY id', DATA_ROW, useTls);
  await stallWhileBusy(slow.socket);
  const rows = (await slow.done).map((b) => {
    const fields = readDataRowFields(b);
    return { id: Number(fields[0]!.toString()), body: fields[1]!.toString() };
  });
  checkRows(rows, Array.from({ length: ROWS }, (_, i) => i + 1));
}

test('masked COPY to a client that stops reading is intact too', { timeout: 60_000 }, async () => {
  const slow = await rawQuery('COPY (SELECT id, body FROM docs ORDER BY id) TO STDOUT', COPY_DATA);
  await stallWhileBusy(slow.socket);
  const lines = Buffer.concat(await slow.done).toString('utf8').split('\n');
  assert.equal(lines.pop(), '');
  assert.equal(lines.length, ROWS);
  lines.forEach((line, i) => {
    if (line !== `${i + 1}\t${maskedBody(i + 1)}`) assert.fail(`line ${i}: ${JSON.stringify(line.slice(0, 30))}…${JSON.stringify(line.slice(-30))} (${line.length} chars)`);
  });
});
