import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileAuditSink } from './file-sink.ts';
import { resolveAuditFiles } from './files.ts';
import { sinkContract, statementEvent } from './sink-contract.ts';
import { tempDir, waitFor } from './test-support.ts';
import { AuditUnavailableError, type AuditRecord, type AuditSink } from './types.ts';
import { verifyChain } from './verify.ts';

const paths = new Map<AuditSink, string>();
let n = 0;

function readRecords(path: string): AuditRecord[] {
  if (!existsSync(path) && resolveAuditFilesSafe(path).length === 0) return [];
  return resolveAuditFilesSafe(path).flatMap((f) =>
    readFileSync(f, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as AuditRecord),
  );
}

function resolveAuditFilesSafe(path: string): string[] {
  try {
    return resolveAuditFiles(path);
  } catch {
    return [];
  }
}

const contractDir = tempDir();
sinkContract(
  'file',
  () => {
    const path = join(contractDir, `c${n++}`, 'audit.jsonl');
    const sink = new FileAuditSink({ path });
    paths.set(sink, path);
    return sink;
  },
  async (sink) => readRecords(paths.get(sink)!),
);

sinkContract(
  'file, rotating every ~16 KB',
  () => {
    const path = join(contractDir, `r${n++}`, 'audit.jsonl');
    const sink = new FileAuditSink({ path, rotateBytes: 16_384, keep: 1000 });
    paths.set(sink, path);
    return sink;
  },
  async (sink) => readRecords(paths.get(sink)!),
);

async function writeEvents(sink: FileAuditSink, from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i++) sink.write(statementEvent(i));
  await sink.flush();
}

describe('file sink: rotation', () => {
  it('rotates before a file passes rotate_bytes, keeps N rotated files, and the chain runs across them', async () => {
    const dir = tempDir();
    const path = join(dir, 'audit.jsonl');
    const sink = new FileAuditSink({ path, rotateBytes: 2000, keep: 3 });
    await writeEvents(sink, 0, 200);
    await sink.close();
    assert.deepEqual(readdirSync(dir).sort(), ['audit.1.jsonl', 'audit.2.jsonl', 'audit.3.jsonl', 'audit.jsonl']);
    for (const f of readdirSync(dir)) assert.ok(statSync(join(dir, f)).size <= 2000, `${f} is within rotate_bytes`);
    const files = resolveAuditFiles(path);
    assert.deepEqual(files.map((f) => f.slice(dir.length + 1)), ['audit.3.jsonl', 'audit.2.jsonl', 'audit.1.jsonl', 'audit.jsonl']);
    const result = await verifyChain(path);
    assert.equal(result.ok, true);
    assert.equal(result.firstBad, undefined);
    assert.equal(result.last?.seq, 200);
    assert.ok(result.first!.seq > 1, 'the oldest events were rotated away');
    // The first line of each newer file links to the last line of the one before.
    const last1 = readRecords(files[2]).at(-1)!;
    const first0 = JSON.parse(readFileSync(path, 'utf8').split('\n')[0]) as AuditRecord;
    assert.equal(first0.prev, last1.hash);
  });

  it('keep: 0 starts a new file without keeping the old one', async () => {
    const dir = tempDir();
    const path = join(dir, 'audit.jsonl');
    const sink = new FileAuditSink({ path, rotateBytes: 1000, keep: 0 });
    await writeEvents(sink, 0, 50);
    await sink.close();
    assert.deepEqual(readdirSync(dir), ['audit.jsonl']);
    assert.equal((await verifyChain(path)).ok, true);
  });
});

