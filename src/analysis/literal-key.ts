// A cache key that ignores literal values, so `... WHERE aid = 1` and
// `... WHERE aid = 2` share one analysis. Only plain SQL is keyed: identifiers,
// whitespace, simple punctuation, unsigned numbers and standard single-quoted
// strings. Anything else (comments, quoted identifiers, dollar quotes, E'' and
// other prefixed strings, backslashes, non-ASCII) returns null, and the caller
// analyses the exact text. Keys are only sound for statements whose analysis
// does not depend on literal values; the caller decides that (see literalFree).
import type { QueryAnalysis } from './types.ts';

// Punctuation and whitespace copied into the key as they are.
const PUNCT = new Uint8Array(128);
for (const c of '(),.;=<>+-*/%:[] \t\n\r') PUNCT[c.charCodeAt(0)] = 1;

const isIdentStart = (c: number): boolean => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isIdentPart = (c: number): boolean => isIdentStart(c) || isDigit(c);
const QUOTE = 39, DOLLAR = 36, DOT = 46, BACKSLASH = 92, MINUS = 45, SLASH = 47, STAR = 42, PLUS = 43;

/** True when the word at [start, end) begins with "reg" in any case (reg* casts resolve names held in literals). */
function startsWithReg(sql: string, start: number, end: number): boolean {
  return end - start >= 3 && (sql.charCodeAt(start) | 32) === 114 && (sql.charCodeAt(start + 1) | 32) === 101 && (sql.charCodeAt(start + 2) | 32) === 103;
}

/** End of the unsigned numeric literal starting at i: digits[.digits][e[+-]digits]. */
function numberEnd(sql: string, i: number): number {
  const n = sql.length;
  while (i < n && isDigit(sql.charCodeAt(i))) i++;
  if (sql.charCodeAt(i) === DOT) {
    i++;
    while (i < n && isDigit(sql.charCodeAt(i))) i++;
  }
  const e = sql.charCodeAt(i) | 32;
  if (e === 101) {
    let j = i + 1;
    const sign = sql.charCodeAt(j);
    if (sign === PLUS || sign === MINUS) j++;
    if (isDigit(sql.charCodeAt(j))) {
      while (j < n && isDigit(sql.charCodeAt(j))) j++;
      i = j;
    }
  }
  return i;
}

/** End (after the closing quote) of the standard string starting at the quote at i, or -1 when it is not plain. */
function stringEnd(sql: string, i: number): number {
  const n = sql.length;
  for (let j = i + 1; j < n; j++) {
    const d = sql.charCodeAt(j);
    if (d === BACKSLASH || d === 0 || d > 0x7e) return -1;
    if (d === QUOTE) {
      if (sql.charCodeAt(j + 1) !== QUOTE) return j + 1;
      j++;
    }
  }
  return -1;
}

export function literalKey(sql: string, maxLength = 4096): string | null {
  const n = sql.length;
  if (n > maxLength) return null;
  // The key is the text with each literal replaced by a marker; unchanged runs are sliced, not copied per character.
  let out = '';
  let run = 0;
  let literals = 0;
  let i = 0;
  while (i < n) {
    const c = sql.charCodeAt(i);
    if (isIdentStart(c)) {
      const start = i;
      while (i < n && isIdentPart(sql.charCodeAt(i))) i++;
      const next = sql.charCodeAt(i);
      if (next === QUOTE || next === DOLLAR) return null; // E'..', U&'..', B'..', X'..', identifiers with $
      if (startsWithReg(sql, start, i)) return null;
      continue;
    }
    if (isDigit(c) || c === QUOTE) {
      const end = c === QUOTE ? stringEnd(sql, i) : numberEnd(sql, i);
      if (end < 0) return null;
      const after = sql.charCodeAt(end);
      if (end < n && (isIdentPart(after) || after === QUOTE || (c !== QUOTE && after === DOT))) return null;
      out += sql.slice(run, i) + (c === QUOTE ? '\u0002' : '\u0001');
      run = i = end;
      literals++;
      continue;
    }
    // "--" and "/*" start comments: not plain.
    if ((c === MINUS && sql.charCodeAt(i + 1) === MINUS) || (c === SLASH && sql.charCodeAt(i + 1) === STAR)) return null;
    if (c >= 128 || PUNCT[c] === 0) return null;
    i++;
  }
  return literals > 0 ? out + sql.slice(run) : null;
}

/**
 * True when nothing in the analysis depends on a literal's value: single
 * SELECT or INSERT statements whose analysis read no literal's value (a
 * positional ORDER BY or GROUP BY, a constant condition of a write in a
 * WITH clause), with no guardrail facts and no catalog-name checks. UPDATE,
 * DELETE and MERGE are excluded because whether their condition is
 * trivially true depends on the literals.
 */
export function literalFree(analysis: QueryAnalysis): boolean {
  if (analysis.statements.length !== 1) return false;
  const s = analysis.statements[0];
  return (s.kind === 'select' || s.kind === 'insert') && !s.readsLiterals && s.guardrails.length === 0 && !s.catalogNames && !s.inner && s.node !== 'Empty';
}
