import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import pg from 'pg';
import { MD5_GROUP, startCluster, TRUST_GROUP } from './cluster.ts';

test('a throwaway cluster answers as superuser, enforces SCRAM, and is gone after stop()', async () => {
  const cluster = await startCluster();
  try {
    const r = await cluster.query<{ u: string; super: boolean }>('SELECT current_user AS u, usesuper AS super FROM pg_user WHERE usename = current_user');
    assert.deepEqual(r.rows, [{ u: cluster.superuser.user, super: true }]);
    assert.equal((await cluster.query('SELECT 1 AS a; SELECT 2 AS b')).rows[0].b, 2, 'multi-statement returns the last result');
    assert.equal((await cluster.query<{ f: string }>("SELECT current_setting('fsync') AS f")).rows[0].f, 'off');

    const psql = await cluster.psql('-At', '-c', 'SELECT 40 + 2');
    assert.equal(psql.code, 0, psql.stderr.toString());
    assert.equal(psql.stdout.toString().trim(), '42');

    const wrong = new pg.Client({ connectionString: cluster.url('postgres', cluster.superuser.user, 'wrong') });
    await assert.rejects(wrong.connect(), /password authentication failed/);

    await cluster.query(`CREATE ROLE ${TRUST_GROUP}; CREATE ROLE ${MD5_GROUP}`);
    await cluster.query(`CREATE ROLE trusted LOGIN IN ROLE ${TRUST_GROUP}`);
    const trusted = new pg.Client({ connectionString: cluster.url('postgres', 'trusted', 'anything') });
    await trusted.connect();
    await trusted.end();
  } finally {
    await cluster.stop();
  }
  assert.ok(!existsSync(cluster.dataDir), 'stop() removes the data dir');
});
