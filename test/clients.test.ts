// Real clients through the real gateway against a throwaway Postgres:
// psql, pgbench, node-postgres, postgres.js; TLS; cancel.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import postgres from 'postgres';
import { startCluster, type Cluster } from './harness/cluster.ts';
import { makeToken, startGateway, type Gateway, type Token } from './harness/gateway.ts';
import { run } from './harness/proc.ts';

let cluster: Cluster;
let gw: Gateway;
let tlsGw: Gateway;
const tokens: Record<string, Token> = {};
const GW_PASSWORD = 'gw-secret-' + Math.random().toString(36).slice(2);

function config(extra = ''): string {
  return `
listen: 127.0.0.1:{{PORT}}
audit: { file: "{{DIR}}/audit.jsonl" }
${extra}
upstreams:
  app:
    url: postgres://scopegate_gw@127.0.0.1:${cluster.port}/app
    password_env: APP_DB_PASSWORD
    tls: disable
identities:
  tokens:
    - { name: bench, sha256: ${tokens.bench.sha256}, groups: [bench] }
    - { name: reporter, sha256: ${tokens.reporter.sha256}, groups: [reporting] }
    - { name: sleeper, sha256: ${tokens.sleeper.sha256}, groups: [sleepers] }
    - { name: scoped, sha256: ${tokens.scoped.sha256}, groups: [scoped] }
policies:
  - name: bench
    for: { groups: [bench] }
    allow:
      - read: [public.*]
      - insert: [public.*]
      - update: [public.*]
      - delete: [public.*]
  - name: reporting
    for: { groups: [reporting] }
    allow:
      - read: [public.people, public.pgbench_branches]
    mask:
      public.people.email: email
      public.people.ssn: last4
    detect:
      public.people.notes: [card, ssn]
  - name: scoped
    for: { groups: [scoped] }
    allow:
      - read: [public.*]
    deny:
      - read: [public.pgbench_accounts]
  - name: sleepers
    for: { groups: [sleepers] }
    allow:
      - read: [public.*]
    guardrails: { lift: [side-effect-function] }
`;
}

before(async () => {
  for (const name of ['bench', 'reporter', 'sleeper', 'scoped']) tokens[name] = makeToken(name);
  cluster = await startCluster();
  await cluster.query(`CREATE ROLE scopegate_gw LOGIN PASSWORD '${GW_PASSWORD}'`);
  await cluster.query('CREATE DATABASE app OWNER scopegate_gw');
  const init = await run(join(cluster.binDir, 'pgbench'), ['-i', '-s', '1', '-q', '-h', '127.0.0.1', '-p', String(cluster.port), '-U', 'scopegate_gw', 'app'], {
    env: { ...process.env, PGPASSWORD: GW_PASSWORD },
    timeoutMs: 60_000,
  });
  assert.equal(init.code, 0, init.stderr.toString());
  await cluster.query(
    `CREATE TABLE people (id int PRIMARY KEY, name text, email text, ssn text, notes text);
     INSERT INTO people VALUES (1, 'Ada', 'ada.lovelace@example.com', '123-45-6789', 'paid with 4111 1111 1111 1111, ssn 123-45-6789 on file'), (2, 'Alan', 'alan.turing@example.net', '987-65-4321', NULL);
     ALTER TABLE people OWNER TO scopegate_gw;`,
    'app',
  );
  gw = await startGateway({ configYaml: config(), env: { APP_DB_PASSWORD: GW_PASSWORD } });

  const certDir = mkdtempSync(join(tmpdir(), 'sg-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem')], { stdio: 'ignore' });
  tlsGw = await startGateway({
    configYaml: config(`tls: { cert: ${join(certDir, 'cert.pem')}, key: ${join(certDir, 'key.pem')}, required: true }`),
    env: { APP_DB_PASSWORD: GW_PASSWORD },
  });
});

after(async () => {
  await gw?.stop();
  await tlsGw?.stop();
  await cluster?.stop();
});

function conninfo(g: Gateway, user: string, sslmode = 'disable'): string {
  return `host=127.0.0.1 port=${g.port} dbname=app user=${user} password=${tokens[user].token} sslmode=${sslmode}`;
}

function psql(g: Gateway, user: string, sql: string, sslmode = 'disable') {
  return run('psql', [conninfo(g, user, sslmode), '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=0', '-f', '-'], { input: sql, timeoutMs: 20_000 });
}

