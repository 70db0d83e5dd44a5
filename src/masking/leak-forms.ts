// Test helper: the leak detector of corpus/policy.md §6 ("Leak detection").
// A raw value leaks if the output contains it case-insensitively, reversed, as
// md5/sha256 hex, as base64 without padding, as hex of its UTF-8 bytes, or —
// for values with at least 9 digits — its digit string inside a run of digits,
// spaces, '-', '.', '(', ')', '+'. Shared by unit tests and the corpus suite.

import { createHash } from 'node:crypto';

export interface LeakForm {
  /** Which §6 form this is, e.g. 'reversed'. */
  kind: 'exact' | 'reversed' | 'md5' | 'sha256' | 'base64' | 'hex';
  text: string;
  /** base64 is matched case-sensitively; every other form case-insensitively. */
  caseSensitive: boolean;
}

/** The §6 forms of a value as strings to look for (the digit-run form is separate). */
export function leakForms(value: string): string[] {
  return leakFormList(value).map((f) => f.text);
}

export function leakFormList(value: string): LeakForm[] {
  const bytes = Buffer.from(value, 'utf8');
  return [
    { kind: 'exact', text: value, caseSensitive: false },
    { kind: 'reversed', text: Array.from(value).reverse().join(''), caseSensitive: false },
    { kind: 'md5', text: createHash('md5').update(bytes).digest('hex'), caseSensitive: false },
    { kind: 'sha256', text: createHash('sha256').update(bytes).digest('hex'), caseSensitive: false },
    { kind: 'base64', text: bytes.toString('base64').replace(/=+$/, ''), caseSensitive: true },
    { kind: 'hex', text: bytes.toString('hex'), caseSensitive: false },
  ];
}

/** The value's digits when it has at least 9 of them, else null. */
export function digitForm(value: string): string | null {
  const digits = value.replace(/[^0-9]/g, '');
  return digits.length >= 9 ? digits : null;
}

/** Realistic sensitive values shaped like the corpus fixture's (emails, SSNs, Luhn-valid cards, phones, a key). */
export const sampleValues: readonly string[] = [
  'john.smith1@example.net',
  'legacy.garcia17@example.org',
  'a@example.com',
  '137-14-7919',
  '618-59-0432',
  '4111111111111111',
  '5555555555554444',
  '6011111111111117',
  '3530111333300000',
  '378282246310005',
  '555-0142',
  '+1-212-555-0110',
  '+1-718-555-0103',
  '+1 (555) 010-1234',
  'ck_fake_5d41402abc4b2a76b9719d911017c592deadbeef',
];

const DIGIT_RUN = /[0-9 .()+-]+/g;

/**
 * Returns a description of the first raw value found in `haystack` in any §6
 * form (e.g. `"137-14-7919" as reversed`), or null when nothing leaks.
 * A Buffer is scanned both as UTF-8 text and byte for byte (latin1), so raw
 * bytes of binary COPY data and decoded text fields are both covered.
 */
export function findLeak(haystack: string | Buffer, rawValues: string[]): string | null {
  const text = typeof haystack === 'string' ? haystack : haystack.toString('utf8');
  const bytes = typeof haystack === 'string' ? null : haystack.toString('latin1');
  const lowerText = text.toLowerCase();
  const lowerBytes = bytes === null ? null : bytes.toLowerCase();
  let digitRuns: string[] | null = null;

  for (const raw of rawValues) {
    if (raw.length === 0) continue;
    for (const form of leakFormList(raw)) {
      if (contains(form, text, lowerText)) return `${JSON.stringify(raw)} as ${form.kind}`;
      if (bytes !== null && lowerBytes !== null) {
        const byteForm = { ...form, text: Buffer.from(form.text, 'utf8').toString('latin1') };
        if (contains(byteForm, bytes, lowerBytes)) return `${JSON.stringify(raw)} as ${form.kind} (bytes)`;
      }
    }
    const digits = digitForm(raw);
    if (digits !== null) {
      digitRuns ??= collectDigitRuns(text, bytes);
      if (digitRuns.some((run) => run.includes(digits))) return `${JSON.stringify(raw)} as digits`;
    }
  }
  return null;
}

function contains(form: LeakForm, text: string, lowerText: string): boolean {
  return form.caseSensitive ? text.includes(form.text) : lowerText.includes(form.text.toLowerCase());
}

/** The digit strings of every run of digits/spaces/-/./(/)/+ (separators dropped). */
function collectDigitRuns(text: string, bytes: string | null): string[] {
  const runs: string[] = [];
  for (const source of bytes === null ? [text] : [text, bytes]) {
    for (const m of source.matchAll(DIGIT_RUN)) {
      const digits = m[0].replace(/[^0-9]/g, '');
      if (digits.length >= 9) runs.push(digits);
    }
  }
  return runs;
}
