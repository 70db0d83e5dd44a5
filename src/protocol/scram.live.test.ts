// SCRAM-SHA-256 (and md5) against a real PostgreSQL server, spoken with this
// module's own encoders and framer over node:net. Starts a throwaway cluster
// (initdb --auth=scram-sha-256) on a free loopback port and removes it after.
// Skipped only when no /usr/lib/postgresql/*/bin/initdb exists.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeBackend } from './backend.ts';
import { MessageFramer, defaultFrameLimits } from './framer.ts';
import * as fe from './frontend.ts';
import { ScramClient, md5PasswordHash, SCRAM_SHA_256 } from './scram.ts';
import type { BackendMessage } from './types.ts';

const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a)) : [];
const bin = versions.map((v) => `/usr/lib/postgresql/${v}/bin`).find((d) => existsSync(join(d, 'initdb')));
const skip = bin ? false : 'no /usr/lib/postgresql/*/bin/initdb on this machine: live SCRAM test skipped';

const SUPER_PASSWORD = 'super-secret';
let dir = '';
let port = 0;

/** Runs a PostgreSQL binary as the postgres OS user when we are root (initdb refuses to run as root). */
function pg(tool: string, args: string[]): void {
  const asRoot = process.getuid?.() === 0;
  const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin!, tool), ...args]] : [join(bin!, tool), args];
  execFileSync(cmd, argv, { stdio: 'pipe', timeout: 60_000 });
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port: p } = srv.address() as { port: number };
  await new Promise((resolve) => srv.close(resolve));
  return p;
}

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'scopegate-scram-'));
  writeFileSync(join(dir, 'pw'), SUPER_PASSWORD + '\n');
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
    chownSync(join(dir, 'pw'), uid, gid);
  }
  const data = join(dir, 'data');
  pg('initdb', ['-D', data, '--auth=scram-sha-256', `--pwfile=${join(dir, 'pw')}`, '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C']);
  const hba = join(data, 'pg_hba.conf');
  writeFileSync(hba, 'host all md5user 127.0.0.1/32 md5\n' + readFileSync(hba, 'utf8'));
  port = await freePort();
  pg('pg_ctl', ['-D', data, '-w', '-l', join(dir, 'log'), '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, 'start']);
});

