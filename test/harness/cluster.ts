// A throwaway PostgreSQL cluster per test run: initdb into a temp dir, start it
// on a free loopback port with SCRAM auth, stop it and delete everything after.
//
// Uses the server binaries Debian installs under /usr/lib/postgresql/<ver>/bin
// (override with SCOPEGATE_PG_BINDIR). initdb refuses to run as root, so as root
// the server runs as the `postgres` OS user (via runuser) and owns the temp dir.
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import pg from 'pg';
import { freePort } from './net.ts';
import { run, runOk, type RunResult } from './proc.ts';

export interface ClusterOptions {
  /** Extra lines appended to postgresql.conf. */
  settings?: Record<string, string | number>;
}

export interface Cluster {
  host: string;
  port: number;
  /** Directory of the server binaries (initdb, pg_ctl, psql, …). */
  binDir: string;
  /** The data directory (deleted by stop()). */
  dataDir: string;
  superuser: { user: string; password: string };
  /** A postgres:// URL for db, as the superuser unless user/password are given. */
  url(db: string, user?: string, password?: string): string;
  /** Runs the cluster's psql as the superuser (database `postgres` unless args say otherwise). */
  psql(...args: string[]): Promise<RunResult>;
  /** Runs sql as the superuser through node-postgres; returns the last result of a multi-statement string. */
  query<R extends pg.QueryResultRow = any>(sql: string, db?: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
  /** Closes the cached superuser connection to db (call before dropping db). */
  disconnect(db: string): Promise<void>;
  stop(): Promise<void>;
}

/** Roles in these groups authenticate with md5 / trust on 127.0.0.1 (see pg_hba.conf below). */
export const MD5_GROUP = 'harness_md5_users';
export const TRUST_GROUP = 'harness_trust_users';

/** Finds the newest /usr/lib/postgresql/<ver>/bin that has initdb and pg_ctl. */
export function findPgBinDir(): string {
  const fromEnv = process.env.SCOPEGATE_PG_BINDIR;
  if (fromEnv) return fromEnv;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(path.join(root, v, 'bin', 'initdb')) && existsSync(path.join(root, v, 'bin', 'pg_ctl')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error(`no PostgreSQL server binaries under ${root} (install postgresql, or set SCOPEGATE_PG_BINDIR)`);
  }
  return path.join(root, versions[0], 'bin');
}

function osUser(name: string): { uid: number; gid: number } {
  const r = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  if (r.status !== 0 || g.status !== 0) {
    throw new Error(`running as root needs an OS user "${name}" to run PostgreSQL (the postgresql package creates it)`);
  }
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

function chownTree(p: string, uid: number, gid: number): void {
  chownSync(p, uid, gid);
  for (const e of readdirSync(p, { withFileTypes: true })) {
    const child = path.join(p, e.name);
    if (e.isDirectory()) chownTree(child, uid, gid);
    else chownSync(child, uid, gid);
  }
}

const HBA = `# written by test/harness/cluster.ts
local   all  all                       scram-sha-256
host    all  +${TRUST_GROUP}  127.0.0.1/32  trust
host    all  +${MD5_GROUP}    127.0.0.1/32  md5
host    all  all              127.0.0.1/32  scram-sha-256
host    all  all              ::1/128       scram-sha-256
`;

export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const binDir = findPgBinDir();
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? osUser('postgres') : undefined;
  // As root, the server binaries run as `postgres` with a clean environment.
  const wrap = (bin: string, args: string[]): [string, string[]] =>
    asRoot ? ['runuser', ['-u', 'postgres', '--', path.join(binDir, bin), ...args]] : [path.join(binDir, bin), args];

  const dir = mkdtempSync(path.join(os.tmpdir(), 'sg-pg-'));
  const dataDir = path.join(dir, 'data');
  const sockDir = path.join(dir, 'sock');
  const password = randomBytes(18).toString('base64url');
  const user = 'postgres';
  const pwfile = path.join(dir, 'pwfile');
  writeFileSync(pwfile, password + '\n', { mode: 0o600 });
  mkdirSync(sockDir);
  if (owner) chownTree(dir, owner.uid, owner.gid);

  const cleanup = (): void => rmSync(dir, { recursive: true, force: true });
  const env = { ...process.env, LC_ALL: 'C', LANG: 'C' };
  try {
    const [initCmd, initArgs] = wrap('initdb', [
      '-D', dataDir, '-U', user, `--pwfile=${pwfile}`, '--auth=scram-sha-256',
      '--encoding=UTF8', '--locale=C', '--no-sync', '--no-instructions',
    ]);
    await runOk(initCmd, initArgs, { cwd: dir, env, timeoutMs: 60_000 });
    rmSync(pwfile);
    writeFileSync(path.join(dataDir, 'pg_hba.conf'), HBA);
    const settings: Record<string, string | number> = {
      listen_addresses: "'127.0.0.1'",
      unix_socket_directories: `'${sockDir}'`,
      fsync: 'off',
      synchronous_commit: 'off',
      full_page_writes: 'off',
      shared_preload_libraries: "''",
      autovacuum: 'off',
      max_connections: 200,
      logging_collector: 'off',
      ...opts.settings,
    };
    // The port is chosen last and retried: another process may grab it between freePort() and start.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      appendFileSync(
        path.join(dataDir, 'postgresql.conf'),
        '\n# test/harness/cluster.ts\n' +
          Object.entries({ ...settings, port }).map(([k, v]) => `${k} = ${v}`).join('\n') + '\n',
      );
      const [ctlCmd, ctlArgs] = wrap('pg_ctl', ['-D', dataDir, '-l', path.join(dir, 'server.log'), '-w', '-t', '60', 'start']);
      const started = await run(ctlCmd, ctlArgs, { cwd: dir, env, timeoutMs: 90_000 });
      if (started.code === 0) return makeCluster({ binDir, dir, dataDir, port, user, password, wrap, env });
      if (attempt >= 3) {
        const log = await run('cat', [path.join(dir, 'server.log')]);
        throw new Error(`pg_ctl start failed:\n${started.stdout}${started.stderr}\n${log.stdout}`);
      }
    }
  } catch (e) {
    cleanup();
    throw e;
  }
}

