import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Review } from '../store/types.ts';
import { WebhookNotifier } from './notify.ts';
import type { ReviewSettings, WebhookSettings } from './types.ts';

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  at: number;
}

const review: Review = {
  id: 'rv_abcdefghij',
  status: 'pending',
  identity: 'reporter',
  groups: ['reporting'],
  upstream: 'corpus',
  session: 's1',
  sql: "UPDATE analytics.flags SET note = '<b>&' WHERE id = $1",
  params: ['7', null],
  reasons: ['policy "flags": review update analytics.flags'],
  mode: 'hold',
  approverGroups: [],
  createdAt: '2025-01-01T12:00:00.000Z',
  expiresAt: '2025-01-01T12:05:00.000Z',
};

function settings(...webhooks: WebhookSettings[]): ReviewSettings {
  return { mode: 'hold', timeoutS: 300, asyncTtlS: 900, approverGroups: [], webhooks };
}

describe('webhook notifier (against a real HTTP server on 127.0.0.1)', () => {
  let server: Server;
  let base: string;
  let received: Received[];
  /** Per path: status codes to answer in turn (then 200); 'hang' never answers. */
  let script: Record<string, (number | 'hang')[]>;

  before(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
        const next = script[req.url ?? '']?.shift() ?? 200;
        if (next === 'hang') return;
        res.writeHead(next).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    received = [];
    script = {};
  });

  it('posts the review as JSON signed with an HMAC-SHA256 of the body', async () => {
    const n = new WebhookNotifier({ env: { HOOK_SECRET: 's3cret' }, publicUrl: 'https://gw.example/', log: () => undefined });
    n.notify(review, settings({ url: `${base}/json`, secretEnv: 'HOOK_SECRET', format: 'json' }));
    await n.drain();
    assert.equal(received.length, 1);
    const [r] = received;
    const expected = `sha256=${createHmac('sha256', 's3cret').update(r.body).digest('hex')}`;
    assert.equal(r.headers['x-scopegate-signature'], expected);
    assert.equal(r.headers['content-type'], 'application/json');
    const body = JSON.parse(r.body) as { type: string; review: Review; decide: { approve: string; url: string } };
    assert.equal(body.type, 'review_requested');
    assert.equal(body.review.id, review.id);
    assert.equal(body.review.sql, review.sql);
    assert.deepEqual(body.review.params, ['7', null]);
    assert.equal(body.decide.approve, 'scopegate review approve rv_abcdefghij');
    assert.equal(body.decide.url, 'https://gw.example/api/reviews/rv_abcdefghij');
    assert.deepEqual(n.stats, { sent: 1, failed: 0, dropped: 0, retried: 0 });
  });

  it('posts a Slack-compatible message with escaped text', async () => {
    const n = new WebhookNotifier({ log: () => undefined });
    n.notify(review, settings({ url: `${base}/slack`, format: 'slack' }));
    await n.drain();
    const body = JSON.parse(received[0].body) as { text: string; blocks: { type: string; text?: { type: string; text: string } }[] };
    assert.match(body.text, /rv_abcdefghij: reporter wants to run a statement on corpus/);
    assert.equal(received[0].headers['x-scopegate-signature'], undefined, 'unsigned without secret_env');
    const texts = body.blocks.map((b) => b.text?.text ?? '').join('\n');
    assert.match(texts, /&lt;b&gt;&amp;/);
    assert.match(texts, /\$1 = '7', \$2 = NULL/);
    assert.match(texts, /scopegate review approve rv_abcdefghij/);
    assert.ok(body.blocks.every((b) => ['section', 'context'].includes(b.type)));
  });

  it('notifies every webhook of the review', async () => {
    const n = new WebhookNotifier({ log: () => undefined });
    n.notify(review, settings({ url: `${base}/a`, format: 'json' }, { url: `${base}/b`, format: 'slack' }));
    await n.drain();
    assert.deepEqual(received.map((r) => r.path).sort(), ['/a', '/b']);
  });

  it('retries server errors with exponential backoff until delivered', async () => {
    script['/flaky'] = [500, 503, 429];
    const n = new WebhookNotifier({ baseDelayMs: 25, log: () => undefined });
    n.notify(review, settings({ url: `${base}/flaky`, format: 'json' }));
    await n.drain();
    assert.equal(received.length, 4);
    const gaps = received.slice(1).map((r, i) => r.at - received[i].at);
    assert.ok(gaps[0] >= 20 && gaps[1] >= 45 && gaps[2] >= 95, `gaps ${gaps.join(', ')}`);
    assert.deepEqual(n.stats, { sent: 1, failed: 0, dropped: 0, retried: 3 });
  });

  it('gives up after five tries, and at once on a client error, logging without the URL path', async () => {
    script['/down/T0KEN'] = [500, 500, 500, 500, 500, 500];
    script['/gone'] = [404];
    const logs: string[] = [];
    const n = new WebhookNotifier({ baseDelayMs: 1, log: (m) => logs.push(m) });
    n.notify(review, settings({ url: `${base}/down/T0KEN`, format: 'json' }, { url: `${base}/gone`, format: 'json' }));
    await n.drain();
    assert.equal(received.filter((r) => r.path === '/down/T0KEN').length, 5);
    assert.equal(received.filter((r) => r.path === '/gone').length, 1);
    assert.equal(n.stats.failed, 2);
    assert.ok(logs.some((l) => /failed after 5 tries \(HTTP 500\)/.test(l)));
    assert.ok(logs.some((l) => /failed after 1 try \(HTTP 404\)/.test(l)));
    assert.ok(logs.every((l) => !l.includes('T0KEN')));
  });

  it('never blocks the caller, even when the receiver hangs', async () => {
    script['/hang'] = ['hang'];
    const n = new WebhookNotifier({ timeoutMs: 100, attempts: 1, log: () => undefined });
    const started = performance.now();
    n.notify(review, settings({ url: `${base}/hang`, format: 'json' }));
    assert.ok(performance.now() - started < 50);
    await n.drain();
    assert.equal(n.stats.failed, 1);
  });

  it('drops deliveries beyond the queue bound and skips a webhook whose secret is missing', async () => {
    script['/slow'] = ['hang', 'hang'];
    const logs: string[] = [];
    const n = new WebhookNotifier({ maxQueue: 2, timeoutMs: 100, attempts: 1, log: (m) => logs.push(m), env: {} });
    for (let i = 0; i < 3; i++) n.notify(review, settings({ url: `${base}/slow`, format: 'json' }));
    n.notify(review, settings({ url: `${base}/signed`, format: 'json', secretEnv: 'MISSING_SECRET' }));
    await n.drain();
    assert.equal(n.stats.dropped, 1);
    assert.ok(logs.some((l) => /queue is full/.test(l)));
    assert.ok(logs.some((l) => /secret variable MISSING_SECRET is not set/.test(l)));
    assert.equal(received.filter((r) => r.path === '/signed').length, 0);
  });
});
