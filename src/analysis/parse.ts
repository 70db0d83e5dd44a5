// Parse SQL with the real PostgreSQL parser: limits first, then parse, then cache by text.
import { loadModule, parseSync, hasSqlDetails } from 'libpg-query';
import type { AnalysisError, ParsedQuery, ParsedStatement } from './types.ts';
import { tag, type Node } from './ast.ts';

export interface ParseLimits {
  /** Maximum SQL size in UTF-8 bytes (default 1 MiB). */
  maxLength?: number;
  /** Maximum number of statements (default 1000). */
  maxStatements?: number;
  /** Maximum nesting of parentheses (default 500). */
  maxDepth?: number;
}

const DEFAULTS = { maxLength: 1024 * 1024, maxStatements: 1000, maxDepth: 500 };
const CACHE_SIZE = 5000;

let loading: Promise<void> | undefined;
let loaded = false;

/** Load the WASM parser once. Safe to call many times. */
export function initAnalysis(): Promise<void> {
  loading ??= loadModule().then(() => {
    loaded = true;
    warmUp();
  });
  return loading;
}

/**
 * The parser's first calls are slow (about 14 ms for the first, while the
 * WebAssembly code is compiled and its memory grown): pay that at startup,
 * not on a client's first statement. Nothing stays cached.
 */
function warmUp(): void {
  for (const sql of WARM_UP) parseQuery(sql);
  cache.clear();
}

const WARM_UP = [
  'SELECT a.x, count(*) FROM s.t a JOIN u b ON a.id = b.id WHERE a.y = $1 AND b.z IN (1, 2) GROUP BY 1 ORDER BY 2 DESC LIMIT 10',
  "INSERT INTO t (a, b) VALUES (1, 'x') ON CONFLICT (a) DO UPDATE SET b = excluded.b RETURNING *",
  'UPDATE t SET a = a + 1 WHERE b = 2; DELETE FROM t WHERE c IS NULL',
  'WITH w AS (SELECT * FROM t) SELECT row_to_json(w) FROM w',
];

const cache = new Map<string, ParsedQuery | AnalysisError>();

function remember(sql: string, value: ParsedQuery | AnalysisError): ParsedQuery | AnalysisError {
  if (cache.size >= CACHE_SIZE) {
    const oldest = cache.keys().next();
    if (!oldest.done) cache.delete(oldest.value);
  }
  cache.set(sql, value);
  return value;
}

/** True for the AnalysisError branch of parseQuery's result. */
export function isAnalysisError(v: unknown): v is AnalysisError {
  return typeof v === 'object' && v !== null && 'code' in v && 'message' in v && !('statements' in v);
}

/**
 * Parse a query string. Rejects NUL bytes (22021), oversize text (54000) and too deep or
 * too many statements (54001) before the parser sees the text; syntax errors are 42601.
 */
export function parseQuery(sql: string, limits: ParseLimits = {}): ParsedQuery | AnalysisError {
  const lim = { ...DEFAULTS, ...limits };
  if (sql.includes('\u0000')) return { code: '22021', message: 'invalid byte sequence: SQL text contains a NUL byte' };
  if (sql.length > lim.maxLength || Buffer.byteLength(sql, 'utf8') > lim.maxLength) {
    return { code: '54000', message: `SQL text exceeds ${lim.maxLength} bytes` };
  }
  const hit = cache.get(sql);
  if (hit) {
    cache.delete(sql);
    cache.set(sql, hit);
    return hit;
  }
  const shape = scanShape(sql);
  if (shape.depth > lim.maxDepth) return { code: '54001', message: `statement nesting exceeds ${lim.maxDepth} levels` };
  if (shape.statements > lim.maxStatements) return { code: '54001', message: `query has more than ${lim.maxStatements} statements` };
  if (!loaded) return { code: '0A000', message: 'SQL parser not initialised (call initAnalysis first)' };
  // An empty query string is legal (EmptyQueryResponse); the parser library rejects it, so answer it here.
  if (/^\s*$/.test(sql)) return remember(sql, { sql, statements: [] });
  let tree: Node;
  try {
    tree = parseSync(sql) as unknown as Node;
  } catch (e) {
    if (hasSqlDetails(e)) {
      const pos = e.sqlDetails?.cursorPosition;
      const err: AnalysisError = { code: '42601', message: e.sqlDetails?.message ?? e.message };
      // cursorPosition is a 0-based character index (Postgres counts characters, not bytes)
      if (typeof pos === 'number' && pos >= 0) err.position = pos + 1;
      return remember(sql, err);
    }
    return { code: '54001', message: 'statement too complex to parse' };
  }
  const stmts = (tree.stmts as Node[] | undefined) ?? [];
  if (stmts.length > lim.maxStatements) return { code: '54001', message: `query has more than ${lim.maxStatements} statements` };
  return remember(sql, { sql, statements: sliceStatements(sql, stmts) });
}