after(() => {
  if (skip || !dir) return;
  try {
    pg('pg_ctl', ['-D', join(dir, 'data'), '-m', 'immediate', 'stop']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A minimal client connection: write encoded messages, await decoded ones. */
class Conn {
  private readonly framer = new MessageFramer(defaultFrameLimits, 'backend');
  private readonly queue: BackendMessage[] = [];
  private waiter: (() => void) | null = null;
  private ended = false;

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.framer.push(chunk);
      for (let m = this.framer.next(); m !== null; m = this.framer.next()) this.queue.push(decodeBackend(m.type, m.body));
      this.waiter?.();
    });
    socket.on('close', () => {
      this.ended = true;
      this.waiter?.();
    });
  }

  static async open(): Promise<Conn> {
    const socket = connect(port, '127.0.0.1');
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new Conn(socket);
  }

  send(...messages: Buffer[]): void {
    for (const m of messages) this.socket.write(m);
  }

  async next(): Promise<BackendMessage> {
    while (this.queue.length === 0) {
      if (this.ended) throw new Error('connection closed');
      await new Promise<void>((resolve) => (this.waiter = resolve));
      this.waiter = null;
    }
    return this.queue.shift()!;
  }

  /** Messages up to and including ReadyForQuery. */
  async untilReady(): Promise<BackendMessage[]> {
    const out: BackendMessage[] = [];
    for (let m = await this.next(); ; m = await this.next()) {
      out.push(m);
      if (m.type === 'ReadyForQuery' || m.type === 'ErrorResponse') return out;
    }
  }
}

/** startup → AuthenticationSASL → SASLInitialResponse → SASLContinue → SASLResponse → SASLFinal → AuthenticationOk. */
async function scramLogin(user: string, password: string): Promise<{ conn: Conn; afterAuth: BackendMessage[] }> {
  const conn = await Conn.open();
  conn.send(fe.encodeStartupMessage({ user, database: 'postgres', application_name: 'scopegate-test' }));
  const sasl = await conn.next();
  assert.ok(sasl.type === 'AuthenticationSASL', `got ${sasl.type}`);
  assert.ok(sasl.mechanisms.includes(SCRAM_SHA_256));

  const scram = new ScramClient(password);
  conn.send(fe.encodeSASLInitialResponse(SCRAM_SHA_256, scram.clientFirstMessage()));
  const cont = await conn.next();
  if (cont.type === 'ErrorResponse') return { conn, afterAuth: [cont] };
  assert.ok(cont.type === 'AuthenticationSASLContinue', `got ${cont.type}`);
  conn.send(fe.encodeSASLResponse(await scram.handleServerFirst(cont.data.toString('utf8'))));
  const final = await conn.next();
  if (final.type === 'ErrorResponse') return { conn, afterAuth: [final] };
  assert.ok(final.type === 'AuthenticationSASLFinal', `got ${final.type}`);
  scram.verifyServerFinal(final.data.toString('utf8'));
  return { conn, afterAuth: await conn.untilReady() };
}

test('SCRAM-SHA-256 login to a real server, then simple and extended queries', { skip }, async () => {
  const { conn, afterAuth } = await scramLogin('postgres', SUPER_PASSWORD);
  assert.equal(afterAuth[0].type, 'AuthenticationOk');
  assert.ok(afterAuth.some((m) => m.type === 'ParameterStatus' && m.name === 'server_encoding' && m.value === 'UTF8'));
  assert.ok(afterAuth.some((m) => m.type === 'BackendKeyData'));
  assert.deepEqual(afterAuth.at(-1), { type: 'ReadyForQuery', status: 'I' });

  conn.send(fe.encodeQuery("SET password_encryption = 'scram-sha-256'; CREATE ROLE agent LOGIN PASSWORD 'pässwörd ✓'"));
  assert.deepEqual((await conn.untilReady()).map((m) => m.type), ['CommandComplete', 'CommandComplete', 'ReadyForQuery']);
  conn.send(fe.encodeQuery("SET password_encryption = 'md5'; CREATE ROLE md5user LOGIN PASSWORD 'md5-pass'"));
  assert.equal((await conn.untilReady()).at(-1)?.type, 'ReadyForQuery');

  conn.send(
    fe.encodeParse('s1', 'SELECT $1::int + 1 AS n, NULL::text AS nothing', [23]),
    fe.encodeBind({ statement: 's1', paramFormats: [0], params: [Buffer.from('41')], resultFormats: [0] }),
    fe.encodeDescribe('P'),
    fe.encodeExecute('', 0),
    fe.encodeSync(),
  );
  const rows = await conn.untilReady();
  assert.deepEqual(rows.map((m) => m.type), ['ParseComplete', 'BindComplete', 'RowDescription', 'DataRow', 'CommandComplete', 'ReadyForQuery']);
  assert.deepEqual(rows[3], { type: 'DataRow', values: [Buffer.from('42'), null] });
  conn.send(fe.encodeTerminate());
  conn.socket.end();
});

test('a role created with a SCRAM password (non-ASCII) logs in through our client', { skip }, async () => {
  const { conn, afterAuth } = await scramLogin('agent', 'pässwörd ✓');
  assert.equal(afterAuth[0].type, 'AuthenticationOk');
  conn.send(fe.encodeQuery('SELECT current_user'));
  const reply = await conn.untilReady();
  assert.deepEqual(reply[1], { type: 'DataRow', values: [Buffer.from('agent')] });
  conn.send(fe.encodeTerminate());
  conn.socket.end();
});

test('a wrong SCRAM password gets ErrorResponse 28P01 from the server', { skip }, async () => {
  const { afterAuth } = await scramLogin('agent', 'wrong');
  const [err] = afterAuth;
  assert.ok(err.type === 'ErrorResponse');
  assert.equal(err.fields.C, '28P01');
});

test('md5 login with md5PasswordHash', { skip }, async () => {
  const conn = await Conn.open();
  conn.send(fe.encodeStartupMessage({ user: 'md5user', database: 'postgres' }));
  const req = await conn.next();
  assert.ok(req.type === 'AuthenticationMD5Password', `got ${req.type}`);
  conn.send(fe.encodePassword(md5PasswordHash('md5user', 'md5-pass', req.salt)));
  const reply = await conn.untilReady();
  assert.equal(reply[0].type, 'AuthenticationOk');
  conn.send(fe.encodeTerminate());
  conn.socket.end();
});
