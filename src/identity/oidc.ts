// OIDC / JWT identities: issuer discovery, cached JWKS (jose), strict token checks.
//
// A token is matched to one configured issuer by its (unverified) `iss`, then
// verified against that issuer's keys and settings only. Keys are fetched at
// init and cached; an unknown `kid` triggers at most one refetch per cooldown
// (jose's createRemoteJWKSet), so bogus kids cannot make us hammer the IdP, and
// rotated keys are picked up without a restart.
import { createRemoteJWKSet, customFetch, decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type RemoteJWKSet } from 'jose';
import type { OidcIssuerConfig } from '../config/schema.ts';
import type { Identity } from '../policy/types.ts';
import { MAX_JWT_BYTES, OidcError, checkKeyUrl, identityFrom, isForbiddenAlg, looksLikeJwt } from './oidc-claims.ts';

export { OidcError, looksLikeJwt, type OidcFailure } from './oidc-claims.ts';

export interface OidcVerified {
  identity: Identity;
  /** When the token expires (ms since the epoch): end the session then (plus identities.session_grace_s). */
  expiresAt: number;
}

export interface OidcDeps {
  now?: () => number;
  fetch?: typeof fetch;
  log?: (msg: string, extra?: Record<string, unknown>) => void;
  /** Minimum time between key refetches triggered by unknown kids (default 30 s). */
  jwksCooldownMs?: number;
  /** Keys are refetched when older than this (default 10 min). */
  jwksMaxAgeMs?: number;
  /** HTTP timeout for discovery and JWKS requests (default 5 s). */
  httpTimeoutMs?: number;
}

interface IssuerState {
  cfg: OidcIssuerConfig;
  algorithms: string[];
  audience: string[];
  jwks?: RemoteJWKSet;
  setup?: Promise<void>;
  lastAttempt: number;
}

export class OidcVerifier {
  private readonly issuers = new Map<string, IssuerState>();
  private readonly now: () => number;
  private readonly log: (msg: string, extra?: Record<string, unknown>) => void;
  private closed = false;

  constructor(issuers: OidcIssuerConfig[], private readonly deps: OidcDeps = {}) {
    this.now = deps.now ?? Date.now;
    this.log = deps.log ?? (() => undefined);
    for (const cfg of issuers) {
      if (this.issuers.has(cfg.issuer)) throw new Error(`identities.oidc: issuer ${cfg.issuer} is configured twice`);
      const dropped = cfg.algorithms.filter(isForbiddenAlg);
      if (dropped.length > 0) this.log('oidc: ignoring forbidden algorithms (none / HMAC)', { issuer: cfg.issuer, algorithms: dropped });
      const algorithms = cfg.algorithms.filter((a) => !isForbiddenAlg(a));
      if (algorithms.length === 0) throw new Error(`identities.oidc: issuer ${cfg.issuer} allows no usable algorithm`);
      const audience = Array.isArray(cfg.audience) ? cfg.audience : [cfg.audience];
      this.issuers.set(cfg.issuer, { cfg, algorithms, audience, lastAttempt: -Infinity });
    }
  }

