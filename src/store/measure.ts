// Measures the embedded store: write throughput, and start time and memory with N reviews.
//   node --import tsx src/store/measure.ts [N]        (default 10000)
// The open is measured in a fresh child process so its RSS is not polluted by the writes.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EmbeddedStore } from './embedded.ts';
import type { Review } from './types.ts';

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

function review(i: number): Review {
  const at = Date.UTC(2025, 0, 1) + i * 1000;
  return {
    id: `rv_m${String(i).padStart(9, '0')}`,
    status: 'pending',
    identity: `agent-${i % 50}`,
    groups: ['reporting', 'agents'],
    upstream: 'corpus',
    session: `s${i}`,
    sql: `UPDATE analytics.quality_flags SET ok = $1, note = $2, checked_at = now() WHERE id = $3 AND batch = ${i} AND owner IN (SELECT id FROM public.owners WHERE team = 'data-quality')`,
    params: ['true', `checked by agent run ${i}`, String(i)],
    reasons: ['policy "reporting": review update analytics.quality_flags'],
    mode: 'hold',
    approverGroups: ['dba'],
    createdAt: new Date(at).toISOString(),
    expiresAt: new Date(at + 300_000).toISOString(),
  };
}

async function fill(dir: string, n: number): Promise<void> {
  const store = await EmbeddedStore.open(dir);
  let t = performance.now();
  const sequential = Math.min(500, n);
  for (let i = 0; i < sequential; i++) await store.createReview(review(i));
  const perWrite = (performance.now() - t) / sequential;
  t = performance.now();
  for (let i = sequential; i < n; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, n - i) }, (_, j) => store.createReview(review(i + j))));
  }
  const batched = (n - sequential) / ((performance.now() - t) / 1000);
  t = performance.now();
  const decided = Math.floor(n * 0.9);
  for (let i = 0; i < decided; i += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, decided - i) }, (_, j) =>
        store.updateReview(review(i + j).id, 'pending', { status: (i + j) % 3 ? 'approved' : 'denied', decidedBy: 'dana', decidedAt: new Date().toISOString() }),
      ),
    );
  }
  await store.close();
  console.log(`writes: ${perWrite.toFixed(2)} ms per awaited write (one fdatasync each); ${Math.round(batched)} writes/s when 100 arrive together (group commit)`);
  console.log(`journal before compaction: ${n + decided} lines, ${mb(statSync(join(dir, 'store.jsonl')).size)}`);
}

async function openOnce(dir: string): Promise<void> {
  const before = process.memoryUsage().rss;
  const t = performance.now();
  const store = await EmbeddedStore.open(dir);
  const openMs = performance.now() - t;
  const t2 = performance.now();
  const pending = await store.listReviews({ status: 'pending' });
  const listMs = performance.now() - t2;
  (globalThis as { gc?: () => void }).gc?.();
  const after = process.memoryUsage().rss;
  console.log(
    JSON.stringify({ openMs, listPendingMs: listMs, pending: pending.length, stats: store.stats, rssBefore: before, rssAfter: after, heapUsed: process.memoryUsage().heapUsed, heapTotal: process.memoryUsage().heapTotal }),
  );
  await store.close();
}

if (process.argv[2] === '--open') {
  await openOnce(process.argv[3]);
} else {
  const n = Number(process.argv[2] ?? 10_000);
  const dir = mkdtempSync(join(tmpdir(), 'scopegate-measure-'));
  const empty = mkdtempSync(join(tmpdir(), 'scopegate-measure-empty-'));
  try {
    await fill(dir, n);
    const self = fileURLToPath(import.meta.url);
    for (const [label, d] of [['empty store', empty], [`${n} reviews, first start (replay + compaction)`, dir], [`${n} reviews, next start`, dir]] as const) {
      const t = performance.now();
      const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', self, '--open', d], { encoding: 'utf8' });
      const wall = performance.now() - t;
      const r = JSON.parse(out.trim().split('\n').at(-1) as string) as { openMs: number; listPendingMs: number; stats: { replayedLines: number }; rssBefore: number; rssAfter: number; heapUsed: number; heapTotal: number };
      console.log(
        `${label}: open ${r.openMs.toFixed(1)} ms (${r.stats.replayedLines} lines), list pending ${r.listPendingMs.toFixed(1)} ms; ` +
          `RSS ${mb(r.rssBefore)} → ${mb(r.rssAfter)} (+${mb(r.rssAfter - r.rssBefore)}), heap used ${mb(r.heapUsed)} of ${mb(r.heapTotal)}; whole process ${wall.toFixed(0)} ms`,
      );
    }
    console.log(`journal after compaction: ${mb(statSync(join(dir, 'store.jsonl')).size)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(empty, { recursive: true, force: true });
  }
}
