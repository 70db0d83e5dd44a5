// Through the gateway: OIDC identities from a real OpenID provider, token expiry
// ending a session, and sessions that run as short-lived scoped roles.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startCluster, type Cluster } from './harness/cluster.ts';
import { makeToken, startGateway, type Gateway, type Token } from './harness/gateway.ts';
import { newKey, signToken, startJwksServer, startOidcProvider, type JwksServer, type OidcTestProvider, type TestKey } from './harness/oidc-provider.ts';
import { run } from './harness/proc.ts';

const AUDIENCE = 'https://scopegate.test/api';
const ADMIN_PW = 'admin-' + randomBytes(8).toString('hex');
let cluster: Cluster;
let idp: OidcTestProvider;
let jwks: JwksServer;
let key: TestKey;
let gw: Gateway;
let coder: Token;

before(async () => {
  cluster = await startCluster();
  // The gateway's upstream role may create roles but is not a superuser.
  await cluster.query(`CREATE ROLE sg_admin LOGIN CREATEROLE PASSWORD '${ADMIN_PW}'`);
  await cluster.query('CREATE DATABASE app OWNER sg_admin');
  await cluster.query(
    `CREATE TABLE orders (id int PRIMARY KEY, amount int); INSERT INTO orders SELECT g, g * 10 FROM generate_series(1, 5) g;
     CREATE TABLE secrets (id int, secret text); INSERT INTO secrets VALUES (1, 'hunter2');
     ALTER TABLE orders OWNER TO sg_admin; ALTER TABLE secrets OWNER TO sg_admin;`,
    'app',
  );
  idp = await startOidcProvider({
    audience: AUDIENCE,
    accessTokenTTL: 300,
    clients: [{ id: 'report-bot', secret: randomBytes(16).toString('hex'), claims: { groups: ['reporting'] } }],
  });
  key = await newKey('k1');
  jwks = await startJwksServer([key]);
  coder = makeToken('coder');
  gw = await startGateway({
    configYaml: `
listen: 127.0.0.1:{{PORT}}
upstreams:
  app:
    url: postgres://sg_admin@127.0.0.1:${cluster.port}/app
    password_env: ADMIN_PW
    tls: disable
    roles: ephemeral
    ephemeral: { prefix: sgtest_, ttl_s: 600 }
identities:
  tokens:
    - { name: coder, sha256: ${coder.sha256}, groups: [coding] }
  oidc:
    - { issuer: "${idp.issuer}", audience: "${AUDIENCE}", groups_claim: groups, name_map: { report-bot: reporter } }
    - { issuer: "${jwks.issuer}", audience: "${AUDIENCE}", jwks_url: "${jwks.jwksUrl}", groups_claim: groups }
policies:
  - name: reporting
    for: { groups: [reporting] }
    allow: [{ read: [public.orders] }]
  - name: coding
    for: { groups: [coding] }
    allow: [{ read: [public.orders] }, { update: [public.orders] }]
`,
    env: { ADMIN_PW },
  });
});

after(async () => {
  await gw?.stop();
  await idp?.close();
  await jwks?.close();
  await cluster?.stop();
});

function client(user: string, password: string): pg.Client {
  return new pg.Client({ host: '127.0.0.1', port: gw.port, database: 'app', user, password });
}

describe('OIDC', () => {
  test('a JWT access token from the provider is the password; groups pick the policy', async () => {
    const token = await idp.token('report-bot');
    const r = await run('psql', [`host=127.0.0.1 port=${gw.port} dbname=app user=anyone sslmode=disable`, '-X', '-At', '-c', 'SELECT sum(amount) FROM orders', '-c', 'DELETE FROM orders WHERE id = 1'], {
      env: { ...process.env, PGPASSWORD: token },
      timeoutMs: 20_000,
    });
    assert.match(r.stdout.toString(), /^150$/m, r.stderr.toString());
    assert.match(r.stderr.toString(), /scopegate: denied: delete on public\.orders/);
  });

  test('a tampered or foreign token is refused at connect', async () => {
    const token = await idp.token('report-bot');
    const [h, p, s] = token.split('.');
    const tampered = [h, Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), groups: ['admins'] })).toString('base64url'), s].join('.');
    const c = client('x', tampered);
    await assert.rejects(c.connect(), (e: pg.DatabaseError) => e.code === '28000' && /^scopegate:/.test(e.message));
    const attacker = await newKey('k1');
    const forged = await signToken(attacker, { iss: jwks.issuer, aud: AUDIENCE, sub: 'mallory', groups: ['reporting'], exp: Math.floor(Date.now() / 1000) + 60 });
    await assert.rejects(client('x', forged).connect(), (e: pg.DatabaseError) => e.code === '28000');
  });

  test('a session ends cleanly when its token expires', async () => {
    const token = await signToken(key, { iss: jwks.issuer, aud: AUDIENCE, sub: 'short-lived', groups: ['reporting'], exp: Math.floor(Date.now() / 1000) + 3 });
    const c = client('x', token);
    const ended = new Promise<Error>((resolve) => c.on('error', resolve));
    await c.connect();
    assert.equal((await c.query('SELECT count(*)::int AS n FROM orders')).rows[0].n, 5);
    const err = await ended;
    assert.match(err.message, /token expired/);
  });
});

describe('ephemeral roles', () => {
  test('each session runs as its own short-lived role, dropped when the session ends', async () => {
    const c = client('coder', coder.token);
    await c.connect();
    const who = (await c.query('SELECT current_user AS u')).rows[0].u as string;
    assert.match(who, /^sgtest_/);
    const role = await cluster.query('SELECT rolvaliduntil IS NOT NULL AS bounded, rolsuper FROM pg_roles WHERE rolname = $1', 'postgres', [who]);
    assert.deepEqual(role.rows[0], { bounded: true, rolsuper: false });
    const privileges = await cluster.query(
      `SELECT has_table_privilege($1, 'public.orders', 'UPDATE') AS upd, has_table_privilege($1, 'public.orders', 'DELETE') AS del,
              has_table_privilege($1, 'public.secrets', 'SELECT') AS secrets`,
      'app',
      [who],
    );
    assert.deepEqual(privileges.rows[0], { upd: true, del: false, secrets: false });
    await c.end();
    let gone = false;
    for (let i = 0; i < 50 && !gone; i++) {
      await new Promise((r) => setTimeout(r, 200));
      gone = (await cluster.query('SELECT count(*)::int AS n FROM pg_roles WHERE rolname = $1', 'postgres', [who])).rows[0].n === 0;
    }
    assert.ok(gone, `role ${who} was dropped`);
  });
});
