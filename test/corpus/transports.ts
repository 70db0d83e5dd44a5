// The two ways a corpus case reaches the gateway: psql (`-c`, one simple Query
// message) and node-postgres through the recording relay (extended protocol for
// single statements, simple protocol otherwise). Both return an Outcome holding
// every byte the gateway sent back.
import path from 'node:path';
import pg from 'pg';
import { run } from '../harness/proc.ts';
import type { Recorder } from '../harness/recorder.ts';
import type { PgMode } from './cases.ts';

export type TransportName = 'psql' | 'pg';

export interface Endpoint {
  host: string;
  port: number;
  database: string;
}

export interface Credentials {
  user: string;
  password: string;
}

export interface Outcome {
  transport: TransportName;
  /** ok: ran without error; error: an ErrorResponse; held: waiting for review; failed: no usable answer (connection lost, client error). */
  status: 'ok' | 'error' | 'held' | 'timeout' | 'failed';
  sqlstate?: string;
  message?: string;
  notices: string[];
  /** Every byte the client received from the gateway (psql: its stdout + stderr). */
  output: Buffer;
  /** Session settings that differ after the case (pg transport only). */
  sessionChanges: string[];
  /** Short human-readable result, for the report. */
  detail: string;
  ms: number;
  pgMode?: PgMode;
}

/**
 * TODO(approvals): the "held" classifier. A held statement gets a NoticeResponse
 * (today `scopegate: statement held for review <id> …`, src/approvals/hints.ts)
 * and then blocks until a human decides; without a hold the gateway refuses with
 * `42501 scopegate: review required…`. A review notice followed by
 * HELD_GRACE_MS without an answer counts as held. Once approving from the
 * harness is wanted, approve here and check the statement then runs.
 */
export function isReviewNotice(message: string): boolean {
  return /^scopegate:.*\breview\b/i.test(message);
}
export const HELD_GRACE_MS = 1_000;

const ERROR_RE = /(ERROR|FATAL|PANIC):\s+([0-9A-Z]{5}):\s+([^\n]*)/;
const NOTICE_RE = /^(?:NOTICE|WARNING|INFO):\s+(?:[0-9A-Z]{5}:\s+)?(.*)$/gm;

export async function runPsql(
  binDir: string,
  endpoint: Endpoint,
  creds: Credentials,
  sql: string,
  timeoutMs: number,
): Promise<Outcome> {
  const conninfo = [
    `host=${endpoint.host}`, `port=${endpoint.port}`, `dbname=${endpoint.database}`,
    `user=${creds.user}`, `password=${creds.password}`, 'sslmode=disable',
    `connect_timeout=${Math.ceil(timeoutMs / 1000)}`,
  ].join(' ');
  const started = Date.now();
  let held = false;
  let graceTimer: NodeJS.Timeout | undefined;
  const r = await run(path.join(binDir, 'psql'), [conninfo, '-X', '-v', 'ON_ERROR_STOP=1', '-v', 'VERBOSITY=verbose', '-c', sql], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PGCLIENTENCODING: 'UTF8', LC_ALL: 'C.UTF-8' },
    timeoutMs,
    onStderr: (chunk, kill) => {
      const text = chunk.toString();
      for (const m of text.matchAll(NOTICE_RE)) {
        if (isReviewNotice(m[1]) && !graceTimer) {
          graceTimer = setTimeout(() => {
            held = true;
            kill();
          }, HELD_GRACE_MS);
        }
      }
    },
  });
  if (graceTimer) clearTimeout(graceTimer);
  const stderr = r.stderr.toString();
  const notices = [...stderr.matchAll(NOTICE_RE)].map((m) => m[1]);
  const base = { transport: 'psql' as const, notices, output: Buffer.concat([r.stdout, r.stderr]), sessionChanges: [], ms: Date.now() - started };
  if (held) return { ...base, status: 'held', detail: 'held for review' };
  if (r.timedOut) return { ...base, status: 'timeout', detail: `no answer within ${timeoutMs} ms` };
  if (r.code === 0) {
    const out = r.stdout.toString();
    return { ...base, status: 'ok', detail: out.length > 160 ? `${out.slice(0, 160)}…` : out.trim() };
  }
  // An ERROR leaves the session usable; FATAL, a lost connection or a psql failure is no usable answer.
  const err = ERROR_RE.exec(stderr);
  if (err && err[1] === 'ERROR' && !/server closed the connection unexpectedly/.test(stderr)) {
    return { ...base, status: 'error', sqlstate: err[2], message: err[3], detail: `${err[1]} ${err[2]}: ${err[3]}` };
  }
  return { ...base, status: 'failed', sqlstate: err?.[2], message: err?.[3], detail: `psql exit ${r.code}: ${stderr.trim().slice(0, 300)}` };
}

const PROBED = ['search_path', 'role', 'session_authorization', 'row_security', 'session_replication_role', 'default_transaction_read_only'];

