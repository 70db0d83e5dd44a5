// Throughput of the file sink: N statement events written and flushed.
//   npx tsx src/audit/bench-file-sink.ts [N]
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileAuditSink } from './file-sink.ts';
import { fingerprintSql } from './fingerprint.ts';
import { verifyChain } from './verify.ts';
import type { StatementEvent } from './types.ts';

const n = Number(process.argv[2] ?? 100_000);
const dir = mkdtempSync(join(tmpdir(), 'scopegate-audit-bench-'));
const path = join(dir, 'audit.jsonl');
const sink = new FileAuditSink({ path, rotateBytes: 64 * 1024 * 1024, keep: 10 });
const base = Date.now();

// The statement events a gateway would produce (built first: the sink's cost is what is timed).
const events: StatementEvent[] = [];
for (let i = 0; i < n; i++) {
  const sql = `SELECT abalance FROM pgbench_accounts WHERE aid = ${i % 100_000}`;
  events.push({
    type: 'statement', at: new Date(base + i).toISOString(), session: '6f1c2a9e-3b7d-4c1e-9a51-0d2f8e7b6c41', identity: 'reporter',
    upstream: 'corpus', sql, fingerprint: fingerprintSql(sql), verdict: 'allow', durationMs: 0.4, rows: 1, tag: 'SELECT 1',
  });
}

const start = performance.now();
let writeMs = 0;
for (let i = 0; i < n; i++) {
  const t = performance.now();
  sink.write(events[i]);
  writeMs += performance.now() - t;
  // Let the event loop turn now and then, as a gateway under load does.
  if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
}
await sink.flush();
const total = performance.now() - start;
await sink.close();
const bytes = statSync(path).size;
const v = await verifyChain(path);
console.log(JSON.stringify({
  events: n,
  totalMs: Math.round(total),
  eventsPerSec: Math.round(n / (total / 1000)),
  writeCallUs: +((writeMs * 1000) / n).toFixed(3),
  bytesPerEvent: Math.round(bytes / n),
  verify: { ok: v.ok, events: v.events },
}));

// Strict durability: 100 concurrent sessions, each awaiting flush() after every statement (group commit).
const strictPath = join(dir, 'strict.jsonl');
const strict = new FileAuditSink({ path: strictPath });
const latencies: number[] = [];
const perSession = Math.ceil(n / 100);
const t0 = performance.now();
await Promise.all(
  Array.from({ length: 100 }, async (_, s) => {
    for (let i = 0; i < perSession; i++) {
      const t = performance.now();
      strict.write({ type: 'statement', at: new Date().toISOString(), session: `s${s}`, identity: 'reporter', upstream: 'corpus', sql: `SELECT ${i}`, verdict: 'allow', rows: 1, tag: 'SELECT 1' });
      await strict.flush();
      latencies.push(performance.now() - t);
    }
  }),
);
const strictMs = performance.now() - t0;
await strict.close();
latencies.sort((a, b) => a - b);
console.log(JSON.stringify({
  strict: {
    sessions: 100, events: perSession * 100, eventsPerSec: Math.round((perSession * 100) / (strictMs / 1000)),
    flushP50Ms: +latencies[Math.floor(latencies.length / 2)].toFixed(3), flushP99Ms: +latencies[Math.floor(latencies.length * 0.99)].toFixed(3),
  },
}));
rmSync(dir, { recursive: true, force: true });
