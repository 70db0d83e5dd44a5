// Content detectors for free text (opt-in per column): find sensitive values by
// their shape and mask them in place, leaving the rest of the text readable.
// Shapes are deliberately conservative; the column-level strategies remain the
// primary control, these catch values copied into notes, flags and comments.

export type Detector = 'card' | 'ssn' | 'email' | 'phone' | 'token';

export const detectors: readonly Detector[] = ['card', 'ssn', 'email', 'phone', 'token'];

export function isDetector(name: string): name is Detector {
  return (detectors as readonly string[]).includes(name);
}

export const SECRET = '[secret]';

/**
 * Masks every match of the enabled detectors. They run in a fixed order —
 * tokens, emails, cards, SSNs, phones — so that a longer shape is masked
 * before a shorter one could match part of it.
 */
export function scrubText(text: string, enabled: Detector[]): string {
  let out = text;
  if (enabled.includes('token')) out = scrubTokens(out);
  if (!HAS_DIGIT_OR_AT.test(out)) return out;
  if (enabled.includes('email')) out = out.replace(EMAIL, maskEmailMatch);
  if (enabled.includes('card')) out = out.replace(DIGIT_RUN, scrubCardsInRun);
  if (enabled.includes('ssn')) out = out.replace(SSN, keepLast4Digits);
  if (enabled.includes('phone')) out = out.replace(PHONE, maskPhoneMatch);
  return out;
}

const HAS_DIGIT_OR_AT = /[0-9@]/;

// ------------------------------------------------------------------ shared

/** Every digit but the last 4 becomes '*'; separators stay. */
function keepLast4Digits(match: string): string {
  let digits = 0;
  for (let i = 0; i < match.length; i++) if (isDigit(match.charCodeAt(i))) digits++;
  let seen = 0;
  let out = '';
  for (let i = 0; i < match.length; i++) {
    const ch = match[i];
    if (isDigit(match.charCodeAt(i))) {
      out += seen < digits - 4 ? '*' : ch;
      seen++;
    } else {
      out += ch;
    }
  }
  return out;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function countDigits(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) if (isDigit(s.charCodeAt(i))) n++;
  return n;
}

// ------------------------------------------------------------------ tokens

/** Well-known credential shapes; the whole match becomes '[secret]'. */
const KNOWN_SECRETS: RegExp[] = [
  /\b[sr]k_(?:live|test)_[A-Za-z0-9]{8,}/g, // Stripe secret / restricted keys
  /\bgh[pousr]_[A-Za-z0-9]{20,}/g, // GitHub tokens
  /\bgithub_pat_[A-Za-z0-9_]{20,}/g,
  /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g, // AWS access key ids
  /\bxox[abposr]-[A-Za-z0-9-]{10,}/g, // Slack
  /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, // JWT
];

/** 'Bearer <token>': the token becomes '[secret]' when it looks like one. */
const BEARER = /\b(Bearer|Token)(\s+)([A-Za-z0-9._~+/-]+=*)/gi;
/** 32+ hex digits (API keys, digests used as secrets). */
const LONG_HEX = /(?<![0-9A-Za-z])[0-9a-fA-F]{32,}(?![0-9A-Za-z])/g;
/** 32+ base64/base64url characters mixing upper, lower case and digits. */
const LONG_BASE64 = /(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{32,}={0,2}(?![A-Za-z0-9+/_=-])/g;

function scrubTokens(text: string): string {
  let out = text.replace(BEARER, (match, word: string, space: string, token: string) =>
    token.length >= 20 || (token.length >= 8 && /[0-9]/.test(token)) ? `${word}${space}${SECRET}` : match,
  );
  for (const pattern of KNOWN_SECRETS) out = out.replace(pattern, SECRET);
  out = out.replace(LONG_HEX, (match) => (/[0-9]/.test(match) && /[a-fA-F]/.test(match) ? SECRET : match));
  out = out.replace(LONG_BASE64, (match) =>
    /[0-9]/.test(match) && /[a-z]/.test(match) && /[A-Z]/.test(match) ? SECRET : match,
  );
  return out;
}

// ------------------------------------------------------------------ email

const EMAIL = /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@((?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,})(?![A-Za-z0-9-])/g;

function maskEmailMatch(match: string, domain: string): string {
  return `${match[0]}***@${domain}`;
}

// ------------------------------------------------------------------ cards

/** Digits joined by single spaces or dashes; card numbers are searched inside. */
const DIGIT_RUN = /(?<![0-9])[0-9](?:[ -]?[0-9])+(?![0-9])/g;
const MIN_CARD = 13;
const MAX_CARD = 19;

/**
 * Masks Luhn-valid 13–19 digit numbers inside a run of digit groups. A card
 * never starts or ends inside a group, so a 20-digit contiguous number is not
 * a card, but a card followed by a space and a year is found.
 */
function scrubCardsInRun(run: string): string {
  if (countDigits(run) < MIN_CARD) return run;
  const groups = run.split(/[ -]/);
  const seps = run.match(/[ -]/g) ?? [];
  let out = '';
  let i = 0;
  while (i < groups.length) {
    const end = findCard(groups, i);
    if (end < 0) {
      out += groups[i] + (seps[i] ?? '');
      i++;
      continue;
    }
    let card = '';
    for (let g = i; g <= end; g++) card += groups[g] + (g < end ? seps[g] : '');
    out += keepLast4Digits(card) + (seps[end] ?? '');
    i = end + 1;
  }
  return out;
}

/** The last group index of the longest Luhn-valid card starting at group `start`, or -1. */
function findCard(groups: string[], start: number): number {
  let digits = '';
  let found = -1;
  for (let g = start; g < groups.length; g++) {
    digits += groups[g];
    if (digits.length > MAX_CARD) break;
    if (digits.length >= MIN_CARD && luhnValid(digits)) found = g;
  }
  return found;
}

export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

// ------------------------------------------------------------------ ssn

const SSN = /(?<![0-9])(?<![0-9]-)[0-9]{3}-[0-9]{2}-[0-9]{4}(?![0-9])(?!-[0-9])/g;

// ------------------------------------------------------------------ phone

/** North American: optional +1, area code (555) or 555-, then 555-0142. */
const NANP = String.raw`(?:\+?1[ .-]?)?(?:\(\d{3}\)[ .-]?|\d{3}[ .-])\d{3}[ .-]\d{4}`;
/** International: +CC, optional (area), 1–4 more groups; 8–15 digits in total. */
const INTL = String.raw`\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?)?(?:[ .-]\d{2,6}){1,4}`;
/** Local: 555-0142. */
const LOCAL = String.raw`\d{3}-\d{4}`;
const PHONE = new RegExp(String.raw`(?<![\w+])(?<!\d[.-])(?:${NANP}|${INTL}|${LOCAL})(?![\w]|[.-]\d)`, 'g');

function maskPhoneMatch(match: string): string {
  const digits = countDigits(match);
  if (match.startsWith('+') && (digits < 8 || digits > 15)) return match;
  return keepLast4Digits(match);
}
