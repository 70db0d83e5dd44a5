// OIDC identities against a real OpenID provider on loopback (oidc-provider,
// client-credentials grant, JWT access tokens), plus a JWKS server with our own
// keys for the tokens an honest provider never issues.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SignJWT, exportSPKI, importJWK, type CryptoKey } from 'jose';
import { configSchema, type OidcIssuerConfig } from '../src/config/schema.ts';
import { OidcError, OidcVerifier, looksLikeJwt, type OidcFailure } from '../src/identity/oidc.ts';
import { newKey, signToken, startJwksServer, startOidcProvider, type JwksServer, type OidcTestProvider, type TestKey } from './harness/oidc-provider.ts';

const AUDIENCE = 'urn:scopegate:corpus';

/** Issuer configs with the schema's own defaults filled in. */
function issuers(...oidc: Record<string, unknown>[]): OidcIssuerConfig[] {
  const cfg = configSchema.parse({ upstreams: { corpus: { url: 'postgres://gw@127.0.0.1/corpus' } }, identities: { oidc } });
  const parsed = cfg.identities.oidc;
  return Array.isArray(parsed) ? parsed : parsed ? [parsed] : [];
}

async function refused(p: Promise<unknown>, reason: OidcFailure): Promise<OidcError> {
  const err = await p.then(
    () => assert.fail(`expected the token to be refused (${reason})`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof OidcError, `expected an OidcError, got ${String(err)}`);
  assert.equal(err.reason, reason, err.message);
  assert.match(err.message, /^scopegate: /);
  assert.doesNotMatch(err.message, /BEGIN|"n":|"d":|-----/, 'no key material in client messages');
  return err;
}

const sec = (ms: number): number => Math.floor(ms / 1000);

let idp: OidcTestProvider;
let keys: JwksServer;
let k1: TestKey;
let k2: TestKey;
let attacker: TestKey;

before(async () => {
  [k1, k2, attacker] = await Promise.all([newKey('k1'), newKey('k2', 'ES256'), newKey('k1')]);
  idp = await startOidcProvider({
    audience: AUDIENCE,
    accessTokenTTL: 120,
    clients: [
      { id: 'reporter-agent', secret: randomBytes(24).toString('hex'), claims: { realm_access: { roles: ['reporting', 'analysts'] } } },
      { id: 'lone-agent', secret: randomBytes(24).toString('hex'), claims: {} },
    ],
  });
  keys = await startJwksServer([k1]);
});

after(async () => {
  await idp?.close();
  await keys?.close();
});

describe('tokens from a real OpenID provider (discovery, client credentials, JWT access tokens)', () => {
  const config = (): OidcIssuerConfig[] =>
    issuers({ issuer: idp.issuer, audience: AUDIENCE, groups_claim: 'realm_access.roles', name_map: { 'reporter-agent': 'reporter' } });

  test('a fresh token verifies: the identity is named through name_map and carries the nested groups', async () => {
    const v = new OidcVerifier(config());
    await v.init();
    const token = await idp.token('reporter-agent');
    assert.ok(looksLikeJwt(token));
    const { identity, expiresAt } = await v.verify(token);
    assert.equal(identity.name, 'reporter');
    assert.deepEqual(identity.groups, ['reporting', 'analysts']);
    assert.equal(identity.method, 'oidc');
    assert.equal(identity.claims?.client_id, 'reporter-agent');
    assert.ok(expiresAt > Date.now() && expiresAt <= Date.now() + 121_000, 'expiresAt is the token exp in ms');
  });

  test('without name_map the name is the sub claim, and a token without groups has none', async () => {
    const v = new OidcVerifier(issuers({ issuer: idp.issuer, audience: AUDIENCE }));
    await v.init();
    const { identity } = await v.verify(await idp.token('lone-agent'));
    assert.equal(identity.name, 'lone-agent');
    assert.deepEqual(identity.groups, []);
  });

  test('keys are fetched once at init, not per verification', async () => {
    const v = new OidcVerifier(config());
    const before = idp.jwksRequests;
    await v.init();
    for (let i = 0; i < 5; i++) await v.verify(await idp.token('reporter-agent'));
    assert.equal(idp.jwksRequests - before, 1);
  });

  test('an expired provider token is refused (clock moved past exp + skew)', async () => {
    const token = await idp.token('reporter-agent');
    const v = new OidcVerifier(config(), { now: () => Date.now() + 120_000 + 31_000 });
    await v.init();
    await refused(v.verify(token), 'expired');
  });

  test('within the clock skew an expired token still verifies', async () => {
    const token = await idp.token('reporter-agent');
    const v = new OidcVerifier(config(), { now: () => Date.now() + 120_000 + 20_000 });
    await v.init();
    await v.verify(token);
  });

  test('a token issued in the future (iat beyond the skew) is not valid yet', async () => {
    const token = await idp.token('reporter-agent');
    const v = new OidcVerifier(config(), { now: () => Date.now() - 60_000 });
    await v.init();
    await refused(v.verify(token), 'not-yet-valid');
  });

  test('a provider token for another audience is refused', async () => {
    const v = new OidcVerifier(issuers({ issuer: idp.issuer, audience: 'urn:scopegate:other' }));
    await v.init();
    await refused(v.verify(await idp.token('reporter-agent')), 'wrong-audience');
  });

  test('a provider token with a changed payload fails the signature check', async () => {
    const v = new OidcVerifier(config());
    await v.init();
    const [h, p, s] = (await idp.token('lone-agent')).split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    claims.realm_access = { roles: ['admins'] };
    await refused(v.verify(`${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`), 'bad-signature');
    const flipped = s.slice(0, 10) + (s[10] === 'A' ? 'B' : 'A') + s.slice(11);
    await refused(v.verify(`${h}.${p}.${flipped}`), 'bad-signature');
  });

  test('require_groups refuses a provider token without the groups claim', async () => {
    const v = new OidcVerifier(issuers({ issuer: idp.issuer, audience: AUDIENCE, groups_claim: 'realm_access.roles', require_groups: true }));
    await v.init();
    await refused(v.verify(await idp.token('lone-agent')), 'missing-groups');
  });
});

describe('forged and malformed tokens (own keys on a loopback JWKS server)', () => {
  let v: OidcVerifier;
  const now = (): number => Date.now();
  const claims = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    iss: keys.issuer, aud: ['scopegate', 'something-else'], sub: 'u-17', groups: ['coder'], iat: sec(now()), exp: sec(now()) + 300, ...extra,
  });

  before(async () => {
    keys.setKeys([k1]);
    v = new OidcVerifier(
      issuers(
        { issuer: keys.issuer, jwks_url: keys.jwksUrl, audience: 'scopegate', require_groups: true, algorithms: ['RS256', 'ES256', 'HS256', 'none'] },
        { issuer: idp.issuer, audience: AUDIENCE },
      ),
    );
    await v.init();
  });

  test('a well-formed token verifies; aud may be an array, groups a plain string', async () => {
    const { identity } = await v.verify(await signToken(k1, claims()));
    assert.deepEqual([identity.name, identity.groups], ['u-17', ['coder']]);
    const single = await v.verify(await signToken(k1, claims({ groups: 'coder' })));
    assert.deepEqual(single.identity.groups, ['coder']);
  });

  test('an issuer that is not configured is refused before any key lookup', async () => {
    const err = await refused(v.verify(await signToken(k1, claims({ iss: 'https://evil.example/' }))), 'wrong-issuer');
    assert.match(err.message, /evil\.example/);
  });

  test('a token claiming the provider as issuer but signed with our key is unknown to the provider', async () => {
    await refused(v.verify(await signToken(k1, claims({ iss: idp.issuer, aud: AUDIENCE }))), 'unknown-key');
  });

  test('wrong audience', async () => {
    await refused(v.verify(await signToken(k1, claims({ aud: 'another-service' }))), 'wrong-audience');
    await refused(v.verify(await signToken(k1, claims({ aud: ['a', 'b'] }))), 'wrong-audience');
  });

  test('expired, and not yet valid (nbf, iat in the future)', async () => {
    await refused(v.verify(await signToken(k1, claims({ iat: sec(now()) - 600, exp: sec(now()) - 60 }))), 'expired');
    await refused(v.verify(await signToken(k1, claims({ nbf: sec(now()) + 120 }))), 'not-yet-valid');
    await refused(v.verify(await signToken(k1, claims({ iat: sec(now()) + 120 }))), 'not-yet-valid');
    await v.verify(await signToken(k1, claims({ nbf: sec(now()) + 10 }))); // inside the 30 s skew
  });

  test('a token without exp is refused (sessions need an end)', async () => {
    await refused(v.verify(await signToken(k1, claims({ exp: undefined }))), 'malformed');
  });

  test('alg none is refused even when the config lists it', async () => {
    const enc = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
    const unsigned = `${enc({ alg: 'none', typ: 'JWT' })}.${enc(claims())}.`;
    assert.ok(looksLikeJwt(unsigned));
    await refused(v.verify(unsigned), 'alg-not-allowed');
  });

  test('HS256 signed with the public key as the secret is refused (algorithm confusion)', async () => {
    const pem = await exportSPKI(await importJWK(k1.publicJwk, 'RS256', { extractable: true }) as CryptoKey);
    const jwkSecret = new TextEncoder().encode(JSON.stringify(k1.publicJwk));
    for (const secret of [new TextEncoder().encode(pem), jwkSecret]) {
      const forged = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).sign(secret);
      await refused(v.verify(forged), 'alg-not-allowed');
    }
  });

  test('an algorithm outside the issuer list is refused', async () => {
    const strict = new OidcVerifier(issuers({ issuer: keys.issuer, jwks_url: keys.jwksUrl, audience: 'scopegate', algorithms: ['ES256'] }));
    await strict.init();
    await refused(strict.verify(await signToken(k1, claims())), 'alg-not-allowed');
  });

  test('an unknown kid, and a key with a known kid that is not the published one', async () => {
    await refused(v.verify(await signToken(k1, claims(), { kid: 'nope' })), 'unknown-key');
    await refused(v.verify(await signToken(attacker, claims())), 'bad-signature');
  });

  test('a tampered signature', async () => {
    const [h, p] = (await signToken(k1, claims())).split('.');
    const [, , s] = (await signToken(k1, claims({ sub: 'someone-else' }))).split('.');
    await refused(v.verify(`${h}.${p}.${s}`), 'bad-signature');
  });

  test('missing groups when the issuer requires them (absent or empty)', async () => {
    await refused(v.verify(await signToken(k1, claims({ groups: undefined }))), 'missing-groups');
    await refused(v.verify(await signToken(k1, claims({ groups: [] }))), 'missing-groups');
  });

  test('malformed input', async () => {
    for (const bad of ['', 'not-a-jwt', 'a.b', 'eyJhbGciOiJSUzI1NiJ9.%%%.x', `${'A'.repeat(20_000)}.b.c`, 'eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln']) {
      await refused(v.verify(bad), 'malformed');
    }
  });

  test('looksLikeJwt tells JWTs from static tokens', () => {
    assert.equal(looksLikeJwt('sgt_' + randomBytes(32).toString('base64url')), false);
    assert.equal(looksLikeJwt('hunter2'), false);
    assert.equal(looksLikeJwt('a.b.c'), false, 'the header must be JSON with alg');
  });
});

