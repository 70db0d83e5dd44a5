// Helpers for the audit tests: temp dirs and event generators.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

/** A fresh temp dir, removed after the test file. */
export function tempDir(prefix = 'scopegate-audit-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (cond()) return resolve();
      if (Date.now() > deadline) return reject(new Error('timed out waiting'));
      setTimeout(tick, 5);
    };
    tick();
  });
}

export const SESSION_A = 'aaaa1111-0000-4000-8000-000000000001';
export const SESSION_B = 'bbbb2222-0000-4000-8000-000000000002';
export const T0 = Date.parse('2024-05-01T12:00:00.000Z');

/** Two sessions, a review, a failed login and a reload, written through the file sink (rotating, so several files). */
export async function writeFixture(path: string, options: { rotateBytes?: number } = {}): Promise<void> {
  const { FileAuditSink } = await import('./file-sink.ts');
  const sink = new FileAuditSink({ path, rotateBytes: options.rotateBytes ?? 1500, keep: 100 });
  const at = (ms: number): string => new Date(T0 + ms).toISOString();
  const a = { session: SESSION_A, identity: 'reporter', upstream: 'corpus' };
  const b = { session: SESSION_B, identity: 'writer', upstream: 'corpus' };
  const events: import('./types.ts').AuditEvent[] = [
    { type: 'session_start', at: at(0), ...a, groups: ['reporting'], client: '127.0.0.1:50000', tls: false, method: 'token' },
    { type: 'statement', at: at(13), ...a, sql: 'SELECT * FROM public.orders', verdict: 'allow', durationMs: 3, rows: 10, tag: 'SELECT 10' },
    { type: 'statement', at: at(500), ...a, sql: 'DELETE FROM public.orders', verdict: 'deny', reasons: ['guardrail unfiltered-write: DELETE without a WHERE clause'] },
    { type: 'statement', at: at(1001), ...a, sql: 'SELECT 1/0', verdict: 'allow', durationMs: 1, rows: 0, error: '22012' },
    { type: 'statement', at: at(2000), ...a, sql: 'UPDATE analytics.Quality_Flags SET ok = true WHERE id = 7', verdict: 'review', review: 'r-1', reasons: ['review update analytics.quality_flags'] },
    { type: 'review_requested', at: at(2000), id: 'r-1', ...a, sql: 'UPDATE analytics.Quality_Flags SET ok = true WHERE id = 7', reasons: ['review update analytics.quality_flags'], mode: 'hold', expiresAt: at(302_000) },
    { type: 'review_decided', at: at(4000), id: 'r-1', identity: 'reporter', upstream: 'corpus', status: 'denied', by: 'alice', reason: 'not today' },
    { type: 'session_end', at: at(5000), ...a, reason: 'client terminated', statements: 2, durationMs: 5000 },
    { type: 'auth_failed', at: at(1_800_000), client: '10.0.0.9:1234', user: 'mallory', database: 'corpus', reason: 'unknown token' },
    { type: 'policy_reloaded', at: at(3_000_000), source: 'scopegate.yaml', ok: true, version: 'c'.repeat(64), policies: 2, identities: 2 },
    { type: 'session_start', at: at(3_600_000), ...b, groups: ['writers'], client: '10.0.0.2:40000', tls: true, method: 'token' },
    { type: 'statement', at: at(3_600_250), ...b, sql: 'INSERT INTO analytics.quality_flags VALUES ($1, $2)', params: ['7', '[redacted]'], verdict: 'allow', durationMs: 2, rows: 1, tag: 'INSERT 0 1', protocol: 'extended' },
  ];
  for (const e of events) sink.write(e);
  await sink.close();
}
