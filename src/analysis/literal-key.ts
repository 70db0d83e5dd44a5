// A cache key that ignores literal values, so `... WHERE aid = 1` and
// `... WHERE aid = 2` share one analysis. Only plain SQL is keyed: identifiers,
// whitespace, simple punctuation, unsigned numbers and standard single-quoted
// strings. Anything else (comments, quoted identifiers, dollar quotes, E'' and
// other prefixed strings, backslashes, non-ASCII) returns null, and the caller
// analyses the exact text. Keys are only sound for statements whose analysis
// does not depend on literal values; the caller decides that (see literalFree).
import type { QueryAnalysis } from './types.ts';

const PUNCT = new Set(['(', ')', ',', '.', ';', '=', '<', '>', '+', '-', '*', '/', '%', ':', '[', ']', ' ', '\t', '\n', '\r']);

// Character-class tests on single characters (this runs once per query on the hot path).
const IDENT_START = { test: (c: string | undefined): boolean => c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_') };
const IDENT_PART = { test: (c: string | undefined): boolean => c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c === '_') };

export function literalKey(sql: string, maxLength = 4096): string | null {
  if (sql.length > maxLength) return null;
  let out = '';
  let i = 0;
  let literals = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (IDENT_START.test(c)) {
      const start = i;
      while (i < sql.length && IDENT_PART.test(sql[i])) i++;
      if (sql[i] === "'" || sql[i] === '$') return null; // E'..', U&'..', B'..', X'..', identifiers with $
      const word = sql.slice(start, i);
      if (/^reg/i.test(word)) return null; // casts to reg* types resolve names held in literals
      out += word;
      continue;
    }
    if (c >= '0' && c <= '9') {
      const m = /^[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?/.exec(sql.slice(i, i + 64));
      if (!m) return null;
      i += m[0].length;
      if (i < sql.length && (IDENT_PART.test(sql[i]) || sql[i] === '.' || sql[i] === "'")) return null;
      out += '\u0001';
      literals++;
      continue;
    }
    if (c === "'") {
      let j = i + 1;
      for (;;) {
        if (j >= sql.length) return null;
        const d = sql[j];
        if (d === '\\' || d === '\0' || d.charCodeAt(0) > 0x7e) return null;
        if (d === "'") {
          if (sql[j + 1] === "'") {
            j += 2;
            continue;
          }
          break;
        }
        j++;
      }
      i = j + 1;
      if (i < sql.length && (IDENT_PART.test(sql[i]) || sql[i] === "'")) return null;
      out += '\u0002';
      literals++;
      continue;
    }
    // "--" and "/*" start comments: not plain.
    if ((c === '-' && sql[i + 1] === '-') || (c === '/' && sql[i + 1] === '*')) return null;
    if (!PUNCT.has(c)) return null;
    out += c;
    i++;
  }
  return literals > 0 ? out : null;
}

/**
 * True when nothing in the analysis depends on a literal's value: single
 * SELECT or INSERT statements with no guardrail facts and no catalog-name
 * checks. UPDATE, DELETE and MERGE are excluded because whether their
 * condition is trivially true depends on the literals.
 */
export function literalFree(analysis: QueryAnalysis): boolean {
  if (analysis.statements.length !== 1) return false;
  const s = analysis.statements[0];
  return (s.kind === 'select' || s.kind === 'insert') && s.guardrails.length === 0 && !s.catalogNames && !s.inner && s.node !== 'Empty';
}
