// §C of protocol-cases.md: cross-identity state. The gateway gives every client
// its own upstream connection (no pooling), so C2–C6 and C8 do not apply; C1
// and C7 check that another identity cannot reach, or even see, what one
// session prepared or declared — while that session is open and after it ended.
import { encodeBind, encodeExecute, encodeQuery, encodeSync } from '../../src/protocol/index.ts';
import { allMessages, isRefusal, scanLeak, summary, type Fail, type Results } from './common.ts';
import type { ProtoEnv } from './env.ts';
import { firstError, type Exchange, type WireClient } from './wire-client.ts';

const T = 10_000;

export async function runSectionC(env: ProtoEnv, results: Results, only?: RegExp): Promise<void> {
  if (only && !only.test('C1') && !only.test('C7')) return;
  const ssn = await env.raw.column('public.customers.ssn');
  const q = (c: WireClient, sql: string): Promise<Exchange> => c.exchange(encodeQuery(sql), { timeoutMs: T });

  const setupCoder = async (): Promise<{ coder: WireClient; fails: Fail[] }> => {
    const coder = await env.open('coder');
    const fails: Fail[] = [];
    for (const sql of [
      'PREPARE c1_ssn AS SELECT id, ssn FROM public.customers',
      'BEGIN', 'DECLARE c1_cur CURSOR WITH HOLD FOR SELECT id, ssn FROM public.customers', 'COMMIT',
    ]) {
      const ex = await q(coder, sql);
      if (firstError(ex.messages)) fails.push({ cls: 'over-blocking', reason: `coder: ${sql}: ${summary(ex.messages)}` });
    }
    return { coder, fails };
  };

  /** What the reporter can do with the coder's names. */
  const probe = async (label: string): Promise<Fail[]> => {
    const fails: Fail[] = [];
    const rep = await env.open('reporter');
    const exs: Exchange[] = [];
    for (const sql of ['EXECUTE c1_ssn', 'FETCH ALL FROM c1_cur', 'MOVE ABSOLUTE 1 IN c1_cur']) {
      const ex = await q(rep, sql);
      exs.push(ex);
      if (!firstError(ex.messages)) fails.push({ cls: 'check', reason: `${label}: reporter's ${sql} ran: ${summary(ex.messages)}` });
    }
    const bind = await rep.exchange([encodeBind({ statement: 'c1_ssn' }), encodeExecute('', 0), encodeSync()], { timeoutMs: T });
    exs.push(bind);
    if (!firstError(bind.messages)) fails.push({ cls: 'check', reason: `${label}: reporter's Bind of c1_ssn ran` });
    // C7: the catalogs of prepared statements and cursors show only the session's own.
    for (const sql of ['SELECT name, statement FROM pg_prepared_statements', 'SELECT name, statement FROM pg_cursors']) {
      const ex = await q(rep, sql);
      exs.push(ex);
      const text = allMessages([ex]).flatMap((m) => (m.msg?.type === 'DataRow' ? m.msg.values.map((v) => v?.toString() ?? '') : [])).join(' ');
      if (/c1_ssn|c1_cur/.test(text)) fails.push({ cls: 'leak', reason: `${label}: ${sql} shows the coder's statements: ${text.slice(0, 200)}` });
      const err = firstError(ex.messages);
      if (err && !isRefusal(err)) fails.push({ cls: 'check', reason: `${label}: ${sql}: ${err.C} ${err.M}` });
    }
    rep.end();
    const leak = scanLeak(exs, ssn);
    if (leak) fails.push({ cls: 'leak', reason: `${label}: leaked ${leak}` });
    return fails;
  };

  await results.check('C', 'C1-prepared-by-other-identity', 'while the coder session is open', async () => {
    const { coder, fails } = await setupCoder();
    fails.push(...(await probe('coder connected')));
    // The coder still has its statements (the reporter touched nothing of it).
    const own = await q(coder, 'EXECUTE c1_ssn');
    if (firstError(own.messages)) fails.push({ cls: 'check', reason: `coder's own EXECUTE failed afterwards: ${summary(own.messages)}` });
    coder.end();
    return fails;
  });
  await results.check('C', 'C1-prepared-by-other-identity', 'after the coder disconnected', async () => {
    const { coder, fails } = await setupCoder();
    coder.end();
    await coder.waitClosed(2_000);
    // A pool would hand the coder's upstream connection to the next client: probe several times.
    for (let i = 0; i < 3; i++) fails.push(...(await probe(`coder gone #${i + 1}`)));
    return fails;
  });
  await results.check('C', 'C7-other-sessions-catalog', 'pg_prepared_statements and pg_cursors', async () => {
    // Covered by probe(); here: a reporter session that prepared something sees exactly its own.
    const rep = await env.open('reporter');
    await q(rep, 'PREPARE c7_own AS SELECT 1');
    const { coder } = await setupCoder();
    const ex = await q(rep, 'SELECT name FROM pg_prepared_statements ORDER BY name');
    coder.end();
    rep.end();
    const names = allMessages([ex]).flatMap((m) => (m.msg?.type === 'DataRow' ? [m.msg.values[0]?.toString() ?? ''] : []));
    const err = firstError(ex.messages);
    if (err) return isRefusal(err) ? [] : [{ cls: 'check', reason: `${err.C} ${err.M}` }];
    return names.join(',') === 'c7_own' ? [] : [{ cls: 'check', reason: `expected only c7_own, saw ${names.join(',')}` }];
  });
}
