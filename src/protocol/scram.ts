// Client side of SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL uses it:
// gs2 header "n,," (no channel binding) and an empty user name in the
// client-first message (the server takes the user from the startup packet).
// Also the legacy md5 password hash.
//
// SASLprep (RFC 4013) is approximated: non-ASCII spaces become U+0020,
// "mapped to nothing" characters are removed, then NFKC normalisation. The
// prohibited-output and bidi checks are not done; PostgreSQL uses the raw
// password when those fail, so only such unusual passwords may differ.

import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { ProtocolError } from './types.ts';

export const SCRAM_SHA_256 = 'SCRAM-SHA-256';
const GS2_HEADER = 'n,,';

const NON_ASCII_SPACE = /[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/g;
const MAPPED_TO_NOTHING = /[\u00AD\u034F\u1806\u180B-\u180D\u200C\u200D\u2060\uFE00-\uFE0F\uFEFF]/g;

/** Approximate SASLprep; ASCII-only passwords are returned unchanged. */
export function saslprep(password: string): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(password)) return password;
  return password.replace(NON_ASCII_SPACE, ' ').replace(MAPPED_TO_NOTHING, '').normalize('NFKC');
}

const hmac = (key: Buffer, data: string | Buffer): Buffer => createHmac('sha256', key).update(data).digest();
const sha256 = (data: Buffer): Buffer => createHash('sha256').update(data).digest();

function fail(reason: string): never {
  throw new ProtocolError(`SCRAM authentication failed: ${reason}`, '28P01');
}

/** Parses "a=1,b=2" SCRAM attributes; values may contain '=' but not ','. */
function attributes(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of message.split(',')) {
    if (part.length < 2 || part[1] !== '=') fail(`malformed attribute ${JSON.stringify(part.slice(0, 20))}`);
    out.set(part[0], part.slice(2));
  }
  return out;
}

/**
 * SaltedPassword (RFC 5802: PBKDF2 over the password, 4096 rounds by
 * default) per password, salt and iteration count. PostgreSQL keeps a
 * role's salt until its password changes, so every upstream connection of a
 * role after the first skips the rounds: about 3 ms of CPU each on the
 * machine the benchmark runs on. Misses are derived on the thread pool, not
 * on the event loop other sessions share. The derived key is worth no more
 * than the password the gateway already holds; entries are keyed by a hash
 * of the password, not the password, and the oldest are forgotten first.
 */
class SaltedPasswords {
  private readonly keys = new Map<string, Buffer | Promise<Buffer>>();

  constructor(private readonly capacity: number) {}

  get(password: string, salt: Buffer, iterations: number): Promise<Buffer> {
    const key = this.key(password, salt, iterations);
    const hit = this.keys.get(key);
    if (hit !== undefined) return Promise.resolve(hit);
    const derived = new Promise<Buffer>((resolve, reject) =>
      pbkdf2(password, salt, iterations, 32, 'sha256', (err, out) => (err ? reject(err) : resolve(out))),
    );
    this.set(key, derived);
    // Settled: keep the key itself, or forget a failed derivation (unless a newer entry took its place).
    derived.then(
      (out) => {
        if (this.keys.get(key) === derived) this.keys.set(key, out);
      },
      () => {
        if (this.keys.get(key) === derived) this.keys.delete(key);
      },
    );
    return derived;
  }

  /** A SaltedPassword derived elsewhere (a session role's verifier), for the login that follows. */
  remember(password: string, salt: Buffer, iterations: number, salted: Buffer): void {
    this.set(this.key(password, salt, iterations), salted);
  }

  private set(key: string, value: Buffer | Promise<Buffer>): void {
    this.keys.delete(key);
    if (this.keys.size >= this.capacity) this.keys.delete(this.keys.keys().next().value as string);
    this.keys.set(key, value);
  }

  private key(password: string, salt: Buffer, iterations: number): string {
    return `${iterations}:${salt.toString('base64')}:${createHash('sha256').update(password).digest('base64')}`;
  }
}

export const saltedPasswords = new SaltedPasswords(256);

export class ScramClient {
  readonly nonce: string;
  private readonly clientFirstBare: string;
  private expectedServerSignature: Buffer | null = null;

  /**
   * @param nonce client nonce (printable ASCII, no ','); random by default — fixed only in tests.
   * @param username sent in the client-first message; PostgreSQL ignores it, so it defaults to ''.
   */
  constructor(
    private readonly password: string,
    nonce?: string,
    username = '',
  ) {
    this.nonce = nonce ?? randomBytes(18).toString('base64');
    if (!/^[\x21-\x2b\x2d-\x7e]+$/.test(this.nonce)) throw new TypeError('SCRAM nonce must be printable ASCII without ","');
    const user = username.replaceAll('=', '=3D').replaceAll(',', '=2C');
    this.clientFirstBare = `n=${user},r=${this.nonce}`;
  }

  /** Goes in SASLInitialResponse. */
  clientFirstMessage(): string {
    return GS2_HEADER + this.clientFirstBare;
  }

  /** Takes the AuthenticationSASLContinue data; resolves to the client-final message for SASLResponse. */
  async handleServerFirst(serverFirst: string): Promise<string> {
    if (this.expectedServerSignature) fail('server-first message received twice');
    const attrs = attributes(serverFirst);
    if (attrs.has('m')) fail('mandatory extension not supported');
    const nonce = attrs.get('r');
    const salt = attrs.get('s');
    const iterations = attrs.get('i');
    if (nonce === undefined || salt === undefined || iterations === undefined) fail('server-first message lacks r, s or i');
    if (!nonce.startsWith(this.nonce) || nonce.length === this.nonce.length) fail('server nonce does not extend the client nonce');
    if (!/^[1-9][0-9]{0,9}$/.test(iterations)) fail(`invalid iteration count ${JSON.stringify(iterations)}`);
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(salt)) fail('salt is not base64');

    const salted = await saltedPasswords.get(saslprep(this.password), Buffer.from(salt, 'base64'), Number(iterations));
    const clientKey = hmac(salted, 'Client Key');
    const storedKey = sha256(clientKey);
    const withoutProof = `c=${Buffer.from(GS2_HEADER).toString('base64')},r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const clientSignature = hmac(storedKey, authMessage);
    const proof = Buffer.allocUnsafe(clientKey.length);
    for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i] ^ clientSignature[i];
    this.expectedServerSignature = hmac(hmac(salted, 'Server Key'), authMessage);
    return `${withoutProof},p=${proof.toString('base64')}`;
  }

  /** Takes the AuthenticationSASLFinal data; throws unless the server proved it knows the password. */
  verifyServerFinal(serverFinal: string): void {
    const expected = this.expectedServerSignature;
    if (!expected) fail('server-final message before server-first');
    const attrs = attributes(serverFinal);
    const error = attrs.get('e');
    if (error !== undefined) fail(`server reported ${error}`);
    const verifier = attrs.get('v');
    if (verifier === undefined) fail('server-final message lacks v');
    const got = Buffer.from(verifier, 'base64');
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) fail('server signature mismatch');
  }
}

/** The md5 auth response: "md5" + md5hex(md5hex(password + user) + salt). */
export function md5PasswordHash(user: string, password: string, salt: Buffer): string {
  const inner = createHash('md5').update(password + user, 'utf8').digest('hex');
  return 'md5' + createHash('md5').update(inner, 'utf8').update(salt).digest('hex');
}
