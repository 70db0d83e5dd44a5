// Statement fingerprints: the same statement with other literal values (and
// other whitespace, comments, keyword case, IN-list lengths or VALUES row
// counts) gets the same fingerprint. A small lexer, no parser: strings, dollar
// quotes, numbers and $n parameters become `?`; unquoted words fold to lower
// case; quoted identifiers stay as written.
import { sha256Hex } from './chain.ts';

const cache = new Map<string, string>();
const CACHE_MAX = 10_000;

/** 16 hex digits of sha256(normalizeSql(sql)); cached by SQL text. */
export function fingerprintSql(sql: string): string {
  let fp = cache.get(sql);
  if (fp === undefined) {
    fp = sha256Hex(normalizeSql(sql)).slice(0, 16);
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(sql, fp);
  }
  return fp;
}

export function normalizeSql(sql: string): string {
  const out: string[] = [];
  const n = sql.length;
  let i = 0;
  while (i < n) {
    const c = sql[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f') {
      i++;
    } else if (c === '-' && sql[i + 1] === '-') {
      while (i < n && sql[i] !== '\n') i++;
    } else if (c === '/' && sql[i + 1] === '*') {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') (depth++, (i += 2));
        else if (sql[i] === '*' && sql[i + 1] === '/') (depth--, (i += 2));
        else i++;
      }
    } else if (c === "'") {
      i = skipString(sql, i + 1, false);
      out.push('?');
    } else if (c === '"') {
      let j = i + 1;
      while (j < n && !(sql[j] === '"' && sql[j + 1] !== '"')) j += sql[j] === '"' ? 2 : 1;
      out.push(sql.slice(i, j + 1));
      i = j + 1;
    } else if (c === '$') {
      const param = /^\$\d+/.exec(sql.slice(i, i + 12));
      const tag = param ? null : /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 70));
      if (param) {
        out.push('?');
        i += param[0].length;
      } else if (tag) {
        const end = sql.indexOf(tag[0], i + tag[0].length);
        i = end === -1 ? n : end + tag[0].length;
        out.push('?');
      } else {
        out.push('$');
        i++;
      }
    } else if (isDigit(c) || (c === '.' && isDigit(sql[i + 1] ?? ''))) {
      i = skipNumber(sql, i);
      out.push('?');
    } else if (isWordStart(c)) {
      let j = i + 1;
      while (j < n && isWordPart(sql[j])) j++;
      const word = sql.slice(i, j);
      // Prefixed strings: E'…', B'…', X'…', N'…', U&'…'.
      if (sql[j] === "'" && /^[eEbBxXnN]$/.test(word)) {
        i = skipString(sql, j + 1, word === 'e' || word === 'E');
        out.push('?');
      } else if ((word === 'u' || word === 'U') && sql[j] === '&' && sql[j + 1] === "'") {
        i = skipString(sql, j + 2, false);
        out.push('?');
      } else {
        out.push(word.toLowerCase());
        i = j;
      }
    } else if (isOperator(c)) {
      let j = i + 1;
      while (j < n && isOperator(sql[j]) && !(sql[j] === '-' && sql[j + 1] === '-') && !(sql[j] === '/' && sql[j + 1] === '*')) j++;
      out.push(sql.slice(i, j));
      i = j;
    } else {
      out.push(c);
      i++;
    }
  }
  while (out[out.length - 1] === ';') out.pop();
  return out
    .join(' ')
    .replace(/\( \?(?: , \?)+ \)/g, '( ? )')
    .replace(/\( \? \)(?: , \( \? \))+/g, '( ? )');
}

function skipNumber(sql: string, i: number): number {
  const n = sql.length;
  if (sql[i] === '0' && /[xXoObB]/.test(sql[i + 1] ?? '')) {
    i += 2;
    while (i < n && /[0-9a-fA-F_]/.test(sql[i])) i++;
    return i;
  }
  while (i < n && (isDigit(sql[i]) || sql[i] === '_' || sql[i] === '.')) i++;
  if ((sql[i] === 'e' || sql[i] === 'E') && (isDigit(sql[i + 1] ?? '') || ((sql[i + 1] === '+' || sql[i + 1] === '-') && isDigit(sql[i + 2] ?? '')))) {
    i += 2;
    while (i < n && isDigit(sql[i])) i++;
  }
  return i;
}

function skipString(sql: string, i: number, backslashes: boolean): number {
  while (i < sql.length) {
    const d = sql[i];
    if (backslashes && d === '\\') i += 2;
    else if (d === "'" && sql[i + 1] === "'") i += 2;
    else if (d === "'") return i + 1;
    else i++;
  }
  return i;
}

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

function isWordStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_' || c > '\x7f';
}

function isWordPart(c: string): boolean {
  return isWordStart(c) || isDigit(c) || c === '$';
}

function isOperator(c: string): boolean {
  return '+-*/<>=~!@#%^&|`?:'.includes(c);
}
