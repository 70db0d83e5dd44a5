// §B of protocol-cases.md: protocol features that are bypasses in themselves.
import pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { findLeak } from '../../src/masking/leak-forms.ts';
import {
  encodeBind, encodeCancelRequest, encodeExecute, encodeParse, encodeQuery, encodeStartupMessage, encodeSync,
} from '../../src/protocol/index.ts';
import type { Identity } from '../corpus/cases.ts';
import { CORPUS_DB } from '../corpus/fingerprint.ts';
import { GW_ROLE } from '../corpus/database.ts';
import { startVictim } from '../corpus/victim.ts';
import {
  allMessages, functionCall, isRefusal, msg, probeSession, PROBED, rawQuery, scanLeak, startupPacket, summary, type Fail, type Results,
} from './common.ts';
import type { ProtoEnv } from './env.ts';
import { firstError, WireClient, type Exchange } from './wire-client.ts';

const T = 10_000;
const CUSTOMER_COLUMNS = ['public.customers.email', 'public.customers.ssn', 'public.customers.card_number', 'public.customers.phone'];

function hasError(exs: Exchange | Exchange[]): boolean {
  return !!firstError(allMessages(Array.isArray(exs) ? exs : [exs]));
}

/** A startup the gateway must refuse: no ReadyForQuery, an error or a close. */
function refusedStartup(r: { ok: boolean; error?: Record<string, string>; exchange: Exchange }, what: string): Fail[] {
  if (r.ok) return [{ cls: 'check', reason: `${what}: the gateway accepted the session` }];
  if (r.exchange.timedOut) return [{ cls: 'check', reason: `${what}: no answer (hang)` }];
  return [];
}

