import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebhookAuditSink, type WebhookSinkOptions } from './webhook-sink.ts';
import { sinkContract, statementEvent } from './sink-contract.ts';
import { waitFor } from './test-support.ts';
import { AuditUnavailableError, type AuditRecord, type AuditSink } from './types.ts';

interface Received {
  body: string;
  headers: IncomingHttpHeaders;
  status: number;
}

/** A collector on 127.0.0.1 answering with `status(requestNumber)` (0 = never answer). */
async function collector(status: (n: number) => number = () => 200): Promise<{ url: string; received: Received[]; accepted(): AuditRecord[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const code = status(received.length + 1);
      received.push({ body, headers: req.headers, status: code });
      if (code !== 0) res.writeHead(code).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/audit`;
  const accepted = (): AuditRecord[] => received.filter((r) => r.status >= 200 && r.status < 300).flatMap((r) => JSON.parse(r.body) as AuditRecord[]);
  return { url, received, accepted, server };
}

const sinks = new Map<AuditSink, () => AuditRecord[]>();

sinkContract(
  'webhook (real HTTP server on 127.0.0.1)',
  async () => {
    const c = await collector();
    const sink = new WebhookAuditSink({ url: c.url, batchSize: 50, flushMs: 20 });
    sinks.set(sink, c.accepted);
    return sink;
  },
  async (sink) => sinks.get(sink)!(),
);

function sinkFor(url: string, o: Partial<WebhookSinkOptions> = {}): WebhookAuditSink {
  return new WebhookAuditSink({ url, backoffMs: 10, maxBackoffMs: 40, random: () => 0.5, ...o });
}

describe('webhook sink', () => {
  it('sends a batch as soon as batch_size events are queued, and the rest after flush_ms', async () => {
    const c = await collector();
    const sink = sinkFor(c.url, { batchSize: 10, flushMs: 150 });
    for (let i = 0; i < 35; i++) sink.write(statementEvent(i));
    await waitFor(() => c.received.length === 3);
    assert.deepEqual(c.received.map((r) => (JSON.parse(r.body) as unknown[]).length), [10, 10, 10]);
    assert.deepEqual(c.received.map((r) => r.headers['x-scopegate-seq']), ['1-10', '11-20', '21-30']);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(c.received.length, 3, 'the last 5 wait for flush_ms');
    await waitFor(() => c.received.length === 4);
    assert.equal(c.accepted().length, 35);
    await sink.close();
  });

  it('signs each body with HMAC-SHA256 when a secret is set', async () => {
    const c = await collector();
    const sink = sinkFor(c.url, { secret: 's3cret' });
    sink.write(statementEvent(0));
    await sink.flush();
    const [req] = c.received;
    assert.equal(req.headers['content-type'], 'application/json');
    assert.equal(req.headers['x-scopegate-signature'], 'sha256=' + createHmac('sha256', 's3cret').update(req.body).digest('hex'));
    await sink.close();

    const plain = await collector();
    const unsigned = sinkFor(plain.url);
    unsigned.write(statementEvent(0));
    await unsigned.flush();
    assert.equal(plain.received[0].headers['x-scopegate-signature'], undefined);
    await unsigned.close();
  });

  it('retries after a 500 with backoff, delivering every event once and in order', async () => {
    const c = await collector((n) => (n <= 2 ? 500 : 200));
    const sink = sinkFor(c.url, { batchSize: 5 });
    for (let i = 0; i < 12; i++) sink.write(statementEvent(i));
    await assert.rejects(sink.flush(), (err: Error) => err instanceof AuditUnavailableError && /500/.test(err.message));
    assert.equal(sink.healthy(), false);
    await waitFor(() => sink.healthy() && sink.stats().backlog === 0);
    await sink.flush();
    assert.deepEqual(c.accepted().map((r) => r.seq), Array.from({ length: 12 }, (_, i) => i + 1));
    assert.equal(c.received[0].body, c.received[1].body, 'a retry sends the same body');
    assert.equal(sink.retryCount, 2);
    assert.equal(sink.dropped, 0);
    await sink.close();
  });

  it('keeps at most max_buffer events while the collector is down and counts the dropped ones', async () => {
    let up = false;
    const c = await collector(() => (up ? 200 : 503));
    const sink = sinkFor(c.url, { batchSize: 5, maxBuffer: 10 });
    for (let i = 0; i < 25; i++) sink.write(statementEvent(i));
    assert.equal(sink.dropped, 15);
    assert.equal(sink.stats().dropped, 15);
    assert.equal(sink.healthy(), false);
    up = true;
    await waitFor(() => sink.stats().backlog === 0);
    assert.deepEqual(c.accepted().map((r) => r.seq), Array.from({ length: 10 }, (_, i) => i + 1));
    assert.equal(sink.healthy(), true);
    assert.equal(sink.dropped, 15);
    await sink.close();
  });

  it('drops a batch the collector rejects with a 4xx, and counts it', async () => {
    const c = await collector((n) => (n === 1 ? 400 : 200));
    const sink = sinkFor(c.url, { batchSize: 3 });
    for (let i = 0; i < 3; i++) sink.write(statementEvent(i));
    await assert.rejects(sink.flush(), /400/);
    assert.equal(sink.dropped, 3);
    sink.write(statementEvent(3));
    await waitFor(() => c.accepted().length === 1);
    // The collector has the batch before the sink has read the 200: wait for the sink to see it.
    await waitFor(() => sink.healthy());
    assert.equal(sink.healthy(), true);
    await sink.close();
  });

  it('close() gives up after close_timeout when the collector does not answer, counting what it lost', async () => {
    const c = await collector(() => 0);
    const sink = sinkFor(c.url, { closeTimeoutMs: 100, timeoutMs: 60_000 });
    for (let i = 0; i < 7; i++) sink.write(statementEvent(i));
    const t = Date.now();
    await sink.close();
    assert.ok(Date.now() - t < 2000);
    assert.equal(sink.dropped, 7);
  });
});
