// The README's demo: embedded Postgres, the gateway, and the promised outcomes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { runDemo } from '../src/demo/main.ts';

test('npm run demo serves masked reads to the reporter and refuses its writes', async () => {
  const demo = await runDemo();
  const connect = async (user: 'reporter' | 'writer') => {
    const c = new pg.Client({ host: '127.0.0.1', port: demo.port, database: 'shop', user, password: demo.tokens[user] });
    await c.connect();
    return c;
  };
  try {
    const reporter = await connect('reporter');
    const rows = await reporter.query('SELECT email, ssn FROM customers ORDER BY id LIMIT 1');
    assert.match(rows.rows[0].email, /^c\*\*\*@example\.com$/);
    assert.match(rows.rows[0].ssn, /^\*\*\*-\*\*-\d{4}$/);
    await assert.rejects(reporter.query('DELETE FROM orders WHERE id = 1'), (e: pg.DatabaseError) => e.code === '42501' && /^scopegate: denied/.test(e.message));
    await reporter.end();
    const writer = await connect('writer');
    const upd = await writer.query("UPDATE orders SET status = 'shipped' WHERE id = 2");
    assert.equal(upd.rowCount, 1);
    await assert.rejects(writer.query('DELETE FROM orders'), /unfiltered-write/);
    await writer.end();
  } finally {
    await demo.stop();
  }
});