export async function runSectionB(env: ProtoEnv, results: Results, only?: RegExp): Promise<void> {
  const want = (v: string, id: string): boolean => !only || only.test(v) || only.test(id);
  const pii = await env.raw.columns(CUSTOMER_COLUMNS);
  const secrets = await env.raw.columns(['billing.api_keys.secret', 'billing.invoices.invoice_number']);
  const effects = async (): Promise<string[]> => {
    const e = await env.db.changes();
    if (e.length > 0) env.db.dirty = true;
    return e;
  };
  const noEffects = async (what: string): Promise<Fail[]> => {
    const e = await effects();
    return e.length ? [{ cls: 'bypass', reason: `${what}: ${e.slice(0, 3).join('; ')}` }] : [];
  };
  const reset = async (): Promise<void> => {
    if (env.db.dirty) await env.db.reset();
  };
  const startupWith = async (params: Record<string, string>, identity: Identity = 'reporter', raw?: Buffer): Promise<{ c: WireClient; r: Awaited<ReturnType<WireClient['startup']>> }> => {
    const c = await env.connect();
    if (raw) {
      c.write(raw);
      return { c, r: await c.authenticate(env.tokens[identity].token, 5_000) };
    }
    return { c, r: await c.startup(params, env.tokens[identity].token, 5_000) };
  };
  const baseline = await (async () => {
    const c = await env.open('reporter');
    const b = await probeSession(c);
    c.end();
    return b;
  })();

  // ---------------------------------------------------------------- B1 FunctionCall
  await reset();
  if (want('B1', 'function-call')) {
    const oids = await env.cluster.query<{ oid: number; sig: string }>(
      'SELECT oid::int AS oid, oid::regprocedure::text AS sig FROM pg_proc WHERE oid IN (764, 765, 957, 952, 954, 955, 3826, 2078, 2096, 2626) ORDER BY oid',
    );
    const sig = new Map(oids.rows.map((r) => [r.oid, r.sig]));
    for (const identity of ['reporter', 'coder'] as const) {
      await results.check('B', 'B1-function-call', identity, async () => {
        const victim = await startVictim(env.cluster, CORPUS_DB, GW_ROLE, env.db.gatewayPassword);
        const fails: Fail[] = [];
        try {
          const vp = await env.cluster.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = 'corpus-victim'");
          const victimPid = vp.rows[0]?.pid ?? 0;
          const calls: Array<[number, Array<string | null>]> = [
            [764, ['/etc/hostname']], [765, ['1', '/tmp/corpus/canary/lo_export_fcall']], [957, ['-1']], [952, ['1', '262144']],
            [954, ['0', '10']], [955, ['0', 'AAAA']], [3826, ['postgresql.conf']], [2078, ['search_path', 'billing, public', 'false']],
            [2096, [String(victimPid), '0']], [2626, ['0.5']],
          ];
          const cl = await env.open(identity);
          for (const [oid, args] of calls) {
            const ex = await cl.exchange(functionCall(oid, args), { timeoutMs: T });
            const err = firstError(ex.messages);
            if (!isRefusal(err)) fails.push({ cls: err ? 'forwarded' : 'bypass', reason: `F(${oid} ${sig.get(oid) ?? '?'}): ${summary(ex.messages)}` });
            if (ex.messages.some((m) => m.type === 'V')) fails.push({ cls: 'bypass', reason: `F(${oid}) returned a FunctionCallResponse` });
          }
          const after = await probeSession(cl);
          for (const p of PROBED) if (baseline && after && after[p] !== baseline[p]) fails.push({ cls: 'bypass', reason: `session ${p} changed to ${after[p]}` });
          const ok = await cl.exchange(encodeQuery('SELECT 1'), { timeoutMs: T });
          if (hasError(ok)) fails.push({ cls: 'check', reason: `session unusable after FunctionCall: ${summary(ok.messages)}` });
          cl.end();
          const signal = await victim.signalled();
          if (signal) fails.push({ cls: 'bypass', reason: `victim session ${signal}` });
        } finally {
          await victim.stop();
        }
        return [...fails, ...(await noEffects('FunctionCall'))];
      });
    }
  }

  // ---------------------------------------------------------------- B2 replication
  if (want('B2', 'replication')) {
    for (const value of ['database', 'true', 'on', '1']) {
      await results.check('B', 'B2-replication-startup', `replication=${value}`, async () => {
        const { c, r } = await startupWith(env.startupParams('reporter', { replication: value }));
        const fails = refusedStartup(r, `replication=${value}`);
        if (r.ok) {
          for (const cmd of ['IDENTIFY_SYSTEM', 'CREATE_REPLICATION_SLOT s LOGICAL test_decoding', 'START_REPLICATION SLOT s LOGICAL 0/0', 'BASE_BACKUP']) {
            const ex = await c.exchange(encodeQuery(cmd), { timeoutMs: 5_000 });
            if (!hasError(ex)) fails.push({ cls: 'bypass', reason: `${cmd} ran: ${summary(ex.messages)}` });
          }
        }
        c.destroy();
        return fails;
      });
    }
    await results.check('B', 'B2-replication-commands', 'normal-session', async () => {
      const fails: Fail[] = [];
      const c = await env.open('coder');
      for (const cmd of ['IDENTIFY_SYSTEM', 'CREATE_REPLICATION_SLOT s LOGICAL test_decoding', 'START_REPLICATION SLOT s LOGICAL 0/0', 'BASE_BACKUP',
        "SELECT pg_create_logical_replication_slot('s', 'test_decoding')"]) {
        const ex = await c.exchange(encodeQuery(cmd), { timeoutMs: 5_000 });
        if (!hasError(ex)) fails.push({ cls: 'bypass', reason: `${cmd} ran` });
      }
      c.end();
      const slots = await env.cluster.query<{ n: string }>('SELECT count(*) AS n FROM pg_replication_slots');
      if (Number(slots.rows[0].n) > 0) fails.push({ cls: 'bypass', reason: 'a replication slot exists' });
      return fails;
    });
  }

  // ---------------------------------------------------------------- B3 startup options and GUC keys
  if (want('B3', 'options')) {
    const options = [
      '-c search_path=billing,public', '-c role=postgres', '-c session_authorization=postgres', '-c default_transaction_read_only=off',
      '-c session_replication_role=replica', '-c row_security=off', '--search_path=billing', '-c statement_timeout=0', '-csearch_path=billing',
    ];
    const keys: Record<string, string> = {
      search_path: 'billing', role: 'postgres', session_authorization: 'postgres', default_transaction_read_only: 'off',
      session_replication_role: 'replica', row_security: 'off', statement_timeout: '0', Search_Path: 'billing', 'search_path ': 'billing',
    };
    const cases: Array<[string, Record<string, string>]> = [
      ...options.map((o): [string, Record<string, string>] => [`options=${o}`, { options: o }]),
      ...Object.entries(keys).map(([k, v]): [string, Record<string, string>] => [`${k}=${v}`, { [k]: v }]),
    ];
    for (const [id, extra] of cases) {
      await results.check('B', 'B3-startup-settings', id, async () => {
        const { c, r } = await startupWith(env.startupParams('reporter', extra));
        const fails: Fail[] = [];
        if (r.ok) {
          // Accepted: the setting must have been stripped.
          const now = await probeSession(c);
          for (const p of PROBED) if (baseline && now && now[p] !== baseline[p]) fails.push({ cls: 'bypass', reason: `${id} was applied: ${p}=${now[p]}` });
          const sp = await c.exchange(encodeQuery('SHOW search_path'), { timeoutMs: T });
          const shown = sp.messages.flatMap((m) => (m.msg?.type === 'DataRow' ? [m.msg.values[0]?.toString() ?? ''] : [])).join();
          if (/billing/.test(shown)) fails.push({ cls: 'bypass', reason: `search_path is ${shown}` });
        } else if (r.exchange.timedOut) fails.push({ cls: 'check', reason: 'no answer' });
        c.destroy();
        return fails;
      });
    }
  }

  // ---------------------------------------------------------------- B4 identity and database
  if (want('B4', 'identity')) {
    const t = env.tokens;
    const items: Array<[string, () => Promise<{ c: WireClient; r: Awaited<ReturnType<WireClient['startup']>> }>, boolean]> = [
      ['database=postgres', () => startupWith(env.startupParams('reporter', { database: 'postgres' })), false],
      ['database=corpus_template', () => startupWith(env.startupParams('reporter', { database: 'corpus_template' })), false],
      ['database=Corpus', () => startupWith(env.startupParams('reporter', { database: 'Corpus' })), false],
      ['database omitted', () => startupWith({ user: 'reporter' }), false],
      ['user=coder with the reporter token', async () => {
        const c = await env.connect();
        return { c, r: await c.startup(env.startupParams('coder'), t.reporter.token, 5_000) };
      }, false],
      ['user=reporter with the coder token', async () => {
        const c = await env.connect();
        return { c, r: await c.startup(env.startupParams('reporter'), t.coder.token, 5_000) };
      }, false],
      ['user=postgres with the reporter token', async () => {
        const c = await env.connect();
        return { c, r: await c.startup({ ...env.startupParams('reporter'), user: 'postgres' }, t.reporter.token, 5_000) };
      }, false],
      ['user=scopegate_gw with the upstream password', async () => {
        const c = await env.connect();
        return { c, r: await c.startup({ ...env.startupParams('reporter'), user: GW_ROLE }, env.db.gatewayPassword, 5_000) };
      }, false],
      ['user given twice', () => startupWith({}, 'reporter', startupPacket(['user', 'coder', 'user', 'reporter', 'database', CORPUS_DB])), false],
      ['user given twice (same)', () => startupWith({}, 'reporter', startupPacket(['user', 'reporter', 'user', 'reporter', 'database', CORPUS_DB])), false],
      ['empty user', () => startupWith({ user: '', database: CORPUS_DB }), false],
      ['token with a trailing NUL-separated suffix', async () => {
        const c = await env.connect();
        c.write(encodeStartupMessage(env.startupParams('reporter')));
        return { c, r: await c.authenticate(msg('p', Buffer.from(`${t.reporter.token}\u0000x\u0000`)), 5_000) };
      }, false],
      ['very long application_name', () => startupWith(env.startupParams('reporter', { application_name: 'a'.repeat(8_000) })), true],
      ['control characters in application_name', () => startupWith(env.startupParams('reporter', { application_name: 'x\n\u001b[31mred\r' })), true],
      ['very long user', () => startupWith({ user: 'u'.repeat(9_000), database: CORPUS_DB }), false],
    ];
    for (const [id, fn, mayAccept] of items) {
      await results.check('B', 'B4-startup-identity', id, async () => {
        const { c, r } = await fn();
        const fails: Fail[] = [];
        if (r.ok && !mayAccept) fails.push({ cls: 'bypass', reason: 'session accepted' });
        if (r.exchange.timedOut) fails.push({ cls: 'check', reason: 'no answer (hang)' });
        if (r.ok && mayAccept) {
          // Accepted: the identity must be the token's, and control characters must not reach the client verbatim.
          const app = r.parameters.get('application_name') ?? '';
          if (/[\x00-\x1f]/.test(app)) fails.push({ cls: 'check', reason: `ParameterStatus application_name carries control characters: ${JSON.stringify(app.slice(0, 40))}` });
        }
        c.destroy();
        return fails;
      });
    }
  }

  // ---------------------------------------------------------------- B5 client encodings
  if (want('B5', 'encoding')) {
    for (const enc of ['SJIS', 'BIG5', 'GBK', 'GB18030', 'JOHAB', 'sjis', 'Shift_JIS', 'WIN932', 'WIN936', 'WIN950', "'SJIS'"]) {
      await results.check('B', 'B5-encoding-startup', enc, async () => {
        const { c, r } = await startupWith(env.startupParams('reporter', { client_encoding: enc }));
        const fails: Fail[] = [];
        if (r.ok) {
          const ce = r.parameters.get('client_encoding');
          if (ce && ce.toUpperCase() !== 'UTF8') fails.push({ cls: 'bypass', reason: `client_encoding negotiated as ${ce}` });
        }
        c.destroy();
        return fails;
      });
    }
    await reset();
    await results.check('B', 'B5-encoding-set', 'SET forms', async () => {
      const fails: Fail[] = [];
      const forms = [
        "SET client_encoding = 'SJIS'", 'SET client_encoding TO BIG5', "SET NAMES 'GBK'", "SET SESSION client_encoding = 'GB18030'",
        "BEGIN; SET LOCAL client_encoding = 'JOHAB'; SHOW client_encoding; COMMIT", "SET client_encoding = 'win932'",
        "SELECT set_config('client_encoding', 'SJIS', false)", "ALTER ROLE CURRENT_USER SET client_encoding = 'SJIS'",
        "SET \"client_encoding\" = 'SJIS'", "SET client_encoding = 'UTF8'; SET client_encoding = 'SJIS'",
      ];
      for (const identity of ['reporter', 'coder'] as const) {
        const c = await env.open(identity);
        for (const f of forms) {
          const ex = await c.exchange(encodeQuery(f), { timeoutMs: T });
          const ps = ex.messages.filter((m) => m.msg?.type === 'ParameterStatus' && m.msg.name === 'client_encoding' && m.msg.value.toUpperCase() !== 'UTF8');
          if (!hasError(ex) || ps.length) fails.push({ cls: 'bypass', reason: `${identity}: ${f} accepted: ${summary(ex.messages)}` });
          await c.exchange(encodeQuery('ROLLBACK'), { timeoutMs: T });
        }
        const pbe = await c.exchange([encodeParse('', "SET client_encoding = 'SJIS'"), encodeBind({}), encodeExecute('', 0), encodeSync()], { timeoutMs: T });
        if (!hasError(pbe)) fails.push({ cls: 'bypass', reason: `${identity}: SET client_encoding via P/B/E accepted` });
        const show = await c.exchange(encodeQuery('SHOW client_encoding'), { timeoutMs: T });
        const v = show.messages.flatMap((m) => (m.msg?.type === 'DataRow' ? [m.msg.values[0]?.toString() ?? ''] : [])).join();
        if (v.toUpperCase() !== 'UTF8') fails.push({ cls: 'bypass', reason: `${identity}: client_encoding is ${v}` });
        // Multibyte sequences whose trail byte is \ or ' (SJIS 0x95 0x5C, BIG5 0xA4 0x5C, GBK 0x81 0x27): invalid UTF-8 here.
        for (const lead of [0x95, 0xa4, 0x81]) {
          for (const trail of [0x5c, 0x27]) {
            const sql = Buffer.concat([Buffer.from("SELECT '"), Buffer.from([lead, trail]), Buffer.from("'; DELETE FROM public.orders WHERE id = 10001; SELECT '")]);
            const ex = await c.exchange(rawQuery(sql), { timeoutMs: T });
            if (!hasError(ex) && !ex.closed) fails.push({ cls: 'check', reason: `${identity}: bytes ${lead.toString(16)} ${trail.toString(16)} accepted: ${summary(ex.messages)}` });
            if (c.closed) break;
          }
        }
        c.end();
      }
      return [...fails, ...(await noEffects('client encoding'))];
    });
  }

  // ---------------------------------------------------------------- B6 NUL and invalid bytes, look-alike whitespace
  if (want('B6', 'bytes')) {
    await reset();
    const raw: Array<[string, Buffer]> = [
      ['NUL inside Query', msg('Q', Buffer.from('SELECT 1\0; DELETE FROM public.orders WHERE id=10001\0'))],
      ['invalid UTF-8', rawQuery(Buffer.from("SELECT '\xff'; DELETE FROM public.orders WHERE id=10001", 'latin1'))],
      ["overlong '", rawQuery(Buffer.from("SELECT '\xc0\xa7; DELETE FROM public.orders WHERE id=10001; --'", 'latin1'))],
      ['overlong ;', rawQuery(Buffer.from('SELECT 1\xc0\xbb DELETE FROM public.orders WHERE id=10001', 'latin1'))],
      ['surrogate half', rawQuery(Buffer.from("SELECT '\xed\xa0\x80'; DELETE FROM public.orders WHERE id=10001", 'latin1'))],
    ];
    for (const [id, bytes] of raw) {
      await results.check('B', 'B6-bytes', id, async () => {
        const c = await env.open('reporter');
        const ex = await c.exchange(bytes, { timeoutMs: T });
        c.destroy();
        const fails: Fail[] = [];
        if (!hasError(ex) && !ex.closed) fails.push({ cls: 'check', reason: `accepted: ${summary(ex.messages)}` });
        return [...fails, ...(await noEffects(id))];
      });
    }
    // Valid UTF-8 that PostgreSQL lexes as identifier characters: the gateway's verdict must match what PostgreSQL would run.
    const direct = new pg.Client({ connectionString: env.cluster.url(CORPUS_DB) });
    await direct.connect();
    try {
      // [id, sql, identity, the gateway must refuse it if PostgreSQL would run it]
      const texts: Array<[string, string, Identity, boolean]> = [
        ['NBSP before secret', 'SELECT\u00a0secret FROM billing.api_keys', 'reporter', true],
        ['NBSP after secret', 'SELECT secret\u00a0FROM billing.api_keys', 'reporter', true],
        ['NBSP alias then DELETE', 'SELECT 1 AS x\u00a0; DELETE FROM public.orders WHERE id=10001', 'reporter', true],
        ['NBSP inside DELETE', 'DELETE\u00a0FROM public.orders WHERE id=10001', 'reporter', true],
        ['NBSP before OR 1=1', 'DELETE FROM public.orders WHERE id = 10001 OR\u00a01=1', 'coder', true],
        ['NBSP OR true', 'DELETE FROM public.orders WHERE id = 10001\u00a0OR true', 'coder', true],
        ['U+2028 alias then DELETE', 'SELECT 1\u2028; DELETE FROM public.orders WHERE id=10001', 'reporter', true],
        ['U+2028 between tokens', 'SELECT\u2028secret FROM billing.api_keys', 'reporter', true],
        ['NBSP schema dot', 'SELECT secret FROM billing\u00a0.api_keys', 'reporter', true],
        ['ideographic space', 'SELECT ssn\u3000FROM public.customers', 'reporter', false],
        ['NBSP in masked select', 'SELECT ssn\u00a0, email FROM public.customers', 'reporter', false],
      ];
      for (const [id, sql, identity, refuse] of texts) {
        await results.check('B', 'B6-lookalike-space', id, async () => {
          // What PostgreSQL does with it (superuser, rolled back).
          let pgRuns = false;
          let pgError = '';
          await direct.query('BEGIN');
          try {
            await direct.query(sql);
            pgRuns = true;
          } catch (e) {
            pgError = (e as { code?: string }).code ?? '?';
          }
          await direct.query('ROLLBACK');
          const c = await env.open(identity);
          const ex = await c.exchange(encodeQuery(sql), { timeoutMs: T });
          c.destroy();
          const err = firstError(ex.messages);
          const fails: Fail[] = [];
          const leak = scanLeak([ex], [...secrets, ...(identity === 'reporter' ? pii : [])].filter((v) => findLeak(sql, [v]) === null));
          if (leak) fails.push({ cls: 'leak', reason: `leaked ${leak}` });
          // A statement PostgreSQL runs that touches billing or writes as reporter must be refused by the gateway.
          if (pgRuns && refuse && !isRefusal(err)) fails.push({ cls: err ? 'forwarded' : 'bypass', reason: `PostgreSQL runs it; gateway: ${summary(ex.messages)}` });
          if (!pgRuns && !err && !ex.closed) fails.push({ cls: 'check', reason: `PostgreSQL rejects it (${pgError}); the gateway ran it: ${summary(ex.messages)}` });
          return [...fails, ...(await noEffects(id))];
        }, undefined);
      }
    } finally {
      await direct.end();
    }
  }

  // ---------------------------------------------------------------- B7 empty queries
  if (want('B7', 'empty')) {
    await results.check('B', 'B7-empty-query', 'all forms', async () => {
      const fails: Fail[] = [];
      const c = await env.open('reporter');
      for (const sql of ['', ';', '-- x', '/* */;;', ' \n\t ', '/* a /* nested */ b */']) {
        const ex = await c.exchange(encodeQuery(sql), { timeoutMs: T });
        if (!ex.messages.some((m) => m.type === 'I') || hasError(ex)) fails.push({ cls: 'check', reason: `Q(${JSON.stringify(sql)}): ${summary(ex.messages)}` });
      }
      for (const sql of ['', '-- x']) {
        const ex = await c.exchange([encodeParse('', sql), encodeBind({}), encodeExecute('', 0), encodeSync()], { timeoutMs: T });
        if (!ex.messages.some((m) => m.type === 'I') || hasError(ex)) fails.push({ cls: 'check', reason: `P/B/E(${JSON.stringify(sql)}): ${summary(ex.messages)}` });
      }
      const ok = await c.exchange(encodeQuery('SELECT 42'), { timeoutMs: T });
      const v = ok.messages.find((m) => m.msg?.type === 'DataRow');
      if (v?.msg?.type !== 'DataRow' || v.msg.values[0]?.toString() !== '42') fails.push({ cls: 'check', reason: `desynchronised afterwards: ${summary(ok.messages)}` });
      c.end();
      return fails;
    });
  }

  // ---------------------------------------------------------------- B8 huge and deep input
  if (want('B8', 'huge')) {
    const inputs: Array<[string, () => Buffer]> = [
      ['50 MB Query', () => encodeQuery(`SELECT secret FROM billing.api_keys WHERE '${'x'.repeat(50 * 1024 * 1024)}' <> ''`)],
      ['10,000 nested parentheses', () => encodeQuery(`SELECT ${'('.repeat(10_000)}SELECT secret FROM billing.api_keys LIMIT 1${')'.repeat(10_000)}`)],
      ['100k UNION ALL branches', () => encodeQuery(`${'SELECT 1 UNION ALL '.repeat(100_000)}SELECT secret FROM billing.api_keys`)],
      ['50k UNION ALL branches (under the size limit)', () => encodeQuery(`${'SELECT 1 UNION ALL '.repeat(50_000)}SELECT length(secret) FROM billing.api_keys`)],
      ['100k statements', () => encodeQuery(`${'SELECT 1;'.repeat(100_000)} DELETE FROM public.orders WHERE id = 10001`)],
      ['999 statements then a denied one', () => encodeQuery(`${'SELECT 1;'.repeat(999)} DELETE FROM public.orders WHERE id = 10001`)],
      ['100k-term expression', () => encodeQuery(`SELECT ${'1+'.repeat(100_000)}length(secret) FROM billing.api_keys`)],
    ];
    await reset();
    for (const [id, build] of inputs) {
      await results.check('B', 'B8-huge-input', id, async () => {
        const c = await env.open('reporter');
        const ex = await c.exchange(build(), { timeoutMs: 60_000 });
        c.destroy();
        const fails: Fail[] = [];
        if (ex.timedOut) fails.push({ cls: 'check', reason: 'no answer within 60 s' });
        else if (!hasError(ex) && !ex.closed) fails.push({ cls: 'check', reason: `not refused: ${summary(ex.messages)}` });
        const leak = scanLeak([ex], secrets);
        if (leak) fails.push({ cls: 'leak', reason: `leaked ${leak}` });
        if (!(await env.healthy())) {
          fails.push({ cls: 'crash', reason: 'the gateway stopped serving' });
          await env.restartGateway();
        }
        return [...fails, ...(await noEffects(id))];
      });
    }
  }

  // ---------------------------------------------------------------- B9 cancel routing
  if (want('B9', 'cancel')) {
    await results.check('B', 'B9-cancel-routing', 'keys', async () => {
      const fails: Fail[] = [];
      const locker = new pg.Client({ connectionString: env.cluster.url(CORPUS_DB) });
      await locker.connect();
      try {
        await locker.query('BEGIN');
        await locker.query('LOCK TABLE public.orders IN ACCESS EXCLUSIVE MODE');
        const a = await WireClient.connect(env.gateway.host, env.gateway.port);
        const sa = await a.startup(env.startupParams('reporter', { application_name: 'b9-victim' }), env.tokens.reporter.token);
        const b = await WireClient.connect(env.gateway.host, env.gateway.port);
        const sb = await b.startup(env.startupParams('coder', { application_name: 'b9-other' }), env.tokens.coder.token);
        if (!sa.backendKey || !sb.backendKey) throw new Error('no BackendKeyData');
        // The real backend pid must not be what the client sees.
        const real = await env.cluster.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = 'b9-victim'");
        const realPid = real.rows[0]?.pid;
        if (realPid !== undefined && realPid === sa.backendKey.processId) fails.push({ cls: 'check', reason: 'BackendKeyData carries the real backend pid' });
        a.write(encodeQuery('SELECT count(*) FROM public.orders'));
        await sleep(300);
        const cancel = async (pid: number, key: number): Promise<void> => {
          const s = await WireClient.connect(env.gateway.host, env.gateway.port, { framing: false });
          s.write(encodeCancelRequest(pid, key));
          await s.waitClosed(2_000);
          s.destroy();
        };
        const stillWaiting = async (what: string): Promise<void> => {
          await sleep(500);
          const got = a.pendingMessages;
          if (got > 0) fails.push({ cls: 'check', reason: `${what} cancelled or answered the other session's query` });
        };
        await cancel(sb.backendKey.processId, sb.backendKey.secretKey);
        await stillWaiting("coder's own key");
        await cancel(sa.backendKey.processId, sb.backendKey.secretKey);
        await stillWaiting("reporter's pid with coder's secret");
        if (realPid !== undefined) {
          await cancel(realPid, sa.backendKey.secretKey);
          await stillWaiting('the real backend pid');
        }
        await cancel(sa.backendKey.processId ^ 1, sa.backendKey.secretKey);
        await stillWaiting('a neighbouring pid');
        // Positive control: the right key cancels.
        await cancel(sa.backendKey.processId, sa.backendKey.secretKey);
        const ex = await a.collect({ timeoutMs: 5_000 });
        const err = firstError(ex.messages);
        if (err?.C !== '57014') fails.push({ cls: 'check', reason: `the session's own key did not cancel it: ${summary(ex.messages)}` });
        a.end();
        b.end();
      } finally {
        await locker.query('ROLLBACK').catch(() => undefined);
        await locker.end();
      }
      return fails;
    });
  }

  // ---------------------------------------------------------------- B10 asynchronous messages
  if (want('B10', 'async')) {
    await results.check('B', 'B10-async', 'notify-to-refused-listen', async () => {
      const fails: Fail[] = [];
      const ssn = await env.raw.column('public.customers.ssn');
      for (const identity of ['reporter', 'coder'] as const) {
        const c = await env.open(identity);
        const l = await c.exchange(encodeQuery('LISTEN b10'), { timeoutMs: T });
        if (!isRefusal(firstError(l.messages))) fails.push({ cls: 'check', reason: `${identity}: LISTEN not refused: ${summary(l.messages)}` });
        await env.cluster.query(`NOTIFY b10, '${ssn[0]}'`, CORPUS_DB);
        const ex = await c.exchange(encodeQuery('SELECT id, ssn FROM public.customers ORDER BY id LIMIT 3'), { timeoutMs: T });
        await sleep(100);
        const rest = await c.collect({ timeoutMs: 200 });
        c.end();
        if (allMessages([ex, rest]).some((m) => m.type === 'A')) fails.push({ cls: 'check', reason: `${identity} received a NotificationResponse` });
        if (identity === 'reporter') {
          const leak = scanLeak([ex, rest], ssn);
          if (leak) fails.push({ cls: 'leak', reason: `leaked ${leak}` });
        }
      }
      return fails;
    });
    await results.check('B', 'B10-async', 'debug-notices-while-masked', async () => {
      const c = await env.open('reporter');
      const exs = [
        await c.exchange(encodeQuery('SET client_min_messages = debug5'), { timeoutMs: T }),
        await c.exchange(encodeQuery('SELECT id, ssn, email, upper(email) FROM public.customers ORDER BY id LIMIT 5'), { timeoutMs: T }),
        await c.exchange(encodeQuery('SELECT card_number::regrole FROM public.customers'), { timeoutMs: T }),
        await c.exchange([encodeParse('', 'SELECT ssn::regclass FROM public.customers'), encodeBind({}), encodeExecute('', 0), encodeSync()], { timeoutMs: T }),
        await c.exchange(encodeQuery('SET debug_print_plan = on'), { timeoutMs: T }),
        await c.exchange(encodeQuery('SELECT ssn FROM public.customers WHERE id = 1'), { timeoutMs: T }),
      ];
      c.end();
      const leak = scanLeak(exs, pii);
      return leak ? [{ cls: 'leak', reason: `leaked ${leak}` }] : [];
    });
  }
  if (env.db.dirty) await env.db.reset();
}