describe('file sink: restart', () => {
  it('continues the chain from the last line after a restart', async () => {
    const path = join(tempDir(), 'audit.jsonl');
    const a = new FileAuditSink(path);
    await writeEvents(a, 0, 10);
    await a.close();
    const b = new FileAuditSink(path);
    await writeEvents(b, 10, 5);
    await b.close();
    const recs = readRecords(path);
    assert.deepEqual(recs.map((r) => r.seq), Array.from({ length: 15 }, (_, i) => i + 1));
    assert.equal(recs[10].prev, recs[9].hash);
    assert.equal((await verifyChain(path)).events, 15);
  });

  it('continues from the newest rotated file when the live file is missing (crash mid-rotation)', async () => {
    const dir = tempDir();
    const path = join(dir, 'audit.jsonl');
    const a = new FileAuditSink(path);
    await writeEvents(a, 0, 10);
    await a.close();
    renameSync(path, join(dir, 'audit.1.jsonl'));
    const b = new FileAuditSink(path);
    await writeEvents(b, 10, 3);
    await b.close();
    const result = await verifyChain(path);
    assert.deepEqual([result.ok, result.events, result.firstBad], [true, 13, undefined]);
  });

  it('cuts a partial last line left by a crash and records that it did', async () => {
    const path = join(tempDir(), 'audit.jsonl');
    const a = new FileAuditSink(path);
    await writeEvents(a, 0, 10);
    await a.close();
    appendFileSync(path, '{"v":1,"seq":11,"at":"2024-05-01T12:00:00.0');
    const before = await verifyChain(path);
    assert.equal(before.ok, true);
    assert.equal(before.firstBad?.problem, 'truncated');
    assert.equal(before.firstBad?.line, 11);

    const b = new FileAuditSink(path);
    await writeEvents(b, 10, 2);
    await b.close();
    const recs = readRecords(path);
    const recovered = recs.find((r) => r.type === 'audit_recovered');
    assert.ok(recovered && recovered.type === 'audit_recovered');
    assert.equal(recovered.problem, 'partial_line_discarded');
    assert.equal(recovered.bytes, 43);
    const after = await verifyChain(path);
    assert.deepEqual([after.ok, after.events, after.firstBad], [true, 13, undefined]);
  });

  it('survives kill -9 in the middle of writing: verify passes on what is on disk, and a restart continues the chain', async () => {
    const dir = tempDir();
    const path = join(dir, 'audit.jsonl');
    const script = join(dir, 'writer.mts');
    const sinkModule = fileURLToPath(new URL('./file-sink.ts', import.meta.url));
    const eventsModule = fileURLToPath(new URL('./sink-contract.ts', import.meta.url));
    writeFileSync(
      script,
      `import { FileAuditSink } from ${JSON.stringify(sinkModule)};
const sink = new FileAuditSink({ path: ${JSON.stringify(path)}, rotateBytes: 200000, keep: 100 });
const pad = 'x'.repeat(2000);
let i = 0;
for (;;) {
  for (let j = 0; j < 200; j++, i++) sink.write({ type: 'statement', at: new Date().toISOString(), session: 's', identity: 'i', upstream: 'u', sql: 'SELECT ' + i + ' -- ' + pad, verdict: 'allow' });
  await sink.flush();
  if (i === 2000) process.stdout.write('ready\\n');
}
void ${JSON.stringify(eventsModule)};
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`writer exited early (${code})`)));
    });
    await new Promise((r) => setTimeout(r, 150));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const result = await verifyChain(path);
    assert.equal(result.ok, true, JSON.stringify(result.firstBad));
    assert.ok(result.events >= 2000);
    assert.ok(!result.firstBad || result.firstBad.problem === 'truncated');

    const b = new FileAuditSink({ path, rotateBytes: 200000, keep: 100 });
    await writeEvents(b, 0, 5);
    await b.close();
    const again = await verifyChain(path);
    assert.deepEqual([again.ok, again.firstBad], [true, undefined]);
    assert.ok(again.events >= result.events + 5);
  });
});

describe('file sink: fail closed', () => {
  it('a full disk makes flush() reject and the sink unhealthy', { skip: !existsSync('/dev/full') }, async () => {
    const sink = new FileAuditSink({ path: '/dev/full', retryMs: 60_000 });
    assert.equal(sink.healthy(), true);
    sink.write(statementEvent(0));
    await assert.rejects(sink.flush(), (err: Error) => err instanceof AuditUnavailableError && /ENOSPC|no space/i.test(err.message));
    assert.equal(sink.healthy(), false);
    assert.match(sink.stats().failing ?? '', /ENOSPC|no space/i);
    sink.write(statementEvent(1));
    await assert.rejects(sink.flush(), AuditUnavailableError);
    await sink.close();
  });

  it('a path that cannot be created leaves the sink unhealthy from the start', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'not-a-dir'), '');
    const sink = new FileAuditSink({ path: join(dir, 'not-a-dir', 'audit.jsonl'), retryMs: 60_000 });
    assert.equal(sink.healthy(), false);
    sink.write(statementEvent(0));
    await assert.rejects(sink.flush(), AuditUnavailableError);
    await sink.close();
  });

  it('removing the directory makes the sink fail; when it is back, the queued events are written and the gap is recorded', async () => {
    const root = tempDir();
    const dir = join(root, 'audit');
    const path = join(dir, 'audit.jsonl');
    const sink = new FileAuditSink({ path, retryMs: 20 });
    await writeEvents(sink, 0, 3);
    rmSync(dir, { recursive: true });
    sink.write(statementEvent(3));
    await assert.rejects(sink.flush(), AuditUnavailableError);
    assert.equal(sink.healthy(), false);

    mkdirSync(dir);
    await waitFor(() => sink.healthy());
    await sink.flush();
    await sink.close();
    const recs = readRecords(path);
    assert.deepEqual(recs.map((r) => (r.type === 'audit_recovered' ? r.problem : r.type)), ['statement', 'file_removed', 'write_failed']);
    assert.equal(recs[0].seq, 4);
    const result = await verifyChain(path);
    assert.deepEqual([result.ok, result.events], [true, 3]);
  });

  it('a deleted live file is recreated and the deletion recorded in the chain', async () => {
    const path = join(tempDir(), 'audit.jsonl');
    const sink = new FileAuditSink(path);
    await writeEvents(sink, 0, 3);
    rmSync(path);
    await writeEvents(sink, 3, 2);
    await sink.flush();
    await sink.close();
    const recs = readRecords(path);
    assert.deepEqual(recs.map((r) => r.seq), [4, 5, 6]);
    assert.deepEqual(recs.map((r) => r.type), ['statement', 'statement', 'audit_recovered']);
    assert.equal(sink.healthy(), false); // closed
  });

  it('drops and counts events beyond the backlog bound while failing', async () => {
    const sink = new FileAuditSink({ path: '/dev/full', retryMs: 60_000, maxBacklog: 10 });
    for (let i = 0; i < 25; i++) sink.write(statementEvent(i));
    assert.equal(sink.dropped, 15);
    assert.equal(sink.healthy(), false);
    await sink.close();
  });
});
