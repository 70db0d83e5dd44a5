import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { FanoutSink } from './fanout-sink.ts';
import { FileAuditSink } from './file-sink.ts';
import { StdoutAuditSink } from './stdout-sink.ts';
import { WebhookAuditSink } from './webhook-sink.ts';
import { createAuditSink } from './factory.ts';
import { sinkContract, statementEvent } from './sink-contract.ts';
import { tempDir } from './test-support.ts';
import { AuditUnavailableError, type AuditSink } from './types.ts';
import { verifyChain } from './verify.ts';
import { eventually } from '../approvals/test-clock.ts';

const dir = tempDir();
let n = 0;
const files = new Map<AuditSink, string>();

function fileLines(path: string): string[] {
  try {
    return readFileSync(path, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

sinkContract(
  'fanout (file + stdout), read from the file',
  () => {
    const path = join(dir, `f${n++}.jsonl`);
    const sink = new FanoutSink([new FileAuditSink(path), new StdoutAuditSink({ stream: new PassThrough().resume() })]);
    files.set(sink, path);
    return sink;
  },
  async (sink) => fileLines(files.get(sink)!),
);

describe('fanout sink', () => {
  it('seals each event once: every destination gets the same lines', async () => {
    const path = join(tempDir(), 'audit.jsonl');
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    const sink = new FanoutSink([new FileAuditSink(path), new StdoutAuditSink({ stream: out })]);
    for (let i = 0; i < 100; i++) sink.write(statementEvent(i));
    await sink.flush();
    assert.equal(text, readFileSync(path, 'utf8'));
    await sink.close();
  });

  it('seals in batches off the turn that wrote the events: nothing is serialised until the batch is taken', async () => {
    const path = join(tempDir(), 'audit.jsonl');
    const sink = new FanoutSink([new FileAuditSink(path)]);
    let reads = 0;
    for (let i = 0; i < 3; i++) {
      const event = statementEvent(i) as unknown as Record<string, unknown>;
      Object.defineProperty(event, 'probe', { enumerable: true, get: () => ++reads });
      sink.write(event as never);
      await new Promise((r) => setImmediate(r)); // the writing turn is over
    }
    assert.equal(reads, 0, 'no event was serialised in or right after the turn that wrote it');
    await sink.flush();
    assert.equal(reads, 3, 'each event serialised once, when the batch was taken');
    assert.deepEqual(fileLines(path).map((l) => JSON.parse(l).probe), [1, 2, 3]);
    await sink.close();
  });

  it('seals on one repeating timer while events come, which stops once they do not', async () => {
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const idle = timers();
    const path = join(tempDir(), 'audit.jsonl');
    const sink = new FanoutSink([new FileAuditSink({ path, lingerMs: 0 })]);
    const original = { setTimeout: globalThis.setTimeout, setInterval: globalThis.setInterval };
    let created = 0;
    globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => (created++, original.setTimeout(...args))) as typeof setTimeout;
    globalThis.setInterval = ((...args: Parameters<typeof setInterval>) => (created++, original.setInterval(...args))) as typeof setInterval;
    try {
      for (let i = 0; i < 4; i++) {
        sink.write(statementEvent(i));
        sink.write(statementEvent(i));
        await new Promise<void>((r) => original.setTimeout(r, 7)); // past a tick: a batch per round
      }
    } finally {
      Object.assign(globalThis, original);
    }
    try {
      assert.equal(created, 1, 'four batches, one timer');
      // Polled rather than slept for: a loaded machine delays the ticks and the sleep alike.
      await eventually(() => fileLines(path).length === 8 && timers() === idle, 2000).catch(() => {});
      assert.equal(fileLines(path).length, 8, 'every batch sealed and written without flush()');
      assert.equal(timers(), idle, 'the batch timer stopped after the events did');
    } finally {
      await sink.close();
    }
  });

  it('continues the chain of the file it writes to after a restart', async () => {
    const path = join(tempDir(), 'audit.jsonl');
    const a = new FileAuditSink(path);
    for (let i = 0; i < 5; i++) a.write(statementEvent(i));
    await a.close();
    const sink = new FanoutSink([new FileAuditSink(path), new StdoutAuditSink({ stream: new PassThrough().resume() })]);
    sink.write(statementEvent(5));
    await sink.close();
    const result = await verifyChain(path);
    assert.deepEqual([result.ok, result.events, result.last?.seq], [true, 6, 6]);
  });

  it('is unhealthy and flush() rejects when a required child fails', async () => {
    const sink = new FanoutSink([new FileAuditSink({ path: '/dev/full', retryMs: 60_000 }), new StdoutAuditSink({ stream: new PassThrough().resume() })]);
    sink.write(statementEvent(0));
    await assert.rejects(sink.flush(), AuditUnavailableError);
    assert.equal(sink.healthy(), false);
    assert.match(sink.stats().file.failing ?? '', /ENOSPC|no space/i);
    await sink.close();
  });

  it('an optional child (a webhook that is down) neither blocks flush() nor makes it unhealthy', async () => {
    const path = join(tempDir(), 'audit.jsonl');
    const webhook = new WebhookAuditSink({ url: 'http://127.0.0.1:1/unreachable', backoffMs: 5, closeTimeoutMs: 50 });
    const sink = new FanoutSink([{ sink: new FileAuditSink(path) }, { sink: webhook, required: false }]);
    sink.write(statementEvent(0));
    await sink.flush();
    assert.equal(fileLines(path).length, 1);
    assert.equal(sink.healthy(), true);
    await sink.close();
    assert.equal(sink.stats().webhook.required, false);
  });

  it('records the audit\'s own trouble in the shared chain', async () => {
    const path = join(tempDir(), 'audit.jsonl');
    const a = new FileAuditSink(path);
    a.write(statementEvent(0));
    await a.close();
    const { appendFileSync } = await import('node:fs');
    appendFileSync(path, '{"v":1,"seq":2');
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    const sink = new FanoutSink([new FileAuditSink(path), new StdoutAuditSink({ stream: out })]);
    await new Promise((r) => setImmediate(r));
    await sink.flush();
    assert.match(text, /"seq":2,"at":"[^"]+","type":"audit_recovered"/);
    await sink.close();
    assert.deepEqual([(await verifyChain(path)).ok, (await verifyChain(path)).events], [true, 2]);
  });
});

describe('createAuditSink (from the audit: config)', () => {
  const base = { stdout: false, rotate_bytes: 1024, keep: 2, store: false, fail_closed: true, ack_after_write: false };

  it('builds file, stdout and webhook destinations; the webhook is optional next to a file', async () => {
    const baseDir = tempDir();
    const out = new PassThrough().resume();
    const server = createServer((req, res) => req.resume().on('end', () => res.end()));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`;
    const sink = createAuditSink(
      { ...base, file: 'logs/audit.jsonl', stdout: true, webhook: { url, secret_env: 'HOOK_SECRET', batch_size: 10, flush_ms: 100, max_buffer: 100 } },
      { baseDir, env: { HOOK_SECRET: 'k' }, stdout: out },
    );
    assert.deepEqual(Object.entries(sink.stats()).map(([name, s]) => [name, s.required]), [['file', true], ['stdout', true], ['webhook', false]]);
    sink.write(statementEvent(0));
    await sink.flush();
    assert.equal(fileLines(join(baseDir, 'logs/audit.jsonl')).length, 1);
    await sink.close();
    assert.equal(sink.stats().webhook.written, 1);
    server.close();
  });

  it('writes the file as soon as the fanout hands over a batch, without waiting a second time', async () => {
    const baseDir = tempDir();
    const sink = createAuditSink({ ...base, file: 'audit.jsonl' }, { baseDir, env: {} });
    sink.write(statementEvent(0));
    assert.equal(sink.head.seq, 1); // taking the head seals the batch and hands it to the file now
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(fileLines(join(baseDir, 'audit.jsonl')).length, 1);
    await sink.close();
  });

  it('makes a lone webhook required, refuses a missing secret, and is a healthy no-op with no destination', async () => {
    const hook = { url: 'http://127.0.0.1:1/x', batch_size: 10, flush_ms: 100, max_buffer: 100 };
    const alone = createAuditSink({ ...base, webhook: hook }, { baseDir: '.', env: {} });
    assert.equal(alone.stats().webhook.required, true);
    await alone.close();
    assert.throws(() => createAuditSink({ ...base, webhook: { ...hook, secret_env: 'NOPE' } }, { baseDir: '.', env: {} }), /NOPE is not set/);
    const none = createAuditSink(base, { baseDir: '.', env: {} });
    none.write(statementEvent(0));
    await none.flush();
    assert.equal(none.healthy(), true);
    await none.close();
  });
});
