// The endpoints compared: direct Postgres, pgbouncer (session mode), the bare
// Node pipe, and scopegate with two identities (unmasked `bench`, `masked`).
// A target that cannot be started keeps an `error` and the benchmark goes on.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeToken, startGateway, type Gateway } from '../test/harness/gateway.ts';
import { freePort, waitForPort } from '../test/harness/net.ts';
import { alive, pidOfPort } from './procstat.ts';
import { DB, OWNER, type BenchDb } from './setup.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** A process in front of Postgres (absent for `direct`). */
export interface Proxy {
  pid?: number;
  port: number;
  error?: string;
  /** Restarts a process that died; resolves false when it cannot. */
  revive?: () => Promise<boolean>;
  logs?: () => string;
  stop: () => Promise<void>;
  /** Where the process writes its V8 CPU profile on exit (PROFILE=1). */
  profileDir?: string;
}

export interface Target {
  name: string;
  host: string;
  port: number;
  user: string;
  password: string;
  db: string;
  proxy?: Proxy;
  /** Set when the target is unusable; its runs are recorded as failures. */
  error?: string;
}

export const TARGET_NAMES = ['direct', 'pgbouncer', 'pipe', 'scopegate', 'scopegate+mask', 'scopegate-noaudit'] as const;

function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Installs pgbouncer with apt-get when missing and we are root. Returns why it is unavailable, or undefined. */
export function ensurePgbouncer(log: (m: string) => void): string | undefined {
  if (which('pgbouncer')) return undefined;
  if (process.getuid?.() !== 0 || !which('apt-get')) return 'pgbouncer is not installed (and apt-get as root is not available)';
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = (): boolean => spawnSync('apt-get', ['install', '-y', '-q', 'pgbouncer'], { env, stdio: 'ignore', timeout: 300_000 }).status === 0;
  log('pgbouncer missing: apt-get install -y pgbouncer');
  if (!install()) {
    spawnSync('apt-get', ['update', '-q'], { env, stdio: 'ignore', timeout: 300_000 });
    if (!install()) return 'apt-get install pgbouncer failed';
  }
  return which('pgbouncer') ? undefined : 'pgbouncer still not on PATH after apt-get install';
}

export async function startPgbouncer(db: BenchDb, maxClients: number): Promise<{ proxy: Proxy; port: number }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sg-bench-pgb-'));
  const port = await freePort();
  const ini = path.join(dir, 'pgbouncer.ini');
  writeFileSync(path.join(dir, 'userlist.txt'), `"${OWNER}" "${db.scramVerifier}"\n`, { mode: 0o600 });
  writeFileSync(ini, [
    '[databases]',
    `${DB} = host=${db.host} port=${db.port} dbname=${DB}`,
    '[pgbouncer]',
    `listen_addr = 127.0.0.1`, `listen_port = ${port}`, 'unix_socket_dir =',
    'auth_type = scram-sha-256', `auth_file = ${path.join(dir, 'userlist.txt')}`,
    'pool_mode = session', `max_client_conn = ${maxClients + 50}`, `default_pool_size = ${maxClients + 20}`,
    'server_idle_timeout = 5', 'server_reset_query = DISCARD ALL', 'ignore_startup_parameters = extra_float_digits',
    'log_connections = 0', 'log_disconnections = 0', `logfile = ${path.join(dir, 'pgbouncer.log')}`,
  ].join('\n') + '\n');
  // pgbouncer refuses to run as root: as root, exec it as `postgres` (setpriv execs, so the pid is pgbouncer's).
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    for (const f of ['', 'pgbouncer.ini', 'userlist.txt']) chownSync(path.join(dir, f), uid, gid);
  }
  const [cmd, args] = asRoot
    ? ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', 'pgbouncer', ini]]
    : ['pgbouncer', [ini]];
  const out: string[] = [];
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (c: Buffer) => out.push(c.toString()));
  child.stderr?.on('data', (c: Buffer) => out.push(c.toString()));
  const proxy: Proxy = {
    pid: child.pid,
    port,
    logs: () => out.join(''),
    stop: async () => {
      await killChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  if (!(await waitForPort('127.0.0.1', port, 15_000, () => child.exitCode !== null))) {
    await proxy.stop();
    throw new Error(`pgbouncer did not start: ${out.join('').slice(-500)}`);
  }
  return { proxy, port };
}

export async function startPipe(db: BenchDb): Promise<{ proxy: Proxy; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(HERE, 'pipe.ts'), '0', db.host, String(db.port)], {
    cwd: path.resolve(HERE, '..'),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    child.stdout?.on('data', (c: Buffer) => {
      buf += c.toString();
      const m = /listening (\d+)/.exec(buf);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`pipe exited with code ${code}`)));
    setTimeout(() => reject(new Error('pipe did not start in 20 s')), 20_000).unref();
  });
  return { proxy: { pid: child.pid, port, stop: () => killChild(child) }, port };
}