interface ClusterParts {
  binDir: string;
  dir: string;
  dataDir: string;
  port: number;
  user: string;
  password: string;
  wrap: (bin: string, args: string[]) => [string, string[]];
  env: NodeJS.ProcessEnv;
}

function makeCluster(p: ClusterParts): Cluster {
  const host = '127.0.0.1';
  // Cached superuser connections, one per database. Their sockets are unref'd
  // while idle so that a cached connection never keeps the test process alive.
  const clients = new Map<string, Promise<pg.Client>>();
  const busy = new Map<pg.Client, { socket: net.Socket; n: number; tail: Promise<void> }>();
  let stopped = false;

  const connect = (db: string): Promise<pg.Client> => {
    let c = clients.get(db);
    if (!c) {
      const socket = new net.Socket();
      const client = new pg.Client({ host, port: p.port, user: p.user, password: p.password, database: db, stream: () => socket });
      busy.set(client, { socket, n: 0, tail: Promise.resolve() });
      // A dropped connection (e.g. DROP DATABASE … WITH (FORCE)) just forgets the cached client.
      client.on('error', () => clients.delete(db));
      client.on('end', () => clients.delete(db));
      c = client.connect().then(() => {
        if (busy.get(client)?.n === 0) socket.unref();
        return client;
      });
      c.catch(() => clients.delete(db));
      clients.set(db, c);
    }
    return c;
  };

  /** Runs fn with the client's socket ref'd (so the process waits for it), one call at a time per client. */
  const using = <T>(client: pg.Client, fn: () => Promise<T>): Promise<T> => {
    const b = busy.get(client);
    if (!b) return fn();
    if (b.n++ === 0) b.socket.ref();
    const result = b.tail.then(fn);
    b.tail = result.then(() => undefined, () => undefined).then(() => {
      if (--b.n === 0) b.socket.unref();
    });
    return result;
  };

  const disconnect = async (db: string): Promise<void> => {
    const c = clients.get(db);
    clients.delete(db);
    if (c) await c.then((cl) => using(cl, () => cl.end())).catch(() => undefined);
  };

  const stopSync = (): void => {
    if (stopped) return;
    stopped = true;
    liveClusters.delete(stopSync);
    const [cmd, args] = p.wrap('pg_ctl', ['-D', p.dataDir, '-m', 'immediate', '-w', 'stop']);
    spawnSync(cmd, args, { cwd: p.dir, env: p.env, stdio: 'ignore', timeout: 30_000 });
    rmSync(p.dir, { recursive: true, force: true });
  };

  const cluster: Cluster = {
    host,
    port: p.port,
    binDir: p.binDir,
    dataDir: p.dataDir,
    superuser: { user: p.user, password: p.password },
    url(db, user = p.user, password = p.password) {
      return `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${host}:${p.port}/${encodeURIComponent(db)}`;
    },
    psql(...args) {
      return run(path.join(p.binDir, 'psql'), ['-X', ...args], {
        env: {
          ...process.env,
          PGHOST: host, PGPORT: String(p.port), PGUSER: p.user, PGPASSWORD: p.password,
          PGDATABASE: 'postgres', PGCLIENTENCODING: 'UTF8', PGSSLMODE: 'disable',
        },
        timeoutMs: 120_000,
      });
    },
    async query(sql, db = 'postgres', values) {
      const client = await connect(db);
      const r = (await using(client, () => client.query(sql, values))) as pg.QueryResult | pg.QueryResult[];
      return Array.isArray(r) ? r[r.length - 1] : r;
    },
    disconnect,
    async stop() {
      await Promise.all([...clients.keys()].map(disconnect));
      stopSync();
    },
  };
  liveClusters.add(stopSync);
  installExitHooks();
  return cluster;
}

/** Synchronous stops of the clusters not stopped yet: no cluster outlives its process (short of SIGKILL). */
const liveClusters = new Set<() => void>();
let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  const stopAll = (): void => {
    for (const stop of [...liveClusters]) stop();
  };
  process.on('exit', stopAll);
  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.on(sig, () => {
      stopAll();
      // Exit as the default action would, unless the program handles the signal itself.
      if (process.listenerCount(sig) === 1) process.exit(code);
    });
  }
}

let shared: Promise<Cluster> | undefined;

/** One cluster per test process, started on first use and stopped when the process exits. */
export function sharedCluster(): Promise<Cluster> {
  shared ??= startCluster();
  return shared;
}
