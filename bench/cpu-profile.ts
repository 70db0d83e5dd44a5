// Reads a V8 CPU profile (`node --cpu-prof`, written when the process exits)
// and says where the busy time went: self time per function and per module,
// idle time left out, as shares of the busy time.
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface Share {
  name: string;
  ms: number;
  /** Of the busy (non-idle) time. */
  pct: number;
}

export interface ProfileSummary {
  sampledMs: number;
  busyMs: number;
  functions: Share[];
  modules: Share[];
}

/** Where a frame's code lives: a gateway module (src/…), a package, Node's internals, or V8's own buckets. */
export function moduleOf(frame: CallFrame): string {
  const url = frame.url;
  if (url === '') return frame.functionName.startsWith('(') ? frame.functionName : 'native (V8 builtins, bindings)';
  const own = /.*\/(?:dist|src)\/(.+)\.[jt]s$/.exec(url);
  if (own && !url.includes('/node_modules/')) return `src/${own[1]}`;
  const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[1] ?? url.slice(5)}`;
  return url.split('/').slice(-2).join('/');
}

function label(frame: CallFrame): string {
  const name = frame.functionName || '(anonymous)';
  if (frame.url === '') return name;
  const file = frame.url.replace(/^.*\/(?:dist|src|node_modules)\//, '').replace(/^node:internal\//, 'node:');
  return `${name} ${file}:${frame.lineNumber + 1}`;
}

const IDLE = '(idle)';

export function summariseProfile(profile: CpuProfile, top = 15): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const selfMs = new Map<number, number>();
  // A sample's time is the gap to the next one; the last sample gets the mean gap.
  const total = profile.timeDeltas.reduce((a, b) => a + b, 0);
  const mean = profile.samples.length > 0 ? total / profile.samples.length : 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const us = i + 1 < profile.timeDeltas.length ? profile.timeDeltas[i + 1] : mean;
    selfMs.set(profile.samples[i], (selfMs.get(profile.samples[i]) ?? 0) + us / 1000);
  }
  const fns = new Map<string, number>();
  const mods = new Map<string, number>();
  let sampledMs = 0;
  let busyMs = 0;
  for (const [id, ms] of selfMs) {
    const frame = byId.get(id);
    if (!frame) continue;
    sampledMs += ms;
    if (frame.functionName === IDLE) continue;
    busyMs += ms;
    const fn = label(frame);
    fns.set(fn, (fns.get(fn) ?? 0) + ms);
    const mod = moduleOf(frame);
    mods.set(mod, (mods.get(mod) ?? 0) + ms);
  }
  const ranked = (m: Map<string, number>): Share[] =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, ms]) => ({ name, ms, pct: busyMs > 0 ? (100 * ms) / busyMs : 0 }));
  return { sampledMs, busyMs, functions: ranked(fns), modules: ranked(mods) };
}

export function readProfile(file: string): CpuProfile {
  return JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
}

export function renderProfile(title: string, s: ProfileSummary): string {
  const rows = (shares: Share[]): string[] => shares.map((x) => `| ${x.name.replaceAll('|', '\\|')} | ${x.ms.toFixed(0)} | ${x.pct.toFixed(1)} |`);
  return [
    `\n### ${title}: ${(s.busyMs / 1000).toFixed(1)} s busy of ${(s.sampledMs / 1000).toFixed(1)} s sampled (self time)\n`,
    'V8 samples wall-clock time: a thread waiting for a core inside a system call (a socket write that woke its reader) counts in that call.\n',
    '| module | ms | % of busy |', '|---|---:|---:|', ...rows(s.modules),
    '', '| function | ms | % of busy |', '|---|---:|---:|', ...rows(s.functions),
  ].join('\n');
}
