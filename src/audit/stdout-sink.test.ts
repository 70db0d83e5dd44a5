import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { StdoutAuditSink } from './stdout-sink.ts';
import { sinkContract, statementEvent } from './sink-contract.ts';
import { AuditUnavailableError, type AuditSink } from './types.ts';

const outputs = new Map<AuditSink, string[]>();

sinkContract(
  'stdout (injected stream)',
  () => {
    const stream = new PassThrough();
    const chunks: string[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c.toString('utf8')));
    const sink = new StdoutAuditSink({ stream });
    outputs.set(sink, chunks);
    return sink;
  },
  async (sink) => outputs.get(sink)!.join('').split('\n').filter(Boolean),
);

describe('stdout sink', () => {
  it('writes one chunk per batch, not one per event', async () => {
    const chunks: string[] = [];
    const stream = new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c.toString()), cb()) });
    const sink = new StdoutAuditSink({ stream });
    for (let i = 0; i < 500; i++) sink.write(statementEvent(i));
    await sink.flush();
    assert.equal(chunks.length, 1);
    assert.equal(chunks[0].split('\n').length, 501);
    await sink.close();
  });

  it('a failing stream (EPIPE) makes the sink unhealthy and flush() reject', async () => {
    const stream = new Writable({ write: (_c, _e, cb) => cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })) });
    const sink = new StdoutAuditSink({ stream });
    sink.write(statementEvent(0));
    await assert.rejects(sink.flush(), (err: Error) => err instanceof AuditUnavailableError && /EPIPE/.test(err.message));
    assert.equal(sink.healthy(), false);
    await sink.close();
  });
});
