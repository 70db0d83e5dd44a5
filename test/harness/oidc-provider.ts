// Identity providers on loopback for the OIDC tests:
// - a real OpenID provider (oidc-provider) issuing JWT access tokens through the
//   client-credentials grant, reached over HTTP like any IdP;
// - a bare JWKS server with keys we hold, for tokens no honest provider issues
//   (wrong audience, alg none, HS256 with the public key, unknown kid, …).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import Provider from 'oidc-provider';

async function listen(handler: http.RequestListener): Promise<{ server: http.Server; base: string }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function close(server: http.Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

export interface TestKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  privateJwk: JWK;
}

export async function newKey(kid: string, alg = 'RS256'): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk, privateJwk };
}

/** Signs claims with key; header fields (kid, alg) can be overridden to forge mismatches. */
export function signToken(key: TestKey, claims: JWTPayload, header: { kid?: string | null; alg?: string } = {}): Promise<string> {
  const kid = header.kid === null ? undefined : header.kid ?? key.kid;
  return new SignJWT(claims).setProtectedHeader({ alg: header.alg ?? key.alg, ...(kid ? { kid } : {}), typ: 'JWT' }).sign(key.privateKey);
}

export interface JwksServer {
  /** A made-up issuer identifier served by this host (no discovery document). */
  issuer: string;
  jwksUrl: string;
  /** How many times the JWKS was fetched. */
  requests: number;
  setKeys(keys: TestKey[]): void;
  close(): Promise<void>;
}

export async function startJwksServer(keys: TestKey[]): Promise<JwksServer> {
  let current = keys;
  const state = { requests: 0 };
  const { server, base } = await listen((req, res) => {
    if (req.url !== '/jwks') {
      res.writeHead(404).end();
      return;
    }
    state.requests++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: current.map((k) => k.publicJwk) }));
  });
  return {
    issuer: `${base}/realms/test`,
    jwksUrl: `${base}/jwks`,
    get requests() {
      return state.requests;
    },
    setKeys(k) {
      current = k;
    },
    close: () => close(server),
  };
}

export interface ProviderClient {
  id: string;
  secret: string;
  /** Extra claims put into this client's access tokens (e.g. groups). */
  claims: Record<string, unknown>;
}

export interface OidcTestProvider {
  issuer: string;
  /** Client-credentials grant over HTTP; returns the JWT access token. */
  token(clientId: string): Promise<string>;
  /** Requests for the provider's JWKS. */
  jwksRequests: number;
  close(): Promise<void>;
}

export async function startOidcProvider(opts: { audience: string; accessTokenTTL?: number; clients: ProviderClient[] }): Promise<OidcTestProvider> {
  const state = { jwksRequests: 0, handler: null as http.RequestListener | null };
  const { server, base } = await listen((req, res) => {
    if (req.url?.startsWith('/jwks')) state.jwksRequests++;
    state.handler?.(req, res);
  });
  const signing = await newKey('provider-rs256');
  const byId = new Map(opts.clients.map((c) => [c.id, c]));
  const provider = new Provider(base, {
    clients: opts.clients.map((c) => ({
      client_id: c.id,
      client_secret: c.secret,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
    })),
    jwks: { keys: [signing.privateJwk as never] },
    scopes: ['db'],
    ttl: { ClientCredentials: opts.accessTokenTTL ?? 300 },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => opts.audience,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: 'db',
          audience: opts.audience,
          accessTokenFormat: 'jwt',
          accessTokenTTL: opts.accessTokenTTL ?? 300,
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    extraTokenClaims: (_ctx, token) => ('clientId' in token && token.clientId ? byId.get(token.clientId)?.claims : undefined),
  });
  state.handler = provider.callback();
  const secrets = new Map(opts.clients.map((c) => [c.id, c.secret]));
  return {
    issuer: base,
    async token(clientId) {
      const res = await fetch(`${base}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${clientId}:${secrets.get(clientId)}`).toString('base64')}`,
        },
        body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'db' }),
      });
      const body = (await res.json()) as { access_token?: string; error?: string; error_description?: string };
      if (!res.ok || !body.access_token) throw new Error(`token request failed: ${res.status} ${body.error} ${body.error_description}`);
      return body.access_token;
    },
    get jwksRequests() {
      return state.jwksRequests;
    },
    close: () => close(server),
  };
}
