import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as protocol from './index.ts';

test('the public API is reachable from index.ts and works end to end', () => {
  const framer = new protocol.MessageFramer(protocol.defaultFrameLimits, 'frontend');
  framer.push(protocol.encodeStartupMessage({ user: 'reporter', database: 'corpus' }));
  framer.push(protocol.encodeQuery('SELECT 1'));
  const startup = framer.next()!;
  assert.deepEqual(protocol.decodeStartup(startup.body), {
    type: 'StartupMessage', protocolVersion: protocol.PROTOCOL_3_0, parameters: { user: 'reporter', database: 'corpus' }, duplicateKeys: [],
  });
  const q = framer.next()!;
  assert.deepEqual(protocol.decodeFrontend(q.type, q.body), { type: 'Query', sql: 'SELECT 1' });
  const err = protocol.encodeErrorResponse(protocol.errorFields(new protocol.PgError('42501', 'scopegate: denied')));
  assert.equal(protocol.decodeBackend(err[0], err.subarray(5)).type, 'ErrorResponse');
  assert.equal(typeof protocol.ScramClient, 'function');
  assert.equal(typeof protocol.dataRowFieldOffsets, 'function');
});
