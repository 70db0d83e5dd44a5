// Measures the Postgres store: open/migrate time, write latency (create, compare-and-set), write
// throughput with 100 in flight, and how long a change takes to reach ANOTHER PROCESS's onChange.
//   node --import tsx src/store/postgres-measure.ts [postgres://…/db]   (default: a throwaway cluster)
// The database should be empty (it is migrated here). Times across processes are compared on
// performance.timeOrigin + performance.now(), which both processes take from the same system clock.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { sampleReview } from './contract.ts';
import { PostgresStore } from './postgres.ts';

const now = (): number => performance.timeOrigin + performance.now();
const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
const ms = (x: number): string => `${x.toFixed(2)} ms`;

async function listen(url: string): Promise<void> {
  const store = await PostgresStore.open({ url });
  store.onChange((c) => process.stdout.write(`${c.id} ${now()}\n`));
  process.stdout.write('ready\n');
  process.stdin.resume();
  process.stdin.on('end', () => void store.close().then(() => process.exit(0)));
}

async function measure(url: string): Promise<void> {
  let t = performance.now();
  const store = await PostgresStore.open({ url });
  console.log(`open + migrate (fresh database): ${ms(performance.now() - t)} (applied ${JSON.stringify(store.stats.migration.applied)})`);
  t = performance.now();
  const again = await PostgresStore.open({ url });
  console.log(`open (already migrated): ${ms(performance.now() - t)}`);
  await again.close();

  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'listen', url], { stdio: ['pipe', 'pipe', 'inherit'] });
  const received = new Map<string, number>();
  let ready!: () => void;
  const isReady = new Promise<void>((resolve) => (ready = resolve));
  const waiting = new Map<string, () => void>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line === 'ready') return ready();
    const [id, at] = line.split(' ');
    received.set(id, Number(at));
    waiting.get(id)?.();
  });
  await isReady;

  const n = 500;
  const create: number[] = [];
  const cross: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = sampleReview({ id: `rv_measure${i}` });
    const seen = new Promise<void>((resolve) => waiting.set(r.id, resolve));
    const start = now();
    await store.createReview(r);
    create.push(now() - start);
    await seen;
    cross.push(received.get(r.id)! - start);
  }
  const cas: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = now();
    await store.updateReview(`rv_measure${i}`, 'pending', { status: 'approved', decidedBy: 'dana', decidedAt: new Date().toISOString() });
    cas.push(now() - start);
  }
  const get: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = now();
    await store.getReview(`rv_measure${i}`);
    get.push(now() - start);
  }
  t = performance.now();
  const total = 5000;
  for (let i = 0; i < total; i += 100) {
    await Promise.all(Array.from({ length: 100 }, (_, j) => store.createReview(sampleReview({ id: `rv_bulk${i + j}` }))));
  }
  const perSecond = total / ((performance.now() - t) / 1000);
  console.log(`createReview: median ${ms(med(create))}, p99 ${ms(pct(create, 0.99))} (n=${n}, one at a time)`);
  console.log(`updateReview (compare-and-set): median ${ms(med(cas))}, p99 ${ms(pct(cas, 0.99))}`);
  console.log(`getReview: median ${ms(med(get))}`);
  console.log(`onChange in another process, from the start of the write: median ${ms(med(cross))}, p99 ${ms(pct(cross, 0.99))}`);
  console.log(`createReview throughput with 100 in flight: ${Math.round(perSecond)}/s`);
  child.stdin!.end();
  await new Promise((resolve) => child.on('exit', resolve));
  await store.close();
}

if (process.argv[2] === 'listen') {
  await listen(process.argv[3]);
} else if (process.argv[2]) {
  await measure(process.argv[2]);
} else {
  const { startCluster } = await import('../../test/harness/cluster.ts');
  const cluster = await startCluster();
  try {
    await cluster.query('CREATE DATABASE measure');
    await measure(cluster.url('measure'));
  } finally {
    await cluster.stop();
  }
}
