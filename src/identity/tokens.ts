// Static service tokens: only their SHA-256 is stored; comparison is constant-time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { TokenIdentityConfig } from '../config/schema.ts';
import type { Identity } from '../policy/types.ts';

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export function newToken(): string {
  return `sgt_${randomBytes(32).toString('base64url')}`;
}

export class TokenDirectory {
  private readonly byHash: { hash: Buffer; identity: TokenIdentityConfig }[];

  constructor(tokens: TokenIdentityConfig[]) {
    this.byHash = tokens.map((t) => ({ hash: Buffer.from(t.sha256, 'hex'), identity: t }));
  }

  /** The identity whose token this is, or null. Every entry is compared so timing does not reveal which one matched. */
  authenticate(token: string): Identity | null {
    const digest = createHash('sha256').update(token, 'utf8').digest();
    let found: TokenIdentityConfig | null = null;
    for (const entry of this.byHash) {
      if (timingSafeEqual(entry.hash, digest)) found = entry.identity;
    }
    return found ? { name: found.name, groups: [...found.groups], method: 'token' } : null;
  }
}
