// Review and grant ids: a prefix and 10 random base32 characters (50 bits), url-safe, e.g. rv_k3j9x2mq7a.
import { randomBytes } from 'node:crypto';

const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';

export type IdKind = 'rv' | 'gr';

export function newId(kind: IdKind): string {
  const bytes = randomBytes(10);
  let out = `${kind}_`;
  for (const b of bytes) out += alphabet[b & 31];
  return out;
}

/** Ids as they appear in URLs and commands; anything else is not an id. */
export const idPattern = /^(rv|gr)_[a-z2-7]{10}$/;
