// `npm run bench`: one benchmark run comparing direct Postgres, pgbouncer (session
// mode), a bare Node TCP pipe and scopegate (masking off and on), alternating the
// targets in every repetition. Progress goes to stderr, the tables to stdout, all
// runs to bench/results/<timestamp>.json.
//
// Knobs (env): REPS=3 T=10 ROWS=1000000 IDLE=500 STREAM=10000000 SCALE=10 WARMUP=1, TESTS=comma list of
// workload ids, TARGETS=comma list of targets; BENCH_QUICK=1 for a smoke run
// (REPS=1 T=2 ROWS=20000 IDLE=50 STREAM=200000 unless set explicitly); PROFILE=1
// runs the gateways under `node --cpu-prof` and adds where their CPU went
// (profiling slows them: read those figures for the profile, not the ratios).
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync, readdirSync } from 'node:fs';
import { readProfile, renderProfile, summariseProfile, type ProfileSummary } from './cpu-profile.ts';
import { alive } from './procstat.ts';
import { Summary, writeJson, type RunRecord } from './report.ts';
import { setupDatabase, DB, type BenchDb } from './setup.ts';
import { startTargets, stopTargets, TARGET_NAMES, type Target } from './targets.ts';
import { verifyTarget, WORKLOADS, type Knobs, type Sample } from './workloads.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const QUICK = process.env.BENCH_QUICK === '1';

function knob(name: string, normal: number, quick: number, zeroAllowed = false): number {
  const raw = process.env[name];
  const v = raw === undefined || raw === '' ? (QUICK ? quick : normal) : Number(raw);
  if (!Number.isFinite(v) || v < 0 || (v === 0 && !zeroAllowed)) {
    throw new Error(`${name} must be a ${zeroAllowed ? 'non-negative' : 'positive'} number, got "${raw}"`);
  }
  return v;
}

function list(name: string, all: readonly string[]): string[] {
  const raw = process.env[name];
  if (!raw) return [...all];
  const picked = raw.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = picked.filter((p) => !all.includes(p));
  if (unknown.length > 0) throw new Error(`${name}: unknown ${unknown.join(', ')} (choose from ${all.join(', ')})`);
  return all.filter((a) => picked.includes(a));
}

/** Workloads run once, unrecorded, before the repetitions (WARMUP=0 skips them). */
const WARM_UP = new Set(['simple', 'extended', 'prepared', 'select', 'copy']);

