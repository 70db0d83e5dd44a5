import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { sharedCluster, type Cluster } from './cluster.ts';
import { startRecorder, type Recorder } from './recorder.ts';

let cluster: Cluster;
let recorder: Recorder;

before(async () => {
  cluster = await sharedCluster();
  recorder = await startRecorder({ host: cluster.host, port: cluster.port });
});
after(() => recorder.close());

function client(): pg.Client {
  return new pg.Client({ host: recorder.host, port: recorder.port, user: cluster.superuser.user, password: cluster.superuser.password, database: 'postgres' });
}

test('the recorder relays a real session and keeps every byte the server sent', async () => {
  const c = client();
  await c.connect();
  const r = await c.query({ text: "SELECT 'canary-' || 'value' AS v", values: [] });
  assert.equal(r.rows[0].v, 'canary-value');
  await c.query({ text: 'SELECT $1::text AS echo', values: ['from-the-client'] });
  await c.end();
  const conns = recorder.connections();
  assert.equal(conns.length, 1);
  const bytes = recorder.take();
  assert.ok(bytes.includes('canary-value'), 'DataRow bytes recorded');
  assert.ok(bytes.includes('server_version'), 'ParameterStatus recorded');
  assert.ok(Buffer.concat(conns[0].fromClient).includes('from-the-client'), 'client bytes recorded separately');
  assert.equal(recorder.take().length, 0, 'take() forgets what it returned');
});

test('dropAll() ends a session that hangs', async () => {
  const c = client();
  c.on('error', () => undefined);
  await c.connect();
  const hung = c.query('SELECT pg_sleep(30)');
  await new Promise((r) => setTimeout(r, 100));
  recorder.dropAll();
  await assert.rejects(hung);
  recorder.take();
});