export function gatewayConfig(db: BenchDb, benchSha: string, maskedSha: string, audit = true): string {
  return `listen: 127.0.0.1:{{PORT}}
data_dir: "{{DIR}}/data"
${audit ? 'audit: { file: "{{DIR}}/audit.jsonl" }' : '# audit off: the baseline for the cost of auditing'}
upstreams:
  ${DB}:
    url: postgres://${OWNER}@${db.host}:${db.port}/${DB}
    password_env: BENCH_DB_PASSWORD
    roles: fixed
    tls: disable
identities:
  tokens:
    - { name: bench, sha256: ${benchSha}, groups: [analysts] }
    - { name: masked, sha256: ${maskedSha}, groups: [support] }
policies:
  - name: analysts
    for: { groups: [analysts] }
    allow:
      - read: [public.*]
  - name: support
    for: { groups: [support] }
    allow:
      - read: [public.*]
    mask:
      public.people.email: email
      public.people.ssn: redact
      public.people.card: last4
`;
}

/** Starts the gateway; both scopegate targets share the process. Never throws: failures land in proxy.error. */
export async function startScopegate(db: BenchDb, audit = true, profileDir?: string): Promise<{ proxy: Proxy; tokens: { bench: string; masked: string } }> {
  const bench = makeToken('bench');
  const masked = makeToken('masked');
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const opts = {
    configYaml: gatewayConfig(db, bench.sha256, masked.sha256, audit),
    env: { BENCH_DB_PASSWORD: db.password },
    nodeArgs: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
  };
  let gw: Gateway | undefined;
  let lastLogs = '';
  const proxy: Proxy = {
    port: 0,
    profileDir,
    logs: () => gw?.logs() ?? lastLogs,
    stop: async () => {
      await gw?.stop();
    },
  };
  const boot = async (): Promise<boolean> => {
    try {
      gw = await startGateway(opts);
      proxy.port = gw.port;
      proxy.pid = pidOfPort(gw.port);
      proxy.error = undefined; // pid undefined (no `ss`): no CPU/RSS readings, no restart detection
      return true;
    } catch (e) {
      lastLogs = (e as Error).message;
      proxy.error = `gateway did not start: ${(e as Error).message.split('\n')[0]}`;
      return false;
    }
  };
  await boot();
  let revivals = 0;
  proxy.revive = async () => {
    if (proxy.pid === undefined || alive(proxy.pid)) return true;
    lastLogs = gw?.logs() ?? lastLogs;
    await gw?.stop();
    gw = undefined;
    if (++revivals > 3) {
      proxy.error = 'gateway process exited (gave up after 3 restarts)';
      return false;
    }
    return boot();
  };
  return { proxy, tokens: { bench: bench.token, masked: masked.token } };
}

/** Builds the target list; `want` limits which proxies are started; with `profileDir`, each gateway process writes a CPU profile under it. */
export async function startTargets(db: BenchDb, want: Set<string>, maxClients: number, log: (m: string) => void, profileDir?: string): Promise<Target[]> {
  const base = { host: '127.0.0.1', user: OWNER, password: db.password, db: DB };
  const targets: Target[] = [{ name: 'direct', ...base, port: db.port }];
  if (want.has('pgbouncer')) {
    const why = ensurePgbouncer(log);
    if (why) targets.push({ name: 'pgbouncer', ...base, port: 0, error: `skipped: ${why}` });
    else {
      try {
        const { proxy, port } = await startPgbouncer(db, maxClients);
        targets.push({ name: 'pgbouncer', ...base, port, proxy });
      } catch (e) {
        targets.push({ name: 'pgbouncer', ...base, port: 0, error: (e as Error).message });
      }
    }
  }
  if (want.has('pipe')) {
    try {
      const { proxy, port } = await startPipe(db);
      targets.push({ name: 'pipe', ...base, port, proxy });
    } catch (e) {
      targets.push({ name: 'pipe', ...base, port: 0, error: (e as Error).message });
    }
  }
  if (want.has('scopegate') || want.has('scopegate+mask')) {
    const { proxy, tokens } = await startScopegate(db, true, profileDir && path.join(profileDir, 'scopegate'));
    if (proxy.error) log(`scopegate: ${proxy.error}`);
    for (const [name, user, password] of [['scopegate', 'bench', tokens.bench], ['scopegate+mask', 'masked', tokens.masked]] as const) {
      // port and error follow the shared gateway process (a restart picks a new port).
      if (want.has(name)) {
        targets.push({
          name, host: '127.0.0.1', user, password, db: DB, proxy,
          get port() { return proxy.port; },
          get error() { return proxy.error; },
        });
      }
    }
  }
  if (want.has('scopegate-noaudit')) {
    const { proxy, tokens } = await startScopegate(db, false, profileDir && path.join(profileDir, 'scopegate-noaudit'));
    if (proxy.error) log(`scopegate-noaudit: ${proxy.error}`);
    targets.push({
      name: 'scopegate-noaudit', host: '127.0.0.1', user: 'bench', password: tokens.bench, db: DB, proxy,
      get port() { return proxy.port; },
      get error() { return proxy.error; },
    });
  }
  return targets;
}

export async function stopTargets(targets: Target[]): Promise<void> {
  const proxies = new Set(targets.map((t) => t.proxy).filter((p): p is Proxy => p !== undefined));
  await Promise.all([...proxies].map((p) => p.stop().catch(() => undefined)));
}
