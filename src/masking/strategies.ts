// Masking strategies: what a sensitive value becomes before it leaves the gateway.
//
// maskText works on the value as a string; maskField wraps it so that the
// bytes sent to the client stay valid for the column's type and format. A value
// that cannot be masked in a type-correct way becomes SQL NULL: the gateway
// never falls back to the raw value.

import { createHmac } from 'node:crypto';
import { scrubText, type Detector } from './detectors.ts';
import { emailAscii, emailAsciiInto, last4Ascii, last4AsciiInto } from './ascii-fast.ts';
import type { FormatCode } from '../protocol/types.ts';

export type MaskStrategy = 'redact' | 'null' | 'last4' | 'email' | 'hash';

export const maskStrategies: readonly MaskStrategy[] = ['redact', 'null', 'last4', 'email', 'hash'];

export function isMaskStrategy(name: string): name is MaskStrategy {
  return (maskStrategies as readonly string[]).includes(name);
}

/** The placeholder that `redact` (and `email` on a non-email) produces. */
export const REDACTED = '[redacted]';

/** A masking strategy, or content detectors that mask only what they recognise inside free text. */
export type MaskRule = MaskStrategy | { detect: readonly Detector[] };

/** Types whose text and binary representations are both the raw UTF-8 string. */
export const textLikeTypeOids: ReadonlySet<number> = new Set([
  25, // text
  1043, // varchar
  1042, // bpchar
  19, // name
  705, // unknown
]);

const JSON_OID = 114;
const JSONB_OID = 3802;
const JSONB_VERSION = 1;

/**
 * Masks one value. Returns null for the `null` strategy (SQL NULL).
 * `hashKey` is only used by `hash` and must not be empty there.
 */
export function maskText(strategy: MaskStrategy, value: string, hashKey: Buffer): string | null {
  switch (strategy) {
    case 'redact':
      return REDACTED;
    case 'null':
      return null;
    case 'last4':
      return keepLast4(value);
    case 'email':
      return maskEmail(value);
    case 'hash':
      return keyedHash(value, hashKey);
  }
}

/**
 * Masks one field as it travels on the wire (`value` is never SQL NULL here;
 * callers keep NULL as NULL). Returns the new field bytes, or null for SQL NULL.
 */
export function maskField(
  strategy: MaskRule,
  value: Buffer,
  typeOid: number,
  format: FormatCode,
  hashKey: Buffer,
): Buffer | null {
  if (typeof strategy === 'object') return detectField(strategy.detect, value, typeOid, format);
  if (strategy === 'null') return null;
  if (textLikeTypeOids.has(typeOid)) {
    const fast = strategy === 'last4' ? last4Ascii(value) : strategy === 'email' ? emailAscii(value) : undefined;
    if (fast !== undefined) return fast;
    const masked = maskText(strategy, value.toString('utf8'), hashKey);
    return masked === null ? null : Buffer.from(masked, 'utf8');
  }
  if (typeOid === JSON_OID || typeOid === JSONB_OID) {
    const binaryJsonb = typeOid === JSONB_OID && format === 1;
    const text = (binaryJsonb ? value.subarray(1) : value).toString('utf8');
    const masked = maskText(strategy, jsonScalarText(text), hashKey);
    if (masked === null) return null;
    const literal = JSON.stringify(masked);
    if (!binaryJsonb) return Buffer.from(literal, 'utf8');
    const out = Buffer.allocUnsafe(1 + Buffer.byteLength(literal, 'utf8'));
    out[0] = JSONB_VERSION;
    out.write(literal, 1, 'utf8');
    return out;
  }
  // Numbers, dates, bytea, arrays, records, unknown types: no representation of
  // a masked string is valid for them, so the client gets NULL.
  return null;
}

/** A JSON string literal is masked by its content; anything else by its text. */
function jsonScalarText(text: string): string {
  const trimmed = text.trim();
  if (trimmed.startsWith('"')) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      if (typeof parsed === 'string') return parsed;
    } catch {
      // not valid JSON: mask the text as it is
    }
  }
  return trimmed;
}

// ------------------------------------------------------------------ last4

const NON_ASCII_ALNUM = /^[\p{L}\p{N}]$/u;

function isAlnum(ch: string): boolean {
  const c = ch.charCodeAt(0);
  if (c < 128) return (c >= 48 && c <= 57) || ((c | 32) >= 97 && (c | 32) <= 122);
  return NON_ASCII_ALNUM.test(ch);
}

/** Keeps the last 4 letters/digits and punctuation; every other letter/digit becomes '*'. */
function keepLast4(value: string): string {
  let total = 0;
  for (const ch of value) if (isAlnum(ch)) total++;
  // With 4 or fewer, keeping them would keep the whole value.
  const keepFrom = total > 4 ? total - 4 : total;
  let out = '';
  let seen = 0;
  for (const ch of value) {
    if (!isAlnum(ch)) {
      out += ch;
    } else {
      out += seen < keepFrom ? '*' : ch;
      seen++;
    }
  }
  return out;
}

// ------------------------------------------------------------------ email

const LABEL = '[\\p{L}\\p{N}](?:[\\p{L}\\p{N}-]*[\\p{L}\\p{N}])?';
const EMAIL = new RegExp(`^([^\\s@]+)@(${LABEL}(?:\\.${LABEL})*)$`, 'u');

/** 'john.smith@example.net' → 'j***@example.net'; anything else → '[redacted]'. */
function maskEmail(value: string): string {
  const m = EMAIL.exec(value.trim());
  if (m === null) return REDACTED;
  const local = m[1];
  const first = String.fromCodePoint(local.codePointAt(0) ?? 0x2a);
  return `${first}***@${m[2]}`;
}

// ------------------------------------------------------------------ hash

/** 'h:' + the first 16 hex digits of HMAC-SHA256(key, value): joins and groups still work. */
function keyedHash(value: string, hashKey: Buffer): string {
  if (hashKey.length === 0) {
    // An unkeyed hash of a 9-digit SSN is reversible by brute force.
    throw new Error('masking: the hash strategy needs a non-empty key');
  }
  return 'h:' + createHmac('sha256', hashKey).update(value, 'utf8').digest('hex').slice(0, 16);
}

/**
 * Content detectors: free text (and JSON text) keeps its shape with matched
 * substrings masked in place. Other types carry no free text and pass as they are.
 */
function detectField(detectors: readonly Detector[], value: Buffer, typeOid: number, format: FormatCode): Buffer {
  const binaryJsonb = typeOid === JSONB_OID && format === 1;
  if (!textLikeTypeOids.has(typeOid) && typeOid !== JSON_OID && typeOid !== JSONB_OID) return value;
  const text = (binaryJsonb ? value.subarray(1) : value).toString('utf8');
  const scrubbed = scrubText(text, [...detectors]);
  if (scrubbed === text) return value;
  const out = Buffer.from(scrubbed, 'utf8');
  return binaryJsonb ? Buffer.concat([value.subarray(0, 1), out]) : out;
}

/** Writes a masked ASCII value in place (see ascii-fast.ts): returns the bytes written, or -1 to fall back. */
export type AsciiMasker = typeof last4AsciiInto;

/** The in-place ASCII masker for a rule on a column type, when there is one (last4 and email on text-like types). */
export function asciiMaskerFor(rule: MaskRule, typeOid: number): AsciiMasker | null {
  if (!textLikeTypeOids.has(typeOid)) return null;
  return rule === 'last4' ? last4AsciiInto : rule === 'email' ? emailAsciiInto : null;
}