describe('key rotation and refetch rate limiting', () => {
  const claims = (): Record<string, unknown> => ({ iss: keys.issuer, aud: 'scopegate', sub: 'rot', iat: sec(Date.now()), exp: sec(Date.now()) + 300 });
  const config = (): OidcIssuerConfig[] => issuers({ issuer: keys.issuer, jwks_url: keys.jwksUrl, audience: 'scopegate' });

  test('a token signed with a newly published key verifies without a restart', async () => {
    keys.setKeys([k1]);
    const v = new OidcVerifier(config(), { jwksCooldownMs: 0 });
    await v.init();
    await v.verify(await signToken(k1, claims()));
    keys.setKeys([k2]); // the IdP rotates: k1 retired, k2 (ES256) published
    await v.verify(await signToken(k2, claims()));
  });

  test('a flood of unknown kids triggers at most one refetch per cooldown', async () => {
    keys.setKeys([k1]);
    const v = new OidcVerifier(config()); // default cooldown: 30 s
    await v.init();
    const before = keys.requests;
    const bogus = await Promise.all(Array.from({ length: 50 }, (_, i) => signToken(k1, claims(), { kid: `bogus-${i}` })));
    for (const t of bogus) await refused(v.verify(t), 'unknown-key');
    await Promise.all(bogus.map((t) => refused(v.verify(t), 'unknown-key')));
    assert.ok(keys.requests - before <= 1, `JWKS fetched ${keys.requests - before} times for 100 bogus kids`);
    await v.verify(await signToken(k1, claims())); // the known key still works
  });
});

