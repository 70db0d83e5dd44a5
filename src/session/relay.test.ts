import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeBindComplete, encodeErrorResponse, encodeParseComplete, encodeReadyForQuery } from '../protocol/backend.ts';
import { MessageFramer } from '../protocol/framer.ts';
import { expectBind, expectExecute, expectParse, expectSync, type ResultPlan } from './expectations.ts';
import { OutputBatch } from './output-batch.ts';
import type { PortalEntry } from './registry.ts';
import { ResponseRelay, rowsOf } from './relay.ts';
import { SlabLedger } from '../masking/slab-pool.ts';

test('rowsOf reads the count after the last space of a command tag, and nothing else', () => {
  assert.equal(rowsOf('SELECT 5'), 5);
  assert.equal(rowsOf('INSERT 0 12'), 12);
  assert.equal(rowsOf('COPY 1000000'), 1_000_000);
  assert.equal(rowsOf('SELECT 0'), 0);
  for (const tag of [undefined, '', 'BEGIN', 'SELECT ', '5', 'SELECT 5x', 'SELECT x5', 'CREATE TABLE']) assert.equal(rowsOf(tag), undefined, String(tag));
});

function relayUnderTest(): { relay: ResponseRelay; out: OutputBatch; desyncs: string[]; feed: (...msgs: Buffer[]) => void } {
  const out = new OutputBatch();
  const desyncs: string[] = [];
  const relay = new ResponseRelay(out, {
    maskByColumn: () => undefined, hasColumnMasks: () => false, scrubCommitErrors: () => false, hashKey: Buffer.alloc(32), slabs: new SlabLedger(),
    onReadyForQuery: () => undefined, onCopyIn: () => undefined, onStatementDone: () => undefined, onDesync: (why) => desyncs.push(why),
  });
  const framer = new MessageFramer(undefined, 'backend');
  const feed = (...msgs: Buffer[]): void => {
    framer.push(Buffer.concat(msgs));
    for (let m = framer.next(); m; m = framer.next()) relay.handle(m);
  };
  return { relay, out, desyncs, feed };
}

const plan = { sql: 'SELECT 1/0', verdict: { maskedColumns: [] }, startedAt: 0 } as unknown as ResultPlan;
const portal = {} as PortalEntry;

test('an error before the gateway forwarded Sync: what it forwards until Sync is not waited for, and its changes are undone', () => {
  const { relay, out, desyncs, feed } = relayUnderTest();
  relay.expect(expectParse());
  relay.expect(expectBind());
  relay.expect(expectExecute(portal, plan));
  feed(encodeParseComplete(), encodeBindComplete(), encodeErrorResponse({ S: 'ERROR', C: '22012', M: 'division by zero' }));
  // The next statement of the pipeline was still being analysed when the error came; the upstream skips it.
  const undone: string[] = [];
  relay.expect(expectParse(() => undone.push('parse')));
  relay.expect(expectBind(() => undone.push('bind')));
  relay.expect(expectExecute(portal, plan));
  relay.expect(expectSync());
  feed(encodeReadyForQuery('I'));
  assert.deepEqual(desyncs, []);
  assert.deepEqual(undone, ['parse', 'bind']);
  assert.ok(relay.idle);
  assert.deepEqual(messageTypes(Buffer.concat(out.take())), ['1', '2', 'E', 'Z']);
});

test('after that Sync, expectations queue again as usual', () => {
  const { relay, desyncs, feed } = relayUnderTest();
  relay.expect(expectExecute(portal, plan));
  feed(encodeErrorResponse({ S: 'ERROR', C: '22012', M: 'division by zero' }));
  relay.expect(expectSync());
  feed(encodeReadyForQuery('I'));
  relay.expect(expectParse());
  relay.expect(expectSync());
  assert.equal(relay.expected.length, 2);
  feed(encodeParseComplete(), encodeReadyForQuery('I'));
  assert.deepEqual(desyncs, []);
  assert.ok(relay.idle);
});

/** The type bytes of a buffer of whole backend messages. */
function messageTypes(buf: Buffer): string[] {
  const types: string[] = [];
  for (let p = 0; p < buf.length; p += 1 + buf.readInt32BE(p + 1)) types.push(String.fromCharCode(buf[p]));
  return types;
}