/** The session settings a case must not change; null when the gateway refuses the probe. */
async function probeSession(client: pg.Client): Promise<Record<string, string> | null> {
  try {
    const results = (await client.query(PROBED.map((p) => `SHOW ${p}`).join('; '))) as unknown as pg.QueryResult[];
    return Object.fromEntries(PROBED.map((p, i) => [p, String(Object.values(results[i].rows[0] ?? {})[0])]));
  } catch {
    return null;
  }
}

interface DbError {
  code?: string;
  message?: string;
  severity?: string;
}

function isServerError(e: unknown): e is DbError & { code: string } {
  const x = e as DbError;
  return typeof x?.code === 'string' && /^[0-9A-Z]{5}$/.test(x.code) && typeof x.severity === 'string';
}

/**
 * Runs sql through node-postgres connected to the recorder (which relays to the
 * gateway). mode 'extended' forces Parse/Bind/Describe/Execute/Sync.
 */
export async function runPg(
  recorder: Recorder,
  endpoint: Endpoint,
  creds: Credentials,
  sql: string,
  mode: PgMode,
  timeoutMs: number,
): Promise<Outcome> {
  recorder.take();
  const started = Date.now();
  const notices: string[] = [];
  let onReview: (() => void) | undefined;
  const client = new pg.Client({
    host: recorder.host, port: recorder.port, database: endpoint.database,
    user: creds.user, password: creds.password, connectionTimeoutMillis: timeoutMs,
  });
  client.on('error', () => undefined);
  client.on('notice', (n: { message?: string }) => {
    notices.push(n.message ?? '');
    if (isReviewNotice(n.message ?? '')) onReview?.();
  });

  type Settled = { kind: 'ok'; detail: string } | { kind: 'error'; e: unknown } | { kind: 'timeout' } | { kind: 'held' };
  let deadline: NodeJS.Timeout | undefined;
  let grace: NodeJS.Timeout | undefined;
  const stopper = new Promise<Settled>((resolve) => {
    deadline = setTimeout(() => resolve({ kind: 'timeout' }), timeoutMs);
    onReview = () => {
      grace ??= setTimeout(() => resolve({ kind: 'held' }), HELD_GRACE_MS);
    };
  });
  // The session probe runs on the same connection before and after the case.
  let before: Record<string, string> | null = null;
  const work = (async (): Promise<Settled> => {
    try {
      await client.connect();
      before = await probeSession(client);
      const config = mode === 'extended'
        ? ({ text: sql, rowMode: 'array', queryMode: 'extended' } as pg.QueryArrayConfig)
        : ({ text: sql, rowMode: 'array' } as pg.QueryArrayConfig);
      const res = (await client.query(config)) as pg.QueryArrayResult | pg.QueryArrayResult[];
      const last = Array.isArray(res) ? res[res.length - 1] : res;
      return { kind: 'ok', detail: `${last?.command ?? ''} ${last?.rowCount ?? ''}`.trim() };
    } catch (e) {
      return { kind: 'error', e };
    }
  })();
  const settled = await Promise.race([work, stopper]);
  clearTimeout(deadline);
  clearTimeout(grace);

  const sessionChanges: string[] = [];
  const usable = settled.kind === 'ok' || (settled.kind === 'error' && isServerError(settled.e) && settled.e.severity === 'ERROR');
  if (usable && before) {
    const after = await Promise.race([
      client.query('ROLLBACK').catch(() => undefined).then(() => probeSession(client)),
      new Promise<null>((r) => setTimeout(() => r(null), 2_000)),
    ]);
    const was: Record<string, string> = before;
    for (const p of PROBED) {
      if (after && after[p] !== was[p]) sessionChanges.push(`session ${p}: ${was[p]} → ${after[p]}`);
    }
  }
  if (settled.kind === 'ok' || settled.kind === 'error') {
    await Promise.race([client.end().catch(() => undefined), new Promise((r) => setTimeout(r, 2_000))]);
  }
  recorder.dropAll();
  const base = { transport: 'pg' as const, notices, output: recorder.take(), sessionChanges, ms: Date.now() - started, pgMode: mode };
  switch (settled.kind) {
    case 'ok':
      return { ...base, status: 'ok', detail: settled.detail };
    case 'timeout':
      return { ...base, status: 'timeout', detail: `no answer within ${timeoutMs} ms` };
    case 'held':
      return { ...base, status: 'held', detail: 'held for review' };
    case 'error': {
      const e = settled.e;
      if (isServerError(e)) {
        const status = e.severity === 'ERROR' ? 'error' : 'failed';
        return { ...base, status, sqlstate: e.code, message: e.message, detail: `${e.severity} ${e.code}: ${e.message}` };
      }
      return { ...base, status: 'failed', detail: `client error: ${(e as Error)?.message ?? String(e)}` };
    }
  }
}
