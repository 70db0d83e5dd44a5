// Medians, ratios (vs direct and vs the Node pipe), goal checks and the output:
// markdown tables on stdout, everything (every run included) as JSON.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Sample } from './workloads.ts';

export interface RunRecord extends Sample {
  rep: number;
  test: string;
  target: string;
}

type Key = 'tps' | 'lat_p50_ms' | 'conn_ms' | 'rows_per_s' | 'proxy_rss_mb' | 'proxy_growth_mb';

interface Metric {
  test: string;
  key: Key;
  label: string;
  higherIsBetter: boolean;
}

const METRICS: Metric[] = [
  ...['simple', 'extended', 'prepared'].map((m) => ({ test: m, key: 'tps' as Key, label: `${m} -c8 tps ↑`, higherIsBetter: true })),
  ...['simple', 'extended', 'prepared'].map((m) => ({ test: `${m}_c1`, key: 'lat_p50_ms' as Key, label: `${m} -c1 p50 ms ↓`, higherIsBetter: false })),
  { test: 'connect', key: 'tps', label: 'churn -C -c8 tps ↑', higherIsBetter: true },
  { test: 'connect_c1', key: 'conn_ms', label: 'connect -c1 setup ms ↓', higherIsBetter: false },
  { test: 'select', key: 'rows_per_s', label: 'SELECT rows/s ↑', higherIsBetter: true },
  { test: 'copy', key: 'rows_per_s', label: 'COPY rows/s ↑', higherIsBetter: true },
  { test: 'idle', key: 'proxy_rss_mb', label: 'idle conns: proxy RSS MB ↓', higherIsBetter: false },
  { test: 'stream', key: 'rows_per_s', label: 'stream rows/s ↑', higherIsBetter: true },
  { test: 'stream', key: 'proxy_growth_mb', label: 'stream: proxy RSS growth MB ↓', higherIsBetter: false },
];

interface Goal {
  name: string;
  test: string;
  key: Key;
  target: string;
  /** Baseline target for a ratio; absent for an absolute limit. */
  base?: string;
  op: '>=' | '<=' | '<';
  limit: number;
}

const GOALS: Goal[] = [
  { name: 'pgbench -S simple -c8: scopegate/pipe tps', test: 'simple', key: 'tps', target: 'scopegate', base: 'pipe', op: '>=', limit: 0.85 },
  { name: 'pgbench -S extended -c8: scopegate/pipe tps', test: 'extended', key: 'tps', target: 'scopegate', base: 'pipe', op: '>=', limit: 0.85 },
  { name: 'pgbench -S prepared -c8: scopegate/pipe tps', test: 'prepared', key: 'tps', target: 'scopegate', base: 'pipe', op: '>=', limit: 0.8 },
  { name: 'p50 latency simple -c1: scopegate/pipe', test: 'simple_c1', key: 'lat_p50_ms', target: 'scopegate', base: 'pipe', op: '<=', limit: 1.3 },
  { name: 'p50 latency extended -c1: scopegate/pipe', test: 'extended_c1', key: 'lat_p50_ms', target: 'scopegate', base: 'pipe', op: '<=', limit: 1.3 },
  { name: 'p50 latency prepared -c1: scopegate/pipe', test: 'prepared_c1', key: 'lat_p50_ms', target: 'scopegate', base: 'pipe', op: '<=', limit: 1.3 },
  { name: 'large SELECT unmasked: scopegate/direct rows/s', test: 'select', key: 'rows_per_s', target: 'scopegate', base: 'direct', op: '>=', limit: 0.9 },
  { name: 'large SELECT 3 masked cols: scopegate+mask/direct rows/s', test: 'select', key: 'rows_per_s', target: 'scopegate+mask', base: 'direct', op: '>=', limit: 0.6 },
  { name: 'audit cost: pgbench -S simple with audit / without', test: 'simple', key: 'tps', target: 'scopegate', base: 'scopegate-noaudit', op: '>=', limit: 0.9 },
  { name: 'idle connections: scopegate RSS MB', test: 'idle', key: 'proxy_rss_mb', target: 'scopegate', op: '<', limit: 200 },
  { name: 'streaming 10M rows: scopegate RSS growth MB', test: 'stream', key: 'proxy_growth_mb', target: 'scopegate', op: '<', limit: 50 },
  { name: 'streaming 10M rows, 3 masked cols: scopegate+mask RSS growth MB', test: 'stream', key: 'proxy_growth_mb', target: 'scopegate+mask', op: '<', limit: 50 },
  { name: 'connection setup (static token): scopegate/direct ms', test: 'connect_c1', key: 'conn_ms', target: 'scopegate', base: 'direct', op: '<=', limit: 1.3 },
];

function meets(g: Goal, value: number): boolean {
  return g.op === '>=' ? value >= g.limit : g.op === '<=' ? value <= g.limit : value < g.limit;
}

