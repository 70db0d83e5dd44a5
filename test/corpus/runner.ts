// Runs corpus cases against an endpoint (the gateway, or PostgreSQL directly to
// check the harness itself), one fresh session per case and transport, and
// scores each run from the database state, the victim session and the bytes
// received.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Cluster } from '../harness/cluster.ts';
import type { Recorder } from '../harness/recorder.ts';
import { needsVictim, pgModeFor, type Case, type Identity } from './cases.ts';
import { GW_ROLE, type CorpusDatabase } from './database.ts';
import { RawValues, valuesToWatch, type FindLeak } from './raw-values.ts';
import { scoreRun, type Score } from './score.ts';
import { runPg, runPsql, type Credentials, type Endpoint, type Outcome, type TransportName } from './transports.ts';
import { startVictim, type Victim } from './victim.ts';

export interface RunnerOptions {
  cluster: Cluster;
  db: CorpusDatabase;
  /** Where clients connect (the gateway); the pg transport goes through `recorder`, which relays there. */
  endpoint: Endpoint;
  recorder: Recorder;
  credentials: (identity: Identity) => Credentials;
  findLeak: FindLeak;
  transports?: readonly TransportName[];
  timeoutMs?: number;
  /** Progress output, one line per run. */
  log?: (line: string) => void;
  /** When set, every run's received bytes are written to <dumpDir>/<case id>.<transport>.out. */
  dumpDir?: string;
}

export interface RunResult {
  id: string;
  identity: Identity;
  category: string;
  expect: Case['expect'];
  transport: TransportName;
  pgMode?: string;
  status: Outcome['status'];
  sqlstate?: string;
  message?: string;
  effects: string[];
  leak: string | null;
  ms: number;
  score: Score;
}

export async function runCases(cases: readonly Case[], opts: RunnerOptions): Promise<RunResult[]> {
  const transports = opts.transports ?? ['psql', 'pg'];
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const raw = new RawValues(opts.cluster);
  const results: RunResult[] = [];
  for (const c of cases) {
    const watched = valuesToWatch(c.sql, await raw.columns(c.leak), opts.findLeak);
    for (const transport of transports) {
      if (opts.db.dirty) await opts.db.reset();
      const creds = opts.credentials(c.identity);
      let victim: Victim | undefined;
      if (needsVictim(c)) victim = await startVictim(opts.cluster, opts.endpoint.database, GW_ROLE, opts.db.gatewayPassword);
      let outcome: Outcome;
      const effects: string[] = [];
      try {
        outcome = transport === 'psql'
          ? await runPsql(opts.cluster.binDir, opts.endpoint, creds, c.sql, timeoutMs)
          : await runPg(opts.recorder, opts.endpoint, creds, c.sql, await pgModeFor(c.sql), timeoutMs);
        effects.push(...(await opts.db.changes()), ...outcome.sessionChanges);
        const signal = await victim?.signalled();
        if (signal) effects.push(`victim session ${signal}`);
      } finally {
        await victim?.stop();
      }
      if (opts.dumpDir) writeFileSync(path.join(opts.dumpDir, `${c.id}.${transport}.out`), outcome.output);
      const leak = watched.length > 0 ? opts.findLeak(outcome.output, watched) : null;
      const score = scoreRun(c, { outcome, effects, leak });
      // A refused deny or approval case that changed nothing left the database as it was;
      // anything else (a read, a write, a hang or a held statement) may have changed it.
      const refusedCleanly = (c.expect === 'deny' || c.expect === 'approval') && outcome.status === 'error' && effects.length === 0;
      if (!refusedCleanly) opts.db.dirty = true;
      const r: RunResult = {
        id: c.id, identity: c.identity, category: c.category, expect: c.expect, transport,
        pgMode: outcome.pgMode, status: outcome.status, sqlstate: outcome.sqlstate, message: outcome.message,
        effects, leak, ms: outcome.ms, score,
      };
      results.push(r);
      opts.log?.(`${score.pass ? 'pass' : 'FAIL'} ${transport.padEnd(4)} ${c.id}${score.pass ? '' : ` [${score.classes.join(',')}] ${score.reason}`}`);
    }
  }
  return results;
}
