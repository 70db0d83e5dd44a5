// Pure pieces of OIDC verification: the error type, the JWT shape test, and
// turning a verified claims set into an Identity.
import type { OidcIssuerConfig } from '../config/schema.ts';
import type { Identity } from '../policy/types.ts';

export type OidcFailure =
  | 'expired'
  | 'not-yet-valid'
  | 'wrong-issuer'
  | 'wrong-audience'
  | 'alg-not-allowed'
  | 'unknown-key'
  | 'bad-signature'
  | 'missing-groups'
  | 'malformed'
  /** The issuer's keys could not be fetched (IdP down, timeout): not the token's fault. */
  | 'unavailable';

/** A refused token. The message is safe to show the client: it never contains key material or the token. */
export class OidcError extends Error {
  constructor(readonly reason: OidcFailure, message: string) {
    super(message);
    this.name = 'OidcError';
  }
}

/** Tokens longer than this are refused before any parsing. */
export const MAX_JWT_BYTES = 16 * 1024;

const segment = /^[A-Za-z0-9_-]+$/;

/**
 * True when a password has the shape of a compact JWS (header.payload.signature,
 * base64url, a JSON header with "alg"): the gateway then verifies it as an OIDC
 * token instead of looking it up as a static token. Static tokens (`sgt_…`) have no dots.
 */
export function looksLikeJwt(password: string): boolean {
  if (password.length > MAX_JWT_BYTES) return false;
  const parts = password.split('.');
  if (parts.length !== 3 || !segment.test(parts[0]) || !segment.test(parts[1])) return false;
  if (parts[2] !== '' && !segment.test(parts[2])) return false;
  try {
    const header: unknown = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    return typeof header === 'object' && header !== null && typeof (header as { alg?: unknown }).alg === 'string';
  } catch {
    return false;
  }
}

/** Algorithms never accepted, whatever the config says: unsigned tokens and HMAC (public-key-as-secret confusion). */
export function isForbiddenAlg(alg: string): boolean {
  return alg.toLowerCase() === 'none' || /^HS\d+$/i.test(alg);
}

/**
 * A claim by dot path ("realm_access.roles"). A top-level claim whose name itself
 * contains dots ("https://example.com/groups") is found first.
 */
export function claimAt(claims: Record<string, unknown>, path: string): unknown {
  if (Object.hasOwn(claims, path)) return claims[path];
  let node: unknown = claims;
  for (const key of path.split('.')) {
    if (typeof node !== 'object' || node === null || Array.isArray(node) || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** Groups from the configured claim: a string or an array of strings (other entries are ignored). */
export function groupsFrom(claims: Record<string, unknown>, cfg: OidcIssuerConfig): string[] {
  const value = claimAt(claims, cfg.groups_claim);
  const groups = typeof value === 'string' ? [value] : Array.isArray(value) ? value.filter((g): g is string => typeof g === 'string') : [];
  if (cfg.require_groups && groups.length === 0) {
    throw new OidcError('missing-groups', `scopegate: the token has no groups in claim "${cfg.groups_claim}", which this issuer requires`);
  }
  return groups;
}

/** The identity a verified claims set stands for. */
export function identityFrom(claims: Record<string, unknown>, cfg: OidcIssuerConfig): Identity {
  const raw = claimAt(claims, cfg.name_claim);
  if ((typeof raw !== 'string' || raw === '') && typeof raw !== 'number') {
    throw new OidcError('malformed', `scopegate: the token has no "${cfg.name_claim}" claim to name the identity`);
  }
  const value = String(raw);
  const name = cfg.name_map && Object.hasOwn(cfg.name_map, value) ? cfg.name_map[value] : value;
  return { name, groups: groupsFrom(claims, cfg), method: 'oidc', claims };
}

/** Issuer and JWKS URLs must be https, except on loopback (tests, sidecars). */
export function checkKeyUrl(url: string, what: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new OidcError('unavailable', `scopegate: ${what} ${url} is not a URL`);
  }
  const loopback = ['127.0.0.1', '[::1]', 'localhost'].includes(u.hostname);
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && loopback)) {
    throw new OidcError('unavailable', `scopegate: ${what} ${url} must use https (plain http is accepted on loopback only)`);
  }
  return u;
}