export function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function signed(v: number): string {
  return `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(1)}`;
}

function fmt(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '-';
  if (Math.abs(v) >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (Math.abs(v) >= 1e4) return `${(v / 1e3).toFixed(1)}k`;
  if (Math.abs(v) >= 100) return v.toFixed(0);
  return v.toFixed(Math.abs(v) >= 10 ? 1 : 3);
}

export class Summary {
  constructor(
    private readonly runs: RunRecord[],
    private readonly targets: string[],
    private readonly tests: string[],
    private readonly knobs: Record<string, number>,
  ) {}

  private sel(test: string, target: string): RunRecord[] {
    return this.runs.filter((r) => r.test === test && r.target === target);
  }

  value(test: string, target: string, key: Key): number | undefined {
    return median(this.sel(test, target).filter((r) => r.ok).map((r) => r[key]).filter((v): v is number => v !== undefined));
  }

  private cell(m: Metric, target: string, base?: string): string {
    const rs = this.sel(m.test, target);
    if (rs.length === 0) return '';
    const v = this.value(m.test, target, m.key);
    if (v === undefined) return 'FAIL';
    const failed = rs.filter((r) => !r.ok).length;
    const b = base ? this.value(m.test, base, m.key) : undefined;
    const ratio = b ? ` (${(v / b).toFixed(2)})` : '';
    return `${fmt(v)}${ratio}${failed ? ` [${failed} failed]` : ''}`;
  }

  private table(title: string, head: string[], body: string[][]): string[] {
    return [`\n### ${title}\n`, `| ${head.join(' | ')} |`, `|${head.map((_, i) => (i ? '---:' : '---')).join('|')}|`, ...body.map((r) => `| ${r.join(' | ')} |`)];
  }

  private metrics(): Metric[] {
    return METRICS.filter((m) => this.tests.includes(m.test));
  }

  /**
   * Each goal against its limit. A ratio goal is judged on the median of
   * the repetitions' ratios: a repetition runs the targets back to back, so
   * a minute in which the whole machine is slower lowers both sides of its
   * ratio, where the ratio of two medians may divide figures taken in
   * different repetitions. The ratio of the medians is reported beside it.
   */
  goals(): Array<Goal & { value?: number; ratioOfMedians?: number; perRep?: number[]; missedReps?: number; outcome: 'PASS' | 'MISS' | 'FAIL' | 'n/a'; note?: string }> {
    return GOALS.map((g) => {
      if (!this.tests.includes(g.test)) return { ...g, outcome: 'n/a' as const, note: 'test not selected' };
      const own = this.value(g.test, g.target, g.key);
      if (own === undefined) {
        const err = this.sel(g.test, g.target).find((r) => r.error)?.error ?? 'target not run';
        return { ...g, outcome: 'FAIL' as const, note: err };
      }
      const base = g.base ? this.value(g.test, g.base, g.key) : 1;
      if (base === undefined) return { ...g, outcome: 'n/a' as const, note: `no ${g.base} baseline` };
      const perRep = this.perRepetition(g);
      const ratioOfMedians = own / base;
      const value = g.base && perRep.length > 0 ? median(perRep)! : ratioOfMedians;
      const pass = meets(g, value);
      const note =
        g.test === 'idle' && this.knobs.IDLE !== 500
          ? `at IDLE=${this.knobs.IDLE}; the target is stated for 500`
          : g.test === 'stream' && this.knobs.STREAM !== 10_000_000
            ? `at STREAM=${this.knobs.STREAM}; the target is stated for 10000000`
            : undefined;
      return { ...g, value, ratioOfMedians: g.base ? ratioOfMedians : undefined, perRep, missedReps: perRep.filter((v) => !meets(g, v)).length, outcome: pass ? ('PASS' as const) : ('MISS' as const), note };
    });
  }

  /**
   * The goal's value in each repetition (target and baseline of the same
   * repetition, both ok), in repetition order: the spread says how much the
   * median can be trusted on a shared machine.
   */
  perRepetition(g: Goal): number[] {
    const valueIn = (target: string, rep: number): number | undefined => this.sel(g.test, target).find((r) => r.rep === rep && r.ok)?.[g.key];
    const reps = [...new Set(this.sel(g.test, g.target).map((r) => r.rep))].sort((a, b) => a - b);
    const out: number[] = [];
    for (const rep of reps) {
      const own = valueIn(g.target, rep);
      const base = g.base ? valueIn(g.base, rep) : 1;
      if (own !== undefined && base) out.push(own / base);
    }
    return out;
  }

  render(): string {
    const ms = this.metrics();
    const out: string[] = [];
    out.push(...this.table('Medians; (x) = ratio to direct (↑ higher is better, ↓ lower is better)', ['metric', ...this.targets], ms.map((m) => [m.label, ...this.targets.map((t) => this.cell(m, t, m.test === 'idle' ? undefined : 'direct'))])));
    const vsPipe = this.targets.filter((t) => t !== 'pipe' && t !== 'direct');
    out.push(...this.table('Ratio to the bare Node pipe', ['metric', ...vsPipe], ms.map((m) => [m.label, ...vsPipe.map((t) => {
      const v = this.value(m.test, t, m.key);
      const p = this.value(m.test, 'pipe', m.key);
      return v !== undefined && p ? (v / p).toFixed(2) : this.sel(m.test, t).length ? '-' : '';
    })])));
    const tests = [...new Set(ms.map((m) => m.test))];
    out.push(...this.table('Proxy CPU % (100 = one core) / proxy peak RSS MB / machine busy % (200 = both cores)', ['test', ...this.targets], tests.map((test) => [test, ...this.targets.map((t) => {
      const ok = this.sel(test, t).filter((r) => r.ok);
      if (ok.length === 0) return '';
      const med = (k: 'proxy_cpu_pct' | 'proxy_hwm_mb' | 'machine_busy_pct'): string => fmt(median(ok.map((r) => r[k]).filter((v): v is number => v !== undefined)));
      return t === 'direct' ? `- / - / ${med('machine_busy_pct')}` : `${med('proxy_cpu_pct')} / ${med('proxy_hwm_mb')} / ${med('machine_busy_pct')}`;
    })])));
    out.push(...this.cpuPerTransaction(tests));
    out.push('\n### Targets\n');
    for (const g of this.goals()) {
      const digits = g.base ? 2 : 0;
      const v = g.value === undefined ? '' : ` = ${g.value.toFixed(digits)}`;
      const reps = g.perRep && g.perRep.length > 1 ? `; per repetition ${g.perRep.map((x) => x.toFixed(digits)).join(', ')}${g.missedReps ? ` (${g.missedReps} short of the goal)` : ''}` : '';
      const ofMedians = g.ratioOfMedians !== undefined && g.perRep && g.perRep.length > 1 ? `; ratio of the medians ${g.ratioOfMedians.toFixed(digits)}` : '';
      const note = g.note && g.note.length > 160 ? `${g.note.slice(0, 160)}… (see failed runs)` : g.note;
      out.push(`- ${g.outcome.padEnd(4)} ${g.name}${v} (goal ${g.op} ${g.limit}${reps}${ofMedians})${note ? ` — ${note}` : ''}`);
    }
    const failures = new Map<string, string>();
    for (const r of this.runs) if (!r.ok && r.error && !failures.has(`${r.target} ${r.test}`)) failures.set(`${r.target} ${r.test}`, r.error);
    if (failures.size > 0) {
      out.push('\n### Failed runs (first error per target and test)\n');
      for (const [k, e] of failures) out.push(`- ${k}: ${e}`);
    }
    return out.join('\n');
  }

  /**
   * The proxies' own CPU per pgbench transaction (median user and kernel
   * microseconds), with the pipe's subtracted: on a machine whose cores
   * pgbench and Postgres share with the proxy, this is the cost the tps
   * ratios pay for, measured without their run-to-run spread.
   */
  private cpuPerTransaction(tests: string[]): string[] {
    const proxies = this.targets.filter((t) => t !== 'direct');
    const rows: string[][] = [];
    for (const test of tests) {
      const cost = (t: string): { user: number; sys: number } | undefined => {
        const ok = this.sel(test, t).filter((r) => r.ok && r.proxy_user_us_tx !== undefined && r.proxy_sys_us_tx !== undefined);
        const user = median(ok.map((r) => r.proxy_user_us_tx!));
        const sys = median(ok.map((r) => r.proxy_sys_us_tx!));
        return user === undefined || sys === undefined ? undefined : { user, sys };
      };
      const pipe = cost('pipe');
      const cells = proxies.map((t) => {
        const c = cost(t);
        if (!c) return '';
        const extra = pipe && t !== 'pipe' ? ` (${signed(c.user + c.sys - pipe.user - pipe.sys)})` : '';
        return `${c.user.toFixed(1)} + ${c.sys.toFixed(1)}${extra}`;
      });
      if (cells.some((c) => c !== '')) rows.push([test, ...cells]);
    }
    if (rows.length === 0) return [];
    return this.table('Proxy CPU per pgbench transaction: µs user + kernel (difference to the pipe)', ['test', ...proxies], rows);
  }

  medians(): Record<string, Record<string, Record<string, number | undefined>>> {
    const res: Record<string, Record<string, Record<string, number | undefined>>> = {};
    for (const m of this.metrics()) {
      for (const t of this.targets) {
        const v = this.value(m.test, t, m.key);
        if (v === undefined) continue;
        ((res[m.test] ??= {})[t] ??= {})[m.key] = v;
      }
    }
    return res;
  }
}

export function writeJson(dir: string, data: unknown): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(data, null, 2) + '\n');
  return file;
}