describe('psql', () => {
  test('runs allowed statements and refuses a denied one with 42501, keeping the session', async () => {
    const r = await psql(gw, 'reporter', "\\set VERBOSITY verbose\nSELECT count(*) FROM people;\nDELETE FROM people WHERE id = 1;\nSELECT name FROM people ORDER BY id;\n");
    const out = r.stdout.toString();
    const err = r.stderr.toString();
    assert.match(out, /^2$/m);
    assert.match(err, /42501/);
    assert.match(err, /scopegate: denied: delete on public\.people/);
    assert.match(err, /HINT:/);
    assert.match(out, /Ada\nAlan/);
    const rows = await cluster.query('SELECT count(*)::int AS n FROM people', 'app');
    assert.equal(rows.rows[0].n, 2, 'the denied DELETE never reached Postgres');
  });

  test('content detectors mask card numbers and SSNs inside free text', async () => {
    const r = await psql(gw, 'reporter', 'SELECT notes FROM people WHERE id = 1;\nCOPY (SELECT notes FROM people WHERE id = 1) TO STDOUT;\n');
    const out = r.stdout.toString();
    assert.doesNotMatch(out, /4111 1111 1111 1111|123-45-6789/);
    assert.match(out, /paid with .*1111, ssn .*6789 on file/);
  });

  test('masks sensitive columns for the reporter', async () => {
    const r = await psql(gw, 'reporter', 'SELECT email, ssn FROM people ORDER BY id;\n');
    const out = r.stdout.toString();
    assert.doesNotMatch(out, /ada\.lovelace@example\.com|123-45-6789/);
    assert.match(out, /a\*\*\*@example\.com\|\*\*\*-\*\*-6789/);
  });

  test('an error inside a transaction block aborts it until ROLLBACK, as Postgres does', async () => {
    const r = await psql(gw, 'reporter', 'BEGIN;\nDELETE FROM people;\nSELECT 1;\nROLLBACK;\nSELECT 2;\n');
    const err = r.stderr.toString();
    assert.match(err, /42501|scopegate: denied/);
    assert.match(err, /current transaction is aborted/);
    assert.match(r.stdout.toString(), /^2$/m);
  });
});

describe('psql meta-commands under a deny rule', () => {
  test('\\d of an allowed table works (its oid follow-ups included); \\dt and an unfiltered pg_class read, which would list the denied table, are refused', async () => {
    const d = await psql(gw, 'scoped', '\\d people\n');
    assert.equal(d.code, 0, d.stderr.toString());
    assert.match(d.stdout.toString(), /email\|text/, `${d.stdout}${d.stderr}`);
    assert.doesNotMatch(d.stderr.toString(), /denied/);
    const dt = await psql(gw, 'scoped', '\\dt\nSELECT relname FROM pg_class;\nSELECT count(*) FROM pg_class WHERE relname LIKE \'pgbench_a%\';\nSELECT relname FROM pg_class WHERE relname = \'people\';\n');
    const errors = dt.stderr.toString().split('\n').filter((l) => /ERROR/.test(l));
    assert.equal(errors.length, 3, dt.stderr.toString());
    assert.ok(errors.every((l) => /42501|denied/.test(l)), errors.join('\n'));
    assert.doesNotMatch(dt.stdout.toString(), /pgbench_accounts/);
    assert.match(dt.stdout.toString(), /^people$/m);
  });
});