describe('issuer setup', () => {
  test('plain-http key URLs are refused off loopback, before any request', async () => {
    let fetched = 0;
    const v = new OidcVerifier(issuers({ issuer: 'https://idp.example/', jwks_url: 'http://idp.example/jwks', audience: 'x' }), {
      fetch: (async () => {
        fetched++;
        throw new Error('no network in tests');
      }) as typeof fetch,
    });
    await assert.rejects(v.init(), /must use https/);
    assert.equal(fetched, 0);
  });

  test('a discovery document naming another issuer is refused', async () => {
    const fake = (async () => Response.json({ issuer: 'https://other.example/', jwks_uri: keys.jwksUrl })) as typeof fetch;
    const v = new OidcVerifier(issuers({ issuer: 'https://idp.example/', audience: 'x' }), { fetch: fake });
    await assert.rejects(v.init(), /names issuer "https:\/\/other\.example\/"/);
  });

  test('an issuer that was down at init is retried on use, at most once per cooldown', async () => {
    let up = false;
    let calls = 0;
    const flaky = (async (url: string | URL | Request, init?: RequestInit) => {
      calls++;
      if (!up) throw new Error('connection refused');
      return fetch(url, init);
    }) as typeof fetch;
    let t = Date.now();
    const v = new OidcVerifier(issuers({ issuer: keys.issuer, jwks_url: keys.jwksUrl, audience: 'scopegate' }), { fetch: flaky, now: () => t });
    await assert.rejects(v.init(), (e: unknown) => e instanceof OidcError && e.reason === 'unavailable');
    keys.setKeys([k1]);
    const token = await signToken(k1, { iss: keys.issuer, aud: 'scopegate', sub: 's', exp: sec(Date.now()) + 300 });
    await refused(v.verify(token), 'unavailable'); // within the cooldown: no new attempt
    assert.equal(calls, 1);
    up = true;
    t += 31_000;
    await v.verify(token);
  });

  test('the same issuer twice, or only forbidden algorithms, is a config error', () => {
    const one = { issuer: keys.issuer, audience: 'x' };
    assert.throws(() => new OidcVerifier(issuers(one, one)), /configured twice/);
    assert.throws(() => new OidcVerifier(issuers({ ...one, algorithms: ['HS256', 'none'] })), /no usable algorithm/);
  });
});
