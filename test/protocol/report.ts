// The wire-level corpus report: pass/total per section and variant, the
// verdicts the suite asserts on, and known gaps (test/protocol/known-gaps.json,
// keyed `<variant>:<id>`, or `<variant>:*` for every id of a variant).
import { HARD_CLASSES, type ProtoResult, type Section } from './common.ts';

export type KnownGaps = Record<string, string>;

interface Rate {
  pass: number;
  total: number;
}

export interface ProtoReport {
  generatedAt: string;
  wallSeconds: number;
  bySection: Record<string, Rate>;
  byVariant: Record<string, Rate>;
  verdicts: {
    leaks: string[];
    bypasses: string[];
    crashes: string[];
    /** Failures of other classes that known-gaps.json does not list. */
    unexpectedFailures: string[];
    knownGapsStillFailing: string[];
    knownGapsNowPassing: string[];
  };
  notes: string[];
  failures: ProtoResult[];
  results: Array<Pick<ProtoResult, 'section' | 'variant' | 'id' | 'pass' | 'classes' | 'ms'> & { note?: string }>;
}

export function gapFor(gaps: KnownGaps, r: Pick<ProtoResult, 'variant' | 'id'>): string | undefined {
  return gaps[`${r.variant}:${r.id}`] ?? gaps[`${r.variant}:*`];
}

export function buildReport(results: readonly ProtoResult[], gaps: KnownGaps, wallSeconds: number, notes: string[] = []): ProtoReport {
  const bySection: Record<string, Rate> = {};
  const byVariant: Record<string, Rate> = {};
  for (const r of results) {
    for (const [map, key] of [[bySection, r.section], [bySection, 'all'], [byVariant, r.variant]] as const) {
      const cell = (map[key] ??= { pass: 0, total: 0 });
      cell.total++;
      if (r.pass) cell.pass++;
    }
  }
  const line = (r: ProtoResult): string => `${r.variant}:${r.id} — ${r.reason}`;
  const failed = results.filter((r) => !r.pass);
  const has = (r: ProtoResult, c: string): boolean => r.classes.includes(c as never);
  const gapKeys = Object.keys(gaps).filter((k) => !k.startsWith('//'));
  const matches = (k: string, r: ProtoResult): boolean => k === `${r.variant}:${r.id}` || k === `${r.variant}:*`;
  return {
    generatedAt: new Date().toISOString(),
    wallSeconds,
    bySection,
    byVariant,
    verdicts: {
      leaks: failed.filter((r) => has(r, 'leak')).map(line),
      bypasses: failed.filter((r) => has(r, 'bypass')).map(line),
      crashes: failed.filter((r) => has(r, 'crash')).map(line),
      unexpectedFailures: failed.filter((r) => !r.classes.some((c) => HARD_CLASSES.includes(c)) && !gapFor(gaps, r)).map(line),
      knownGapsStillFailing: gapKeys.filter((k) => failed.some((r) => matches(k, r))),
      knownGapsNowPassing: gapKeys.filter((k) => results.some((r) => matches(k, r)) && !failed.some((r) => matches(k, r))),
    },
    notes,
    failures: failed,
    results: results.map((r) => ({ section: r.section, variant: r.variant, id: r.id, pass: r.pass, classes: r.classes, ms: r.ms, note: r.note })),
  };
}

const SECTION_TITLES: Record<Section, string> = {
  A: 'A  leak-relevant cases through other protocol paths',
  B: 'B  protocol features that are bypasses in themselves',
  C: 'C  cross-identity state (separate sessions, no pooling)',
  D: 'D  malformed messages (fail closed)',
};

function pct(r: Rate | undefined): string {
  if (!r || r.total === 0) return '-';
  return `${r.pass}/${r.total}`;
}

export function formatReport(report: ProtoReport, results: readonly ProtoResult[]): string {
  const out: string[] = [];
  for (const s of ['A', 'B', 'C', 'D'] as const) {
    out.push(`${SECTION_TITLES[s].padEnd(60)} ${pct(report.bySection[s]).padStart(10)}`);
    const variants = [...new Set(results.filter((r) => r.section === s).map((r) => r.variant))];
    for (const v of variants) {
      const failedIds = results.filter((r) => r.variant === v && !r.pass).map((r) => r.id);
      const ids = failedIds.length ? `  fails: ${failedIds.slice(0, 6).join(', ')}${failedIds.length > 6 ? ` (+${failedIds.length - 6})` : ''}` : '';
      out.push(`   ${v.padEnd(57)} ${pct(report.byVariant[v]).padStart(10)}${ids}`);
    }
  }
  out.push(`${'all'.padEnd(60)} ${pct(report.bySection.all).padStart(10)}`);
  const v = report.verdicts;
  const section = (title: string, items: string[]): void => {
    if (items.length === 0) return;
    out.push('', `${title} (${items.length}):`, ...items.slice(0, 40).map((i) => `  ${i.length > 400 ? `${i.slice(0, 400)}…` : i}`));
    if (items.length > 40) out.push(`  … ${items.length - 40} more in last-report.json`);
  };
  section('LEAKS', v.leaks);
  section('BYPASSES (denied statement with a side effect)', v.bypasses);
  section('GATEWAY CRASHES', v.crashes);
  section('failures not in known-gaps.json', v.unexpectedFailures);
  section('known gaps still failing', v.knownGapsStillFailing);
  section('known gaps now passing (remove them from known-gaps.json)', v.knownGapsNowPassing);
  if (report.notes.length) section('notes', report.notes);
  return out.join('\n');
}