  /** Discovery and the first key fetch for every issuer. Rejects if any issuer is unreachable (verify() retries later). */
  async init(): Promise<void> {
    const results = await Promise.allSettled([...this.issuers.values()].map((s) => this.setUp(s)));
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${[...this.issuers.keys()][i]}: ${(r.reason as Error).message}`] : []));
    if (failed.length > 0) throw new OidcError('unavailable', `scopegate: OIDC issuer setup failed: ${failed.join('; ')}`);
  }

  async verify(jwt: string): Promise<OidcVerified> {
    if (this.closed) throw new OidcError('unavailable', 'scopegate: OIDC verification is shut down');
    if (jwt.length > MAX_JWT_BYTES || !looksLikeJwt(jwt)) throw malformed();
    let alg: string;
    let iss: unknown;
    try {
      alg = String(decodeProtectedHeader(jwt).alg ?? '');
      iss = decodeJwt(jwt).iss;
    } catch {
      throw malformed();
    }
    const state = typeof iss === 'string' ? this.issuers.get(iss) : undefined;
    if (!state) throw new OidcError('wrong-issuer', `scopegate: tokens from issuer ${printable(iss)} are not accepted here`);
    if (!state.algorithms.includes(alg)) {
      throw new OidcError('alg-not-allowed', `scopegate: token signing algorithm ${printable(alg)} is not allowed (allowed: ${state.algorithms.join(', ')})`);
    }
    const jwks = await this.keysFor(state);
    const skew = state.cfg.clock_skew_s;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(jwt, jwks, {
        issuer: state.cfg.issuer,
        audience: state.audience,
        algorithms: state.algorithms,
        clockTolerance: skew,
        currentDate: new Date(this.now()),
        requiredClaims: ['exp'],
      }));
    } catch (err) {
      throw this.translate(err, state);
    }
    if (typeof payload.iat === 'number' && payload.iat > this.now() / 1000 + skew) {
      throw new OidcError('not-yet-valid', 'scopegate: the token was issued in the future (check the clocks of the gateway and the identity provider)');
    }
    return { identity: identityFrom(payload as Record<string, unknown>, state.cfg), expiresAt: (payload.exp as number) * 1000 };
  }

  close(): void {
    this.closed = true;
    for (const s of this.issuers.values()) s.jwks = undefined;
  }

  /** The issuer's key set; sets it up again (at most once per cooldown) if init failed for it. */
  private async keysFor(state: IssuerState): Promise<RemoteJWKSet> {
    if (!state.jwks) {
      if (!state.setup && this.now() - state.lastAttempt >= (this.deps.jwksCooldownMs ?? 30_000)) {
        this.setUp(state).catch(() => undefined);
      }
      await state.setup?.catch(() => undefined);
    }
    if (!state.jwks) throw new OidcError('unavailable', "scopegate: the identity provider's keys are not available right now; try again shortly");
    return state.jwks;
  }

  private setUp(state: IssuerState): Promise<void> {
    if (state.setup) return state.setup;
    state.lastAttempt = this.now();
    const attempt = this.loadKeys(state).finally(() => {
      if (state.setup === attempt) state.setup = undefined;
    });
    state.setup = attempt;
    return attempt;
  }

  private async loadKeys(state: IssuerState): Promise<void> {
    try {
      const jwksUrl = state.cfg.jwks_url ?? (await this.discover(state.cfg.issuer));
      const jwks = createRemoteJWKSet(checkKeyUrl(jwksUrl, 'the JWKS URL'), {
        cooldownDuration: this.deps.jwksCooldownMs ?? 30_000,
        cacheMaxAge: this.deps.jwksMaxAgeMs ?? 600_000,
        timeoutDuration: this.deps.httpTimeoutMs ?? 5_000,
        ...(this.deps.fetch ? { [customFetch]: this.deps.fetch } : {}),
      });
      await jwks.reload();
      state.jwks = jwks;
      this.log('oidc: issuer ready', { issuer: state.cfg.issuer, jwks: jwksUrl, keys: jwks.jwks()?.keys.length ?? 0 });
    } catch (err) {
      this.log('oidc: issuer setup failed', { issuer: state.cfg.issuer, error: (err as Error).message });
      throw err;
    }
  }

  /** OpenID Connect discovery: the jwks_uri of an issuer whose metadata names exactly that issuer. */
  private async discover(issuer: string): Promise<string> {
    const url = checkKeyUrl(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`, 'the discovery URL');
    const res = await (this.deps.fetch ?? fetch)(url, {
      redirect: 'error',
      signal: AbortSignal.timeout(this.deps.httpTimeoutMs ?? 5_000),
      headers: { accept: 'application/json' },
    });
    if (!res.ok) throw new Error(`discovery returned HTTP ${res.status}`);
    const meta = (await res.json()) as { issuer?: unknown; jwks_uri?: unknown };
    if (meta.issuer !== issuer) throw new Error(`discovery document names issuer ${printable(meta.issuer)}, not ${issuer}`);
    if (typeof meta.jwks_uri !== 'string') throw new Error('discovery document has no jwks_uri');
    return meta.jwks_uri;
  }

  private translate(err: unknown, state: IssuerState): OidcError {
    if (err instanceof OidcError) return err;
    const e = err as { code?: string; claim?: string; message?: string };
    this.log('oidc: token refused', { issuer: state.cfg.issuer, code: e.code, claim: e.claim, error: e.message });
    switch (e.code) {
      case errors.JWTExpired.code:
        return new OidcError('expired', 'scopegate: the token has expired; get a new one from the identity provider');
      case errors.JWTClaimValidationFailed.code:
        if (e.claim === 'aud') return new OidcError('wrong-audience', 'scopegate: the token is not meant for this gateway (audience mismatch)');
        if (e.claim === 'iss') return new OidcError('wrong-issuer', 'scopegate: the token issuer does not match');
        if (e.claim === 'nbf') return new OidcError('not-yet-valid', 'scopegate: the token is not valid yet (nbf is in the future)');
        return new OidcError('malformed', `scopegate: the token's "${printable(e.claim)}" claim is missing or invalid`);
      case errors.JOSEAlgNotAllowed.code:
        return new OidcError('alg-not-allowed', 'scopegate: the token signing algorithm is not allowed');
      case errors.JWKSNoMatchingKey.code:
      case errors.JWKSMultipleMatchingKeys.code:
        return new OidcError('unknown-key', 'scopegate: the token was signed with a key the issuer does not publish');
      case errors.JWSSignatureVerificationFailed.code:
        return new OidcError('bad-signature', 'scopegate: the token signature is invalid');
      case errors.JWSInvalid.code:
      case errors.JWTInvalid.code:
      case errors.JOSENotSupported.code:
        return malformed();
      default:
        // JWKS timeouts, HTTP failures and anything unexpected: not the client's fault, and no detail for it.
        return new OidcError('unavailable', "scopegate: the identity provider's keys could not be checked right now; try again shortly");
    }
  }
}

function malformed(): OidcError {
  return new OidcError('malformed', 'scopegate: the password is not a well-formed JWT');
}

/** A client-supplied value made safe to echo in a message. */
function printable(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v) ?? 'undefined';
  return JSON.stringify(s.replace(/[^\x20-\x7e]/g, '?').slice(0, 120));
}