/** The raw node of a parsed statement (for analysis only). */
export function statementTree(s: ParsedStatement): Node {
  return s.tree as Node;
}

function sliceStatements(sql: string, stmts: Node[]): ParsedStatement[] {
  const ascii = Buffer.byteLength(sql, 'utf8') === sql.length;
  const bytes = ascii ? undefined : Buffer.from(sql, 'utf8');
  const total = ascii ? sql.length : bytes!.length;
  return stmts.map((raw) => {
    const start = Number(raw.stmt_location ?? 0);
    const len = Number(raw.stmt_len ?? 0);
    const end = len > 0 ? start + len : total;
    const text = bytes ? bytes.subarray(start, end).toString('utf8') : sql.slice(start, end);
    const node = (raw.stmt as Node | undefined) ?? {};
    return { node: tag(node), sql: text.trim(), tree: node };
  });
}

/**
 * Cheap pre-parse scan: maximum parenthesis depth and number of ';'-separated parts,
 * skipping strings, quoted identifiers, dollar quotes and comments. Over-counting only
 * makes the limits stricter.
 */
export function scanShape(sql: string): { depth: number; statements: number } {
  let depth = 0, max = 0, statements = 1, i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i];
    if (c === '(' || c === '[') { depth++; if (depth > max) max = depth; i++; continue; }
    if (c === ')' || c === ']') { if (depth > 0) depth--; i++; continue; }
    if (c === ';') { statements++; i++; continue; }
    if (c === '-' && sql[i + 1] === '-') {
      while (i < n && sql[i] !== '\n' && sql[i] !== '\r') i++;
      continue;
    }
    if (c === '/' && sql[i + 1] === '*') {
      let level = 1; i += 2;
      while (i < n && level > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') { level++; i += 2; }
        else if (sql[i] === '*' && sql[i + 1] === '/') { level--; i += 2; }
        else i++;
      }
      continue;
    }
    if (c === "'") {
      const escapes = i > 0 && (sql[i - 1] === 'E' || sql[i - 1] === 'e');
      i++;
      while (i < n) {
        if (escapes && sql[i] === '\\') { i += 2; continue; }
        if (sql[i] === "'") { if (sql[i + 1] === "'") { i += 2; continue; } break; }
        i++;
      }
      i++;
      continue;
    }
    if (c === '"') {
      i++;
      while (i < n) {
        if (sql[i] === '"') { if (sql[i + 1] === '"') { i += 2; continue; } break; }
        i++;
      }
      i++;
      continue;
    }
    if (c === '$') {
      const m = /^\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/.exec(sql.slice(i, i + 64));
      const prev = i > 0 ? sql[i - 1] : ' ';
      if (m && !/[A-Za-z0-9_$]/.test(prev)) {
        const close = sql.indexOf(m[0], i + m[0].length);
        i = close < 0 ? n : close + m[0].length;
        continue;
      }
    }
    i++;
  }
  return { depth: max, statements };
}
