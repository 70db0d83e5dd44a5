// The corpus report: pass rates per category × transport, failures per class,
// known gaps that now pass, and the verdicts the suite asserts on.
import type { RunResult } from './runner.ts';
import { FAILURE_CLASSES, type FailureClass } from './score.ts';
import type { TransportName } from './transports.ts';

export type KnownGaps = Record<string, string>;

interface Rate {
  pass: number;
  total: number;
}

export interface Report {
  generatedAt: string;
  transports: TransportName[];
  byCategory: Record<string, Record<string, Rate>>;
  byClass: Record<FailureClass, Record<string, number>>;
  totals: Record<string, Rate>;
  /** Cases whose failures make the suite fail, with reasons. */
  verdicts: {
    legitFailures: string[];
    leaks: string[];
    unexpectedFailures: string[];
    knownGapsStillFailing: string[];
    knownGapsNowPassing: string[];
  };
  failures: Array<Pick<RunResult, 'id' | 'transport' | 'category' | 'expect' | 'status' | 'sqlstate' | 'message' | 'effects' | 'leak'> & { classes: FailureClass[]; reason: string }>;
  runs: Array<{ id: string; transport: TransportName; pgMode?: string; pass: boolean; status: string; sqlstate?: string; message?: string; ms: number }>;
}

function rate(): Rate {
  return { pass: 0, total: 0 };
}

export function buildReport(results: readonly RunResult[], knownGaps: KnownGaps): Report {
  const transports = [...new Set(results.map((r) => r.transport))];
  const byCategory: Report['byCategory'] = {};
  const totals: Record<string, Rate> = {};
  const byClass = Object.fromEntries(FAILURE_CLASSES.map((k) => [k, Object.fromEntries(transports.map((t) => [t, 0]))])) as Report['byClass'];
  for (const r of results) {
    for (const [cat, tr] of [[r.category, r.transport], [r.category, 'all'], ['(all)', r.transport], ['(all)', 'all']] as const) {
      const cell = ((byCategory[cat] ??= {})[tr] ??= rate());
      cell.total++;
      if (r.score.pass) cell.pass++;
    }
    const t = (totals[r.transport] ??= rate());
    t.total++;
    if (r.score.pass) t.pass++;
    for (const k of r.score.classes) byClass[k][r.transport]++;
  }

  const failedIds = new Map<string, string[]>();
  for (const r of results) {
    if (!r.score.pass) failedIds.set(r.id, [...(failedIds.get(r.id) ?? []), `${r.transport}: [${r.score.classes.join(',')}] ${r.score.reason}`]);
  }
  const seen = new Set(results.map((r) => r.id));
  const line = (id: string): string => `${id} — ${(failedIds.get(id) ?? []).join(' | ')}`;
  const verdicts: Report['verdicts'] = {
    legitFailures: [...new Set(results.filter((r) => r.category === 'legit' && !r.score.pass).map((r) => r.id))].map(line),
    leaks: results.filter((r) => r.leak).map((r) => `${r.id} (${r.transport}): ${r.leak}`),
    unexpectedFailures: [...failedIds.keys()]
      .filter((id) => !(id in knownGaps) && !results.some((r) => r.id === id && r.category === 'legit'))
      .map(line),
    knownGapsStillFailing: Object.keys(knownGaps).filter((id) => failedIds.has(id)),
    knownGapsNowPassing: Object.keys(knownGaps).filter((id) => seen.has(id) && !failedIds.has(id)),
  };
  return {
    generatedAt: new Date().toISOString(),
    transports,
    byCategory,
    byClass,
    totals,
    verdicts,
    failures: results
      .filter((r) => !r.score.pass)
      .map((r) => ({
        id: r.id, transport: r.transport, category: r.category, expect: r.expect, status: r.status,
        sqlstate: r.sqlstate, message: r.message, effects: r.effects, leak: r.leak,
        classes: r.score.classes, reason: r.score.reason,
      })),
    runs: results.map((r) => ({
      id: r.id, transport: r.transport, pgMode: r.pgMode, pass: r.score.pass, status: r.status,
      sqlstate: r.sqlstate, message: r.message, ms: r.ms,
    })),
  };
}

function pct(r: Rate | undefined): string {
  if (!r || r.total === 0) return '-';
  return `${r.pass}/${r.total} ${Math.round((100 * r.pass) / r.total)}%`.padStart(13);
}

/** The report as a plain-text table. */
export function formatReport(report: Report): string {
  const cols = [...report.transports, 'all'];
  const out: string[] = [];
  out.push(`${'category'.padEnd(24)}${cols.map((c) => c.padStart(14)).join('')}`);
  const cats = Object.keys(report.byCategory).filter((c) => c !== '(all)').sort();
  for (const cat of [...cats, '(all)']) {
    out.push(`${cat.padEnd(24)}${cols.map((c) => ` ${pct(report.byCategory[cat][c])}`).join('')}`);
  }
  out.push('');
  out.push(`${'failure class'.padEnd(24)}${report.transports.map((c) => c.padStart(14)).join('')}`);
  for (const k of FAILURE_CLASSES) {
    out.push(`${k.padEnd(24)}${report.transports.map((t) => String(report.byClass[k][t] ?? 0).padStart(14)).join('')}`);
  }
  const v = report.verdicts;
  const section = (title: string, items: string[]): void => {
    if (items.length === 0) return;
    out.push('', `${title} (${items.length}):`, ...items.map((i) => `  ${i}`));
  };
  section('legit cases failing', v.legitFailures);
  section('leaks', v.leaks);
  section('failures not in known-gaps.json', v.unexpectedFailures);
  section('known gaps still failing', v.knownGapsStillFailing);
  section('known gaps now passing (remove them from known-gaps.json)', v.knownGapsNowPassing);
  return out.join('\n');
}