describe('COPY and audit', () => {
  test('COPY FROM STDIN and COPY TO STDOUT through psql', async () => {
    const r = await run('psql', [conninfo(gw, 'bench'), '-X', '-v', 'ON_ERROR_STOP=1', '-c', 'CREATE TEMP TABLE x (a int)'], { timeoutMs: 20_000 });
    assert.notEqual(r.code, 0, 'DDL is not allowed for bench');
    const copyIn = await run('psql', [conninfo(gw, 'bench'), '-X', '-v', 'ON_ERROR_STOP=1', '-c', 'COPY pgbench_history (tid, bid, aid, delta) FROM STDIN'], {
      input: '1\t1\t1\t5\n2\t1\t2\t7\n',
      timeoutMs: 20_000,
    });
    assert.equal(copyIn.code, 0, copyIn.stderr.toString());
    assert.match(copyIn.stdout.toString(), /COPY 2/);
    const out = await run('psql', [conninfo(gw, 'bench'), '-X', '-c', 'COPY (SELECT delta FROM pgbench_history ORDER BY delta) TO STDOUT'], { timeoutMs: 20_000 });
    assert.equal(out.stdout.toString(), '5\n7\n');
  });

  test('the audit file has a line per session start, statement and session end', async () => {
    await psql(gw, 'reporter', 'SELECT 1;\nDELETE FROM people WHERE id = 2;\n');
    await new Promise((r) => setTimeout(r, 200));
    const lines = readFileSync(join(gw.dir, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const denied = lines.find((e) => e.type === 'statement' && e.verdict === 'deny' && /DELETE FROM people WHERE id = 2/.test(e.sql));
    assert.ok(denied, 'denied statement recorded');
    assert.equal(denied.identity, 'reporter');
    assert.ok(denied.reasons.some((r: string) => /delete on public\.people/.test(r)));
    const allowed = lines.filter((e) => e.type === 'statement' && e.verdict === 'allow' && e.sql.trim().replace(/;$/, '') === 'SELECT 1');
    assert.ok(allowed.some((e) => e.tag === 'SELECT 1' && e.rows === 1 && typeof e.durationMs === 'number'));
    assert.ok(lines.some((e) => e.type === 'session_start' && e.identity === 'reporter'));
    assert.ok(lines.some((e) => e.type === 'session_end' && e.identity === 'reporter'));
  });
});

describe('pgbench', () => {
  for (const mode of ['simple', 'extended', 'prepared']) {
    test(`-S -M ${mode} runs through the gateway`, async () => {
      const r = await run('pgbench', ['-n', '-S', '-M', mode, '-c', '2', '-j', '1', '-t', '200', '-h', '127.0.0.1', '-p', String(gw.port), '-U', 'bench', 'app'], {
        env: { ...process.env, PGPASSWORD: tokens.bench.token, PGSSLMODE: 'disable' },
        timeoutMs: 60_000,
      });
      assert.equal(r.code, 0, r.stderr.toString() + r.stdout.toString());
      assert.match(r.stdout.toString(), /number of transactions actually processed: 400\/400/);
    });
  }
});

describe('node-postgres', () => {
  test('parameterised queries, a denial, and transaction semantics in the extended protocol', async () => {
    const client = new pg.Client({ host: '127.0.0.1', port: gw.port, database: 'app', user: 'reporter', password: tokens.reporter.token });
    await client.connect();
    try {
      const r = await client.query('SELECT id, name FROM people WHERE id = $1', [2]);
      assert.deepEqual(r.rows, [{ id: 2, name: 'Alan' }]);
      await assert.rejects(client.query('UPDATE people SET name = $1 WHERE id = $2', ['x', 1]), (e: pg.DatabaseError) => {
        assert.equal(e.code, '42501');
        assert.match(e.message, /^scopegate: denied/);
        return true;
      });
      await client.query('BEGIN');
      await assert.rejects(client.query('DELETE FROM people WHERE id = $1', [1]), /scopegate/);
      await assert.rejects(client.query('SELECT 1'), (e: pg.DatabaseError) => e.code === '25P02');
      await client.query('ROLLBACK');
      const masked = await client.query('SELECT email FROM people WHERE id = $1', [1]);
      assert.equal(masked.rows[0].email, 'a***@example.com');
    } finally {
      await client.end();
    }
  });

  test('binary results are masked too', async () => {
    const client = new pg.Client({ host: '127.0.0.1', port: gw.port, database: 'app', user: 'reporter', password: tokens.reporter.token });
    await client.connect();
    try {
      // pg supports binary results at run time; its types do not declare the option.
      const binaryQuery = { text: 'SELECT ssn FROM people WHERE id = $1', values: [1], binary: true } as pg.QueryConfig;
      const r = await client.query(binaryQuery);
      assert.equal(r.rows[0].ssn, '***-**-6789');
    } finally {
      await client.end();
    }
  });
});

describe('postgres.js', () => {
  test('queries with parameters, masking, and a cancelled pg_sleep', async () => {
    const sql = postgres({ host: '127.0.0.1', port: gw.port, database: 'app', username: 'reporter', password: tokens.reporter.token, ssl: false, max: 1 });
    try {
      const rows = await sql`SELECT name, email FROM people WHERE id = ${1}`;
      assert.equal(rows[0].name, 'Ada');
      assert.equal(rows[0].email, 'a***@example.com');
      await assert.rejects(sql`DELETE FROM people WHERE id = ${1}`, (e: { code?: string }) => e.code === '42501');
      const again = await sql`SELECT count(*)::int AS n FROM people`;
      assert.equal(again[0].n, 2);
    } finally {
      await sql.end();
    }
    const sleeper = postgres({ host: '127.0.0.1', port: gw.port, database: 'app', username: 'sleeper', password: tokens.sleeper.token, ssl: false, max: 1 });
    try {
      const started = Date.now();
      const q = sleeper`SELECT pg_sleep(20)`;
      setTimeout(() => q.cancel(), 500);
      await assert.rejects(q, (e: { code?: string }) => e.code === '57014');
      assert.ok(Date.now() - started < 10_000, 'the cancel reached the upstream backend');
      const ok = await sleeper`SELECT 1 AS one`;
      assert.equal(ok[0].one, 1);
    } finally {
      await sleeper.end();
    }
  });
});

describe('TLS', () => {
  test('tls.required refuses plaintext and serves TLS', async () => {
    const plain = await psql(tlsGw, 'reporter', 'SELECT 1;\n', 'disable');
    assert.notEqual(plain.code, 0);
    assert.match(plain.stderr.toString(), /TLS is required/);
    const secure = await psql(tlsGw, 'reporter', 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid();\nSELECT 41 + 1;\n', 'require');
    assert.match(secure.stdout.toString(), /^42$/m, secure.stderr.toString());
  });

  test('optional TLS: a gateway without tls.required still answers sslmode=prefer in plaintext', async () => {
    const r = await psql(gw, 'reporter', 'SELECT 7;\n', 'prefer');
    assert.match(r.stdout.toString(), /^7$/m, r.stderr.toString());
  });
});
