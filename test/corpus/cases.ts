// The adversarial corpus: where it lives, its case format, and how a case is sent.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadModule, parseSync } from 'libpg-query';
import { REPO_ROOT } from '../harness/gateway.ts';

export type Expect = 'deny' | 'allow' | 'approval' | 'no-leak';
export type Identity = 'reporter' | 'dq-agent' | 'coder';

export interface Case {
  id: string;
  identity: Identity;
  sql: string;
  expect: Expect;
  /** Fully qualified columns (schema.table.column) whose raw values must never reach the client. */
  leak: string[];
  category: string;
  why: string;
}

/**
 * The corpus lives in shared/ beside the repository (CI clones the repo with
 * shared/ next to it); SCOPEGATE_CORPUS_DIR overrides.
 */
export function corpusDir(): string {
  const candidates = [process.env.SCOPEGATE_CORPUS_DIR, path.join(REPO_ROOT, '..', 'shared', 'corpus'), '/work/shared/corpus'];
  for (const c of candidates) if (c && existsSync(path.join(c, 'cases.jsonl'))) return c;
  throw new Error(`corpus not found (looked in ${candidates.filter(Boolean).join(', ')}); set SCOPEGATE_CORPUS_DIR`);
}

export function loadCases(dir = corpusDir(), file = 'cases.jsonl'): Case[] {
  return readFileSync(path.join(dir, file), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => {
      const c = JSON.parse(l) as Case;
      if (!c.id || !c.identity || typeof c.sql !== 'string' || !c.expect) throw new Error(`${file} line ${i + 1}: incomplete case`);
      return { ...c, leak: c.leak ?? [] };
    });
}

/** How the node-postgres transport sends a case. */
export type PgMode = 'extended' | 'simple';

let parserReady: Promise<void> | undefined;

/**
 * Single statements go through the extended protocol (Parse/Bind/Execute);
 * several statements, COPY (pg has no COPY support in extended mode) and SQL
 * that does not parse go as one simple Query.
 */
export async function pgModeFor(sql: string): Promise<PgMode> {
  parserReady ??= loadModule();
  await parserReady;
  try {
    const stmts = parseSync(sql).stmts ?? [];
    if (stmts.length !== 1) return 'simple';
    return 'CopyStmt' in (stmts[0].stmt ?? {}) ? 'simple' : 'extended';
  } catch {
    return 'simple';
  }
}

/** Cases that signal other backends need a victim session (policy.md §7). */
export function needsVictim(c: Case): boolean {
  return c.sql.includes('corpus-victim');
}