const log = (m: string): void => console.error(`[bench] ${m}`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function describe(s: Sample): string {
  if (!s.ok) return `FAILED: ${s.error}`;
  const parts: string[] = [];
  if (s.tps !== undefined) parts.push(`tps ${s.tps.toFixed(0)}`);
  if (s.lat_p50_ms !== undefined) parts.push(`p50 ${s.lat_p50_ms.toFixed(3)} ms`);
  if (s.conn_ms !== undefined) parts.push(`conn ${s.conn_ms.toFixed(2)} ms`);
  if (s.rows_per_s !== undefined) parts.push(`${s.wall_s.toFixed(2)} s, ${(s.rows_per_s / 1000).toFixed(0)}k rows/s`);
  if (s.runs_s) parts.push(`median of ${s.runs_s.map((r) => r.toFixed(2)).join(' / ')} s`);
  if (s.proxy_growth_mb !== undefined) parts.push(`proxy RSS ${s.rss_before_mb?.toFixed(0)} MB, +${s.proxy_growth_mb.toFixed(1)} MB at peak`);
  if (s.idle_conns !== undefined) parts.push(`${s.idle_conns} conns, RSS ${s.proxy_rss_mb?.toFixed(1)} MB`);
  if (s.proxy_cpu_pct !== undefined) {
    const perTx = s.proxy_user_us_tx !== undefined && s.proxy_sys_us_tx !== undefined ? ` (${s.proxy_user_us_tx.toFixed(1)} + ${s.proxy_sys_us_tx.toFixed(1)} µs/tx)` : '';
    parts.push(`proxy cpu ${s.proxy_cpu_pct.toFixed(0)}%${perTx}`);
  }
  return parts.join(', ');
}

/** One measured run, or a failure record when the target is unusable or its process died. */
async function measure(w: (typeof WORKLOADS)[number], t: Target, k: Knobs, broken: Map<string, string>): Promise<Sample> {
  const unusable = t.error ?? broken.get(t.name);
  if (unusable) return { ok: false, error: unusable, wall_s: 0 };
  if (t.proxy?.pid !== undefined && !alive(t.proxy.pid)) {
    log(`${t.name}: proxy process ${t.proxy.pid} is gone, restarting it`);
    if (!(await t.proxy.revive?.())) return { ok: false, error: t.proxy.error ?? 'proxy process exited', wall_s: 0 };
  }
  const s = await w.run(t, k);
  if (!s.ok && t.proxy?.pid !== undefined && !alive(t.proxy.pid)) {
    s.error = `${s.error} — proxy process died; its output ends: ${(t.proxy.logs?.() ?? '').slice(-400).replace(/\s+/g, ' ')}`;
  }
  return s;
}

async function main(): Promise<number> {
  const knobs = { REPS: knob('REPS', 3, 1), T: knob('T', 10, 2), ROWS: knob('ROWS', 1_000_000, 20_000), IDLE: knob('IDLE', 500, 50), STREAM: knob('STREAM', 10_000_000, 200_000), SCALE: knob('SCALE', 10, 10), WARMUP: knob('WARMUP', 1, 0, true) };
  const tests = list('TESTS', WORKLOADS.map((w) => w.id));
  const wanted = list('TARGETS', TARGET_NAMES);
  const workloads = WORKLOADS.filter((w) => tests.includes(w.id));
  const started = new Date().toISOString();
  log(`${QUICK ? 'QUICK mode, ' : ''}${Object.entries(knobs).map(([k, v]) => `${k}=${v}`).join(' ')} TESTS=${tests.join(',')}`);

  const profileRoot = process.env.PROFILE === '1' ? path.join(HERE, 'results', `profile-${started.replace(/[:.]/g, '-')}`) : undefined;
  let db: BenchDb | undefined;
  let targets: Target[] = [];
  const stopAll = async (): Promise<void> => {
    await stopTargets(targets);
    await db?.cluster.stop();
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => void stopAll().finally(() => process.exit(130)));
  }
  // Measure the compiled gateway (what `npm run build` ships), not the TypeScript loader.
  const build = spawnSync('npm', ['run', 'build'], { cwd: path.join(HERE, '..'), encoding: 'utf8' });
  log(build.status === 0 ? 'built dist/ for the gateway' : `npm run build failed; the gateway runs from the sources: ${build.stderr.slice(0, 300)}`);
  try {
    db = await setupDatabase({ rows: knobs.ROWS, scale: knobs.SCALE, maxConnections: Math.max(200, 2 * knobs.IDLE + 60), log });
    targets = (await startTargets(db, new Set(wanted), knobs.IDLE, log, profileRoot)).filter((t) => wanted.includes(t.name));
    const k: Knobs = { T: knobs.T, ROWS: knobs.ROWS, IDLE: knobs.IDLE, STREAM: knobs.STREAM, binDir: db.cluster.binDir };

    const clear = (await db.cluster.query('SELECT email, ssn, card FROM people WHERE id = 1', DB)).rows[0];
    const broken = new Map<string, string>();
    for (const t of targets) {
      const err = t.error ?? (await verifyTarget(t, knobs.ROWS, clear));
      if (err && !t.error) broken.set(t.name, `sanity check failed: ${err}`);
      log(`target ${t.name.padEnd(14)} ${t.port ? `port ${t.port}` : ''}${t.proxy?.pid ? ` pid ${t.proxy.pid}` : ''} ${err ? `UNUSABLE: ${err}` : 'ok'}`);
    }

    const runs: RunRecord[] = [];
    const pause = QUICK ? 300 : 1000;
    // One unrecorded pass first, so no target's first repetition includes its cold start (JIT, caches, a first
    // analysis of each statement): a 2 s pgbench per mode and one large SELECT and COPY per target.
    if (knobs.WARMUP > 0) {
      for (const w of workloads.filter((w) => WARM_UP.has(w.id))) {
        for (const t of targets.filter((t) => w.targets.includes(t.name))) {
          const s = await measure(w, t, { ...k, T: Math.min(2, k.T) }, broken);
          log(`warm-up ${w.id.padEnd(11)} ${t.name.padEnd(14)} ${describe(s)}`);
        }
      }
    }
    for (let rep = 1; rep <= knobs.REPS; rep++) {
      for (const w of workloads) {
        const ts = targets.filter((t) => w.targets.includes(t.name));
        const shift = (rep - 1) % Math.max(1, ts.length);
        for (const t of [...ts.slice(shift), ...ts.slice(0, shift)]) {
          const s = await measure(w, t, k, broken);
          runs.push({ rep, test: w.id, target: t.name, ...s });
          log(`rep ${rep} ${w.id.padEnd(11)} ${t.name.padEnd(14)} ${describe(s)}`);
          if (s.wall_s > 0) await sleep(pause);
        }
      }
    }

    const names = targets.map((t) => t.name);
    const summary = new Summary(runs, names, tests, knobs);
    const pgbouncerVersion = spawnSync('pgbouncer', ['--version'], { encoding: 'utf8' }).stdout?.split('\n')[0] ?? '';
    const commit = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: HERE, encoding: 'utf8' }).stdout?.trim() ?? '';
    console.log(`# scopegate benchmark ${started}${QUICK ? ' (QUICK mode: smoke figures, not comparable to full runs)' : ''}`);
    console.log(`${os.hostname()}, ${os.cpus().length} CPUs, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; PostgreSQL ${db.versions.server}, ${pgbouncerVersion || 'no pgbouncer'}, node ${process.version}`);
    console.log(`${Object.entries(knobs).map(([n, v]) => `${n}=${v}`).join(' ')}; pgbench -S on scale ${knobs.SCALE}; SELECT/COPY of ${knobs.ROWS} rows (id, name, email, ssn, card)`);
    console.log(summary.render());
    // A gateway writes its profile when it exits: stop them first.
    const profiles = profileRoot ? await collectProfiles(targets) : [];
    for (const p of profiles) console.log(renderProfile(`CPU profile of ${p.target} (${path.relative(process.cwd(), p.file)})`, p.summary));
    const file = writeJson(path.join(HERE, 'results'), {
      started,
      finished: new Date().toISOString(),
      quick: QUICK,
      knobs,
      tests,
      machine: { hostname: os.hostname(), cpus: os.cpus().length, loadavg_end: os.loadavg() },
      versions: { ...db.versions, pgbouncer: pgbouncerVersion, node: process.version, commit },
      targets: targets.map((t) => ({ name: t.name, port: t.port, pid: t.proxy?.pid, error: t.error ?? broken.get(t.name) })),
      medians: summary.medians(),
      goals: summary.goals(),
      profiles,
      runs,
    });
    console.log(`\nJSON: ${path.relative(process.cwd(), file)}`);
    return 0;
  } finally {
    await stopAll();
  }
}

/** Stops the targets and summarises the CPU profile each profiled gateway wrote on exit. */
async function collectProfiles(targets: Target[]): Promise<Array<{ target: string; file: string; summary: ProfileSummary }>> {
  await stopTargets(targets);
  const out: Array<{ target: string; file: string; summary: ProfileSummary }> = [];
  const seen = new Set<string>();
  for (const t of targets) {
    const dir = t.proxy?.profileDir;
    if (!dir || seen.has(dir) || !existsSync(dir)) continue;
    seen.add(dir);
    for (const name of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort()) {
      const file = path.join(dir, name);
      try {
        out.push({ target: path.basename(dir), file, summary: summariseProfile(readProfile(file)) });
      } catch (e) {
        log(`cannot read profile ${file}: ${(e as Error).message}`);
      }
    }
  }
  return out;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`bench failed: ${(e as Error).stack ?? e}`);
    process.exit(1);
  },
);
