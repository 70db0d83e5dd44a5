// §D of protocol-cases.md: malformed messages. Each item runs on a fresh
// connection; the expectation is "fail closed": an ErrorResponse and/or a
// closed connection, never a forwarded or reinterpreted message, a hang, or a
// crash. After each group a normal client must still work. Slow items
// (slowloris, idle connections) run in the background, bounded by the
// gateway's startup timeout (10 s by default), loopback only.
import net from 'node:net';
import pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  encodeBind, encodeCancelRequest, encodeClose, encodeCopyData, encodeCopyDone, encodeCopyFail, encodeDescribe, encodeExecute, encodeFlush,
  encodeGSSENCRequest, encodeParse, encodePassword, encodeQuery, encodeSASLInitialResponse, encodeSSLRequest, encodeStartupMessage, encodeSync,
} from '../../src/protocol/index.ts';
import type { Identity } from '../corpus/cases.ts';
import { CORPUS_DB } from '../corpus/fingerprint.ts';
import { GW_ROLE } from '../corpus/database.ts';
import {
  allMessages, functionCall, int16, int32, isRefusal, msg, msgWithLength, rawBind, scanLeak, startupPacket, summary, uint32, type Fail, type Results,
} from './common.ts';
import type { ProtoEnv } from './env.ts';
import { firstError, WireClient, type Exchange } from './wire-client.ts';

const SHORT = 2_000;
const CUSTOMER_COLUMNS = ['public.customers.email', 'public.customers.ssn', 'public.customers.card_number', 'public.customers.phone'];

/** Fail closed: an ErrorResponse or a close within the time; `mayWait`: the server may also just wait for more bytes. */
function failClosed(ex: Exchange, what: string, mayWait = false): Fail[] {
  if (firstError(ex.messages) || ex.closed) {
    if (ex.messages.some((m) => m.msg?.type === 'AuthenticationOk')) return [{ cls: 'check', reason: `${what}: authenticated: ${summary(ex.messages)}` }];
    return [];
  }
  if (ex.timedOut && mayWait) return [];
  return [{ cls: 'check', reason: `${what}: neither an error nor a close: ${ex.timedOut ? 'no answer' : summary(ex.messages)}` }];
}

export async function runSectionD(env: ProtoEnv, results: Results, only?: RegExp): Promise<void> {
  const want = (v: string): boolean => !only || only.test(v);
  const pii = await env.raw.columns(CUSTOMER_COLUMNS);
  const noEffects = async (what: string): Promise<Fail[]> => {
    const e = await env.db.changes();
    if (e.length === 0) return [];
    env.db.dirty = true;
    return [{ cls: 'bypass', reason: `${what}: ${e.slice(0, 3).join('; ')}` }];
  };
  const reset = async (): Promise<void> => {
    if (env.db.dirty) await env.db.reset();
  };
  const orders = async (): Promise<number> => Number((await env.cluster.query<{ n: string }>('SELECT count(*) AS n FROM public.orders', CORPUS_DB)).rows[0].n);
  /** For statements coder may run (they consume sequence values even when rolled back): the rows must not change. */
  const rowsUnchanged = async (before: number, what: string): Promise<Fail[]> => {
    env.db.dirty = true;
    const after = await orders();
    return after === before ? [] : [{ cls: 'check', reason: `${what}: public.orders went from ${before} to ${after} rows` }];
  };
  const health = async (group: string): Promise<void> => {
    await results.check('D', 'D-health', group, async () => {
      if (await env.healthy()) return [];
      await env.restartGateway();
      return [{ cls: 'crash', reason: `a normal client no longer works after ${group}` }];
    });
  };
  /** A fresh unauthenticated connection: send, collect until an error, a close or the time. */
  const pre = async (bytes: Buffer[], timeoutMs = SHORT): Promise<Exchange> => {
    const c = await env.connect();
    const ex = await c.exchange(bytes, { until: (m) => m.type === 'E', timeoutMs });
    c.destroy();
    return ex;
  };
  /** A fresh authenticated connection. */
  const authed = (identity: Identity = 'reporter'): Promise<WireClient> => env.open(identity);
  const post = async (bytes: Buffer[], identity: Identity = 'reporter', timeoutMs = SHORT): Promise<{ c: WireClient; ex: Exchange }> => {
    const c = await authed(identity);
    const ex = await c.exchange(bytes, { until: (m) => m.type === 'E', timeoutMs });
    return { c, ex };
  };
  const stillWorks = async (c: WireClient): Promise<Fail[]> => {
    if (c.closed) return [];
    let sawRow = false;
    const ex = await c.exchange([encodeSync(), encodeQuery('SELECT 42')], {
      ready: Number.MAX_SAFE_INTEGER,
      until: (m) => {
        if (m.msg?.type === 'DataRow' && m.msg.values[0]?.toString() === '42') sawRow = true;
        return m.type === 'Z' && sawRow;
      },
      timeoutMs: SHORT,
    });
    const rows = ex.messages.flatMap((m) => (m.msg?.type === 'DataRow' ? [m.msg.values[0]?.toString()] : []));
    if (c.closed || ex.closed) return [];
    return rows.includes('42') ? [] : [{ cls: 'check', reason: `the session is neither closed nor usable afterwards: ${summary(ex.messages)}` }];
  };

  // ---------------------------------------------------------------- background: slowloris and idle connections
  const background: Array<{ id: string; sockets: net.Socket[]; closed: number; opened: number }> = [];
  const openIdle = async (id: string, n: number, first?: Buffer): Promise<void> => {
    const entry = { id, sockets: [] as net.Socket[], closed: 0, opened: Date.now() };
    background.push(entry);
    await Promise.all(Array.from({ length: n }, () => new Promise<void>((resolve) => {
      const s = net.connect({ host: env.gateway.host, port: env.gateway.port }, () => {
        if (first) s.write(first);
        resolve();
      });
      s.on('error', () => resolve());
      s.on('close', () => entry.closed++);
      s.on('data', () => undefined);
      entry.sockets.push(s);
    })));
  };
  if (want('D1.1') || want('D3')) {
    await openIdle('D1.1 slowloris (100 announced, 20 sent)', 5, Buffer.concat([int32(100), int32(196608), Buffer.from('user\0reporter\0')]));
    await openIdle('D1.1 slowloris SSLRequest then nothing', 5, encodeSSLRequest());
    await openIdle('D3 500 idle connections without a startup packet', 500);
  }
  await results.check('D', 'D3-idle-connections', 'normal client while 500 idle connections are open', async () => (await env.healthy() ? [] : [{ cls: 'check', reason: 'a normal client did not get through' }]));

  // ---------------------------------------------------------------- D1 startup phase
  if (want('D1')) {
    const startup = (pairs: Array<string | Buffer>, version = 196608, terminate = true): Buffer => startupPacket(pairs, version, terminate);
    const good = ['user', 'reporter', 'database', CORPUS_DB];
    const items: Array<[string, string, () => Promise<Fail[]>]> = [
      ['D1.1', 'truncated then close', async () => {
        const c = await env.connect();
        c.write(Buffer.concat([int32(100), int32(196608), Buffer.from('user\0rep')]));
        c.socket.end();
        const closed = await c.waitClosed(SHORT);
        c.destroy();
        return closed ? [] : [{ cls: 'check', reason: 'not closed after the client half-closed' }];
      }],
      ['D1.1', 'length 4 (< 8)', async () => failClosed(await pre([int32(4), int32(0)]), 'length 4')],
      ['D1.1', 'length 0', async () => failClosed(await pre([int32(0), int32(196608)]), 'length 0')],
      ['D1.1', 'length 0x80000000', async () => failClosed(await pre([uint32(0x80000000), int32(196608)]), 'length 0x80000000')],
      ['D1.1', 'length 0xFFFFFFFF', async () => failClosed(await pre([uint32(0xffffffff), int32(196608)]), 'length -1')],
      ['D1.1', 'length 10001 (over MAX_STARTUP_PACKET_LENGTH)', async () => failClosed(await pre([int32(10_001), int32(196608), Buffer.alloc(10_000 - 4 + 1, 0x61)]), 'length 10001')],
      ['D1.1', 'length 100 MB', async () => failClosed(await pre([int32(100_000_000), int32(196608), Buffer.alloc(1000, 0x61)]), 'length 100 MB')],
      ['D1.2', 'protocol 2.0', async () => failClosed(await pre([startup(good, 0x00020000)]), 'v2.0')],
      ['D1.2', 'protocol 4.0', async () => failClosed(await pre([startup(good, 0x00040000)]), 'v4.0')],
      ...([['3.1', 0x00030001], ['3.99', 0x00030063]] as const).map(([v, code]): [string, string, () => Promise<Fail[]>] => ['D1.2', `protocol ${v}`, async () => {
        const c = await env.connect();
        const r = await c.startup(env.startupParams('reporter'), env.tokens.reporter.token, SHORT, code);
        c.destroy();
        if (!r.ok) return failClosed(r.exchange, `v${v}`);
        const npv = r.exchange.messages.find((m) => m.msg?.type === 'NegotiateProtocolVersion');
        return npv ? [] : [{ cls: 'check', reason: `v${v} accepted without NegotiateProtocolVersion` }];
      }]),
      ['D1.2', '3.0 with unknown _pq_. options', async () => {
        const c = await env.connect();
        const r = await c.startup(env.startupParams('reporter', { '_pq_.unknown_opt': 'x', '_pq_.search_path': 'billing' }), env.tokens.reporter.token, SHORT);
        let fails: Fail[] = [];
        if (r.ok) {
          const ex = await c.exchange(encodeQuery('SHOW search_path'), { timeoutMs: SHORT });
          const v = allMessages([ex]).flatMap((m) => (m.msg?.type === 'DataRow' ? [m.msg.values[0]?.toString() ?? ''] : [])).join();
          if (/billing/.test(v)) fails.push({ cls: 'bypass', reason: `search_path is ${v}` });
        } else fails = failClosed(r.exchange, '_pq_ options');
        c.destroy();
        return fails;
      }],
      ['D1.3', 'missing final NUL', async () => failClosed(await pre([startup(good, 196608, false)]), 'missing NUL')],
      ['D1.3', 'odd number of strings', async () => failClosed(await pre([startup(['user', 'reporter', 'database'], 196608, false)]), 'odd strings')],
      ['D1.3', 'user missing', async () => failClosed(await pre([startup(['database', CORPUS_DB])]), 'user missing')],
      ['D1.3', 'empty key', async () => failClosed(await pre([startup(['', 'x', ...good])]), 'empty key')],
      ['D1.3', 'duplicate keys', async () => failClosed(await pre([startup([...good, 'database', 'postgres'])]), 'duplicate keys')],
      ['D1.3', 'non-UTF-8 value', async () => {
        const c = await env.connect();
        c.write(startup([...good, 'application_name', Buffer.from([0xff, 0xfe, 0x41])]));
        const r = await c.authenticate(env.tokens.reporter.token, SHORT);
        c.destroy();
        return r.ok || firstError(r.exchange.messages) || r.exchange.closed ? [] : [{ cls: 'check', reason: 'hang' }];
      }],
      ['D1.3', 'non-UTF-8 key', async () => failClosed(await pre([startup([...good, Buffer.from([0xc0, 0xaf]), 'x'])]), 'non-UTF-8 key')],
      ['D1.4', 'SSLRequest then garbage', async () => {
        const c = await env.connect(false);
        c.write(encodeSSLRequest());
        const a = await c.readRaw(1, SHORT);
        c.startFraming();
        const ex = await c.exchange(Buffer.from('\x16\x03\x01garbage-garbage-garbage-garbage', 'latin1'), { until: (m) => m.type === 'E', timeoutMs: SHORT });
        c.destroy();
        return a?.toString() === 'S' ? [{ cls: 'check', reason: 'answered S without TLS configured' }] : failClosed(ex, 'garbage after SSLRequest', true);
      }],
      ['D1.4', 'SSLRequest twice, then plaintext startup', async () => {
        const c = await env.connect(false);
        c.write(encodeSSLRequest());
        const a1 = await c.readRaw(1, SHORT);
        c.write(encodeSSLRequest());
        const a2 = await c.readRaw(1, SHORT);
        if (c.closed) return [];
        c.startFraming();
        const r = await c.startup(env.startupParams('reporter'), env.tokens.reporter.token, SHORT);
        c.destroy();
        if (a1?.toString() !== 'N' || (a2 && a2.toString() !== 'N' && a2.toString() !== 'E')) return [{ cls: 'check', reason: `answers ${a1} ${a2}` }];
        return r.ok || firstError(r.exchange.messages) || r.exchange.closed ? [] : [{ cls: 'check', reason: 'hang after the second SSLRequest' }];
      }],
      ['D1.4', 'GSSENCRequest', async () => {
        const c = await env.connect(false);
        c.write(encodeGSSENCRequest());
        const a = await c.readRaw(1, SHORT);
        c.startFraming();
        const r = await c.startup(env.startupParams('reporter'), env.tokens.reporter.token, SHORT);
        c.destroy();
        return a?.toString() === 'N' && r.ok ? [] : [{ cls: 'check', reason: `GSSENC answer ${a}, startup ok=${r.ok}` }];
      }],
      ['D1.4', 'SSLRequest after the StartupMessage', async () => {
        const c = await env.connect();
        c.write(encodeStartupMessage(env.startupParams('reporter')));
        const ex = await c.exchange(encodeSSLRequest(), { until: (m) => m.type === 'E', timeoutMs: SHORT });
        c.destroy();
        return failClosed(ex, 'SSLRequest in place of the password', true);
      }],
      ['D1.4', 'direct TLS ClientHello', async () => failClosed(await pre([Buffer.from('16030100c4010000c00303', 'hex'), Buffer.alloc(190, 0x11)]), 'ClientHello')],
      ['D1.5', 'magic 80877101', async () => failClosed(await pre([int32(8), int32(80877101)]), '80877101')],
      ['D1.5', 'magic 80877105', async () => failClosed(await pre([int32(8), int32(80877105)]), '80877105')],
      ['D1.5', 'cancel code with length 8', async () => failClosed(await pre([int32(8), int32(80877102)]), 'short cancel', true)],
      ['D1.7', 'Query before the password', async () => {
        const c = await env.connect();
        c.write(encodeStartupMessage(env.startupParams('reporter')));
        const ex = await c.exchange(encodeQuery('SELECT secret FROM billing.api_keys'), { until: (m) => m.type === 'E', timeoutMs: SHORT });
        c.destroy();
        return failClosed(ex, 'Q before password');
      }],
      ['D1.7', 'PasswordMessage as the first packet', async () => failClosed(await pre([encodePassword(env.tokens.reporter.token)]), 'p first', true)],
      ['D1.8', 'SASLInitialResponse SCRAM-SHA-256', async () => {
        const c = await env.connect();
        c.write(encodeStartupMessage(env.startupParams('reporter')));
        const r = await c.authenticate(encodeSASLInitialResponse('SCRAM-SHA-256', 'n,,n=,r=abcdefghijkl'), SHORT);
        c.destroy();
        return r.ok ? [{ cls: 'bypass', reason: 'authenticated' }] : failClosed(r.exchange, 'SASL');
      }],
      ['D1.8', 'unknown SASL mechanism', async () => {
        const c = await env.connect();
        c.write(encodeStartupMessage(env.startupParams('reporter')));
        const r = await c.authenticate(encodeSASLInitialResponse('FOO-BAR', null), SHORT);
        c.destroy();
        return r.ok ? [{ cls: 'bypass', reason: 'authenticated' }] : failClosed(r.exchange, 'SASL FOO');
      }],
      ['D1.8', 'empty password message', async () => {
        const c = await env.connect();
        c.write(encodeStartupMessage(env.startupParams('reporter')));
        const r = await c.authenticate(msg('p', Buffer.alloc(0)), SHORT);
        c.destroy();
        return r.ok ? [{ cls: 'bypass', reason: 'authenticated' }] : failClosed(r.exchange, 'empty p');
      }],
      ['D1.8', 'oversized password message', async () => {
        const c = await env.connect();
        c.write(encodeStartupMessage(env.startupParams('reporter')));
        const r = await c.authenticate(msg('p', Buffer.concat([Buffer.alloc(20_000, 0x61), Buffer.from([0])])), SHORT);
        c.destroy();
        return r.ok ? [{ cls: 'bypass', reason: 'authenticated' }] : failClosed(r.exchange, 'big p');
      }],
      ['D1.8', 'client-final with a wrong nonce', async () => {
        const c = await env.connect();
        c.write(encodeStartupMessage(env.startupParams('reporter')));
        const r = await c.authenticate(msg('p', Buffer.from('c=biws,r=wrongnonce,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=')), SHORT);
        c.destroy();
        return r.ok ? [{ cls: 'bypass', reason: 'authenticated' }] : failClosed(r.exchange, 'client-final');
      }],
      ['D1.8', 'password with a NUL inside', async () => {
        const c = await env.connect();
        c.write(encodeStartupMessage(env.startupParams('reporter')));
        const r = await c.authenticate(msg('p', Buffer.from(`${env.tokens.reporter.token}\0${env.tokens.coder.token}\0`)), SHORT);
        c.destroy();
        return r.ok ? [{ cls: 'bypass', reason: 'authenticated' }] : failClosed(r.exchange, 'NUL password');
      }],
    ];
    for (const [group, id, fn] of items) if (want(group)) await results.check('D', group, id, fn);
    await health('D1.1–D1.5, D1.7, D1.8');

    // D1.6 CancelRequest variants against a session blocked on a lock.
    if (want('D1.6')) {
      const locker = new pg.Client({ connectionString: env.cluster.url(CORPUS_DB) });
      await locker.connect();
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE public.orders IN ACCESS EXCLUSIVE MODE');
      const victim = await WireClient.connect(env.gateway.host, env.gateway.port);
      const vs = await victim.startup(env.startupParams('reporter'), env.tokens.reporter.token);
      victim.write(encodeQuery('SELECT count(*) FROM public.orders'));
      await sleep(200);
      const key = vs.backendKey ?? { processId: 1, secretKey: 1 };
      const send = async (bytes: Buffer): Promise<boolean> => {
        const s = await env.connect(false);
        s.write(bytes);
        const closed = await s.waitClosed(SHORT);
        s.destroy();
        return closed;
      };
      const untouched = (what: string): Fail[] => (victim.pendingMessages > 0 ? [{ cls: 'check', reason: `${what} disturbed the blocked session: ${summary(victim.messages)}` }] : []);
      try {
        await results.check('D', 'D1.6', 'wrong key', async () => {
          await send(encodeCancelRequest(123456, 654321));
          await sleep(300);
          return untouched('a random key');
        });
        await results.check('D', 'D1.6', 'right pid, wrong secret', async () => {
          await send(encodeCancelRequest(key.processId, key.secretKey ^ 0x5a5a));
          await sleep(300);
          return untouched('the right pid with a wrong secret');
        });
        await results.check('D', 'D1.6', 'lengths 12 and 20', async () => {
          const closed12 = await send(Buffer.concat([int32(12), int32(80877102), int32(key.processId)]));
          const closed20 = await send(Buffer.concat([int32(20), int32(80877102), int32(key.processId), int32(key.secretKey), int32(0)]));
          await sleep(300);
          const fails = untouched('a malformed CancelRequest');
          if (!closed12 || !closed20) fails.push({ cls: 'check', reason: `malformed cancel left open (12: ${closed12}, 20: ${closed20})` });
          return fails;
        });
        await results.check('D', 'D1.6', 'cancel flood (1000 in ~1 s)', async () => {
          for (let round = 0; round < 10; round++) {
            await Promise.all(Array.from({ length: 100 }, (_, i) => new Promise<void>((resolve) => {
              const s = net.connect({ host: env.gateway.host, port: env.gateway.port }, () => s.end(encodeCancelRequest(round * 100 + i + 1, 42)));
              s.on('close', () => resolve());
              s.on('error', () => resolve());
              setTimeout(() => {
                s.destroy();
                resolve();
              }, SHORT).unref();
            })));
          }
          await sleep(300);
          return untouched('the flood');
        });
        await results.check('D', 'D1.6', 'CancelRequest on an authenticated connection', async () => {
          const c = await authed();
          // As a regular message it reads as type 0x00 with length 0x00001004: complete it so the server must judge it.
          const cancel = encodeCancelRequest(key.processId, key.secretKey);
          const ex = await c.exchange([cancel, Buffer.alloc(0x1004 + 1 - cancel.length, 0)], { until: (m) => m.type === 'E', timeoutMs: SHORT });
          c.destroy();
          await sleep(300);
          return [...failClosed(ex, 'cancel packet as a message'), ...untouched('a CancelRequest sent inside a session')];
        });
      } finally {
        await locker.query('ROLLBACK').catch(() => undefined);
        await locker.end();
      }
      await results.check('D', 'D1.6', 'blocked session completes normally', async () => {
        const ex = await victim.collect({ timeoutMs: 5_000 });
        victim.end();
        return ex.messages.some((m) => m.type === 'D') && !firstError(ex.messages) ? [] : [{ cls: 'check', reason: `blocked session: ${summary(ex.messages)}` }];
      });
      await health('D1.6');
    }
  }

  // ---------------------------------------------------------------- D2 framing after authentication
  if (want('D2')) {
    await reset();
    const selectMasked = 'SELECT id, ssn, email, card_number, phone FROM public.customers ORDER BY id LIMIT 5';
    const items: Array<[string, string, () => Promise<Fail[]>]> = [
      ['D2.1', "'Q' length 3", async () => failClosed((await post([msgWithLength('Q', 3, Buffer.alloc(0))])).ex, 'length 3')],
      ['D2.1', "'Q' length 4 (no body)", async () => {
        const { c, ex } = await post([msgWithLength('Q', 4, Buffer.alloc(0))]);
        const f = failClosed(ex, 'empty Q');
        c.destroy();
        return f;
      }],
      ['D2.1', "'S' with a body", async () => {
        const { c, ex } = await post([msg('S', Buffer.from([1]))]);
        c.destroy();
        return failClosed(ex, 'Sync with body');
      }],
      ['D2.1', 'length 0x7FFFFFFF, short body, stall', async () => {
        const { c, ex } = await post([msgWithLength('Q', 0x7fffffff, Buffer.from('SELECT 1'))]);
        c.destroy();
        return failClosed(ex, 'huge length');
      }],
      ['D2.1', 'length larger than sent, then close', async () => {
        const c = await authed();
        c.write(msgWithLength('Q', 1000, Buffer.from('SELECT 1\0')));
        c.socket.end();
        const closed = await c.waitClosed(SHORT);
        c.destroy();
        return closed ? [] : [{ cls: 'check', reason: 'not closed' }];
      }],
      ['D2.2', 'length covers SELECT 1, then a second Q with DELETE', async () => {
        const c = await authed();
        const first = Buffer.concat([Buffer.from('Q'), int32(4 + 9), Buffer.from('SELECT 1\0')]);
        const ex = await c.exchange([first, encodeQuery('DELETE FROM public.orders WHERE id=10001')], { ready: 2, timeoutMs: SHORT });
        c.destroy();
        const errs = allMessages([ex]).filter((m) => m.type === 'E');
        const fails: Fail[] = [];
        if (!ex.closed && !(errs.length === 1 && isRefusal(firstError(errs)))) fails.push({ cls: 'check', reason: `second message not refused: ${summary(ex.messages)}` });
        return [...fails, ...(await noEffects('smuggled DELETE'))];
      }],
      ['D2.2', 'length cuts the SQL before its NUL', async () => {
        const c = await authed();
        const body = Buffer.from('SELECT 1; DELETE FROM public.orders WHERE id=10001\0');
        const ex = await c.exchange(Buffer.concat([Buffer.from('Q'), int32(4 + 8), body]), { until: (m) => m.type === 'E', timeoutMs: SHORT });
        c.destroy();
        return [...failClosed(ex, 'cut Q'), ...(await noEffects('cut Q'))];
      }],
      ['D2.3', 'one byte per write (whole session)', async () => {
        const c = await env.connect();
        await c.writeInPieces(encodeStartupMessage(env.startupParams('reporter')), 1);
        const first = await c.collect({ until: (m) => m.type === 'R' || m.type === 'E', timeoutMs: 5_000 });
        await c.writeInPieces(encodePassword(env.tokens.reporter.token), 1);
        const auth = await c.collect({ timeoutMs: 5_000 });
        await c.writeInPieces(Buffer.concat([encodeQuery(selectMasked), encodeParse('', selectMasked), encodeBind({ resultFormats: [1] }), encodeExecute('', 0), encodeSync()]), 1);
        const ex = await c.collect({ ready: 2, timeoutMs: 10_000 });
        c.end();
        const rows = ex.messages.filter((m) => m.type === 'D').length;
        const fails: Fail[] = [];
        if (!auth.messages.some((m) => m.type === 'Z') || rows !== 10) fails.push({ cls: 'check', reason: `byte-wise session: ${summary([...first.messages, ...auth.messages, ...ex.messages])}` });
        const leak = scanLeak([ex], pii);
        if (leak) fails.push({ cls: 'leak', reason: `leaked ${leak}` });
        return fails;
      }],
      ['D2.3', '20 messages in one segment', async () => {
        const c = await authed();
        const ex = await c.exchange(Array.from({ length: 20 }, (_, i) => encodeQuery(i % 2 ? selectMasked : `SELECT ${i}`)), { ready: 20, timeoutMs: 5_000 });
        c.end();
        const fails: Fail[] = ex.messages.filter((m) => m.type === 'Z').length === 20 ? [] : [{ cls: 'check', reason: `coalesced: ${summary(ex.messages)}` }];
        const leak = scanLeak([ex], pii);
        if (leak) fails.push({ cls: 'leak', reason: `leaked ${leak}` });
        return fails;
      }],
      ...([0x00, 'z'.charCodeAt(0), 0xff, ...'DTZRKGWAVvtsnp'.split('').map((ch) => ch.charCodeAt(0))]).map((t): [string, string, () => Promise<Fail[]>] => [
        'D2.4', `type 0x${t.toString(16).padStart(2, '0')}${t > 0x20 && t < 0x7f ? ` '${String.fromCharCode(t)}'` : ''}`, async () => {
          const { c, ex } = await post([msg(t, Buffer.from([0, 0, 0, 1]))]);
          c.destroy();
          return failClosed(ex, `type ${t}`);
        }]),
      ['D2.5', 'CopyData, CopyDone, CopyFail outside COPY', async () => {
        const { c, ex } = await post([encodeCopyData(Buffer.from('1\t2\n')), encodeCopyDone(), encodeCopyFail('x'), encodeQuery('SELECT 42')], 'reporter');
        const more = c.closed ? ex : await c.collect({ timeoutMs: SHORT });
        const fails = [...stillWorksFrom([ex, more])];
        c.destroy();
        return fails;
      }],
      ['D2.5', 'CopyData of 1 GB (header only)', async () => {
        const { c, ex } = await post([msgWithLength('d', 1024 * 1024 * 1024 + 4, Buffer.alloc(64 * 1024, 0x41))], 'coder');
        c.destroy();
        return failClosed(ex, '1 GB CopyData');
      }],
      ['D2.5', 'COPY FROM STDIN interrupted by a Query', async () => {
        const before = await orders();
        const c = await authed('coder');
        const g = await c.exchange(encodeQuery('COPY public.orders (customer_id, order_date, status, amount, sku) FROM STDIN'), { until: (m) => m.type === 'G' || m.type === 'E', timeoutMs: SHORT });
        const fails: Fail[] = [];
        if (!g.messages.some((m) => m.type === 'G')) fails.push({ cls: 'over-blocking', reason: `COPY FROM STDIN: ${summary(g.messages)}` });
        const mid = await c.exchange([encodeCopyData(Buffer.from('1\t2024-07-01\tpending\t1\tSKU-Q\n')), encodeQuery('SELECT 1')], { timeoutMs: SHORT });
        // Whatever happened to the COPY, the session must answer the next query correctly (or be closed).
        const next = c.closed ? mid : await c.exchange(encodeQuery('SELECT 7 AS seven'), { timeoutMs: 3_000 });
        if (!c.closed) {
          const rows = next.messages.flatMap((m) => (m.msg?.type === 'DataRow' ? [m.msg.values[0]?.toString()] : []));
          if (next.timedOut || !rows.includes('7') || rows.length !== 1) fails.push({ cls: 'check', reason: `after the interrupted COPY: Q in COPY → ${summary(mid.messages)}; then SELECT 7 → ${next.timedOut ? 'no answer; ' : ''}${summary(next.messages)}` });
        }
        c.destroy();
        return [...fails, ...(await rowsUnchanged(before, 'interrupted COPY'))];
      }],
      ['D2.6', 'Parse with two statements', async () => {
        const { c, ex } = await post([encodeParse('', 'SELECT 1; DELETE FROM public.orders WHERE id=10001'), encodeBind({}), encodeExecute('', 0), encodeSync()]);
        const fails = [...failClosed(ex, 'multi-statement Parse'), ...(await stillWorks(c))];
        c.destroy();
        return [...fails, ...(await noEffects('multi-statement Parse'))];
      }],
      ['D2.6', 'more parameter types than $n', async () => {
        const { c, ex } = await post([encodeParse('', 'SELECT 1', [23, 25, 16]), encodeBind({}), encodeExecute('', 0), encodeSync()]);
        const more = c.closed || ex.messages.some((m) => m.type === 'Z') ? ex : await c.collect({ timeoutMs: SHORT });
        c.destroy();
        return more.timedOut ? [{ cls: 'check', reason: 'hang' }] : [];
      }],
      ['D2.6', 'parameter type OID 0xFFFFFFFF', async () => {
        const { c, ex } = await post([encodeParse('', 'SELECT $1', [0xffffffff]), encodeSync()]);
        const fails = [...failClosed(ex, 'type 0xFFFFFFFF'), ...(await stillWorks(c))];
        c.destroy();
        return fails;
      }],
      ['D2.6', 'statement name without NUL', async () => {
        const { c, ex } = await post([msg('P', Buffer.from('abc'))]);
        c.destroy();
        return failClosed(ex, 'unterminated name');
      }],
      ...bindItems(),
      ['D2.8', 'Execute of a nonexistent portal', async () => {
        const { c, ex } = await post([encodeExecute('nope', 0), encodeSync()]);
        const fails = [...failClosed(ex, 'no portal'), ...(await stillWorks(c))];
        c.destroy();
        return fails;
      }],
      ['D2.8', "Describe kind 'X'", async () => {
        const { c, ex } = await post([msg('D', Buffer.from('X\0')), encodeSync()]);
        c.destroy();
        return failClosed(ex, 'Describe X');
      }],
      ['D2.8', "Close kind 'X'", async () => {
        const { c, ex } = await post([msg('C', Buffer.from('X\0')), encodeSync()]);
        c.destroy();
        return failClosed(ex, 'Close X');
      }],
      ['D2.8', 'Execute with max_rows -1 (masked select)', async () => {
        const c = await authed();
        const ex = await c.exchange([encodeParse('', selectMasked), encodeBind({}), msg('E', Buffer.concat([Buffer.from([0]), int32(-1)])), encodeSync()], { timeoutMs: SHORT });
        c.destroy();
        const leak = scanLeak([ex], pii);
        return [...(leak ? [{ cls: 'leak' as const, reason: `leaked ${leak}` }] : []), ...(ex.timedOut ? [{ cls: 'check' as const, reason: 'hang' }] : [])];
      }],
      ['D2.9', '10,000 Syncs', async () => {
        const c = await authed();
        const ex = await c.exchange(Array.from({ length: 10_000 }, () => encodeSync()), { ready: 10_000, timeoutMs: 15_000 });
        const z = ex.messages.filter((m) => m.type === 'Z').length;
        const fails: Fail[] = z === 10_000 || ex.closed ? [] : [{ cls: 'check', reason: `${z} ReadyForQuery for 10,000 Syncs` }];
        fails.push(...(await stillWorks(c)));
        c.destroy();
        return fails;
      }],
      ['D2.9', '10,000 Flushes then Sync', async () => {
        const c = await authed();
        const ex = await c.exchange([...Array.from({ length: 10_000 }, () => encodeFlush()), encodeSync()], { timeoutMs: 15_000 });
        const fails: Fail[] = ex.timedOut ? [{ cls: 'check', reason: 'no ReadyForQuery after the Flush storm' }] : [];
        fails.push(...(await stillWorks(c)));
        c.destroy();
        return fails;
      }],
      ['D2.9', 'Terminate in the middle of a pipeline', async () => {
        const rows = await orders();
        const before = await backends();
        const c = await authed('coder');
        c.write(Buffer.concat([encodeParse('', "INSERT INTO public.orders (customer_id, order_date, status, amount, sku) VALUES (1, DATE '2024-07-01', 'pending', 1, 'SKU-X')"),
          encodeBind({}), encodeExecute('', 0), Buffer.from([0x58, 0, 0, 0, 4])]));
        await c.waitClosed(SHORT);
        c.destroy();
        await sleep(500);
        const fails = await leftBackends(before);
        return [...fails, ...(await rowsUnchanged(rows, 'INSERT before Terminate (no Sync)'))];
      }],
      ['D2.9', 'Terminate in the middle of a transaction', async () => {
        const rows = await orders();
        const before = await backends();
        const c = await authed('coder');
        await c.exchange(encodeQuery('BEGIN'), { timeoutMs: SHORT });
        await c.exchange(encodeQuery("INSERT INTO public.orders (customer_id, order_date, status, amount, sku) VALUES (1, DATE '2024-07-01', 'pending', 1, 'SKU-Y')"), { timeoutMs: SHORT });
        c.write(Buffer.from([0x58, 0, 0, 0, 4]));
        await c.waitClosed(SHORT);
        c.destroy();
        await sleep(500);
        return [...(await leftBackends(before)), ...(await rowsUnchanged(rows, 'INSERT in an open transaction before Terminate'))];
      }],
      ['D2.10', 'FunctionCall: argument count mismatch', async () => fcallRefused(functionCall(2626, ['1', '2']))],
      ['D2.10', 'FunctionCall: NULL for a strict function', async () => fcallRefused(functionCall(2626, [null]))],
      ['D2.10', 'FunctionCall: nonexistent OID', async () => fcallRefused(functionCall(4_000_000_000, []))],
      ['D2.10', 'FunctionCall: truncated body', async () => {
        const { c, ex } = await post([msg('F', Buffer.concat([uint32(2626), int16(1)]))]);
        c.destroy();
        return failClosed(ex, 'truncated F');
      }],
    ];
    function stillWorksFrom(exs: Exchange[]): Fail[] {
      const rows = allMessages(exs).flatMap((m) => (m.msg?.type === 'DataRow' ? [m.msg.values[0]?.toString()] : []));
      if (exs.some((e) => e.closed)) return [];
      return rows.includes('42') ? [] : [{ cls: 'check', reason: `session neither closed nor answering: ${summary(allMessages(exs))}` }];
    }
    async function fcallRefused(bytes: Buffer): Promise<Fail[]> {
      const { c, ex } = await post([bytes]);
      const fails = [...failClosed(ex, 'F'), ...(await stillWorks(c))];
      if (ex.messages.some((m) => m.type === 'V')) fails.push({ cls: 'bypass', reason: 'FunctionCallResponse' });
      c.destroy();
      return fails;
    }
    async function backends(): Promise<number> {
      const r = await env.cluster.query<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE usename = '${GW_ROLE}' AND application_name = 'protocol-corpus'`);
      return Number(r.rows[0].n);
    }
    async function leftBackends(before: number): Promise<Fail[]> {
      for (let i = 0; i < 20; i++) {
        if ((await backends()) <= before) return [];
        await sleep(100);
      }
      return [{ cls: 'check', reason: `the upstream backend survived the client's Terminate (${await backends()} > ${before})` }];
    }
    function bindItems(): Array<[string, string, () => Promise<Fail[]>]> {
      const withStmt = (bind: Buffer, sql = 'SELECT $1::int4 AS v'): Promise<Fail[]> => (async () => {
        const { c, ex } = await post([encodeParse('', sql), bind, encodeExecute('', 0), encodeSync()]);
        const fails = [...failClosed(ex, 'Bind'), ...(await stillWorks(c))];
        const leak = scanLeak([ex], pii);
        if (leak) fails.push({ cls: 'leak', reason: `leaked ${leak}` });
        c.destroy();
        return fails;
      })();
      return [
        ['D2.7', 'parameter count differs from Parse', () => withStmt(rawBind({ params: [Buffer.from('1'), Buffer.from('2')] }))],
        ['D2.7', 'parameter length -2', () => withStmt(rawBind({ params: [{ len: -2, data: Buffer.alloc(0) }] }))],
        ['D2.7', 'parameter length beyond the message', () => withStmt(rawBind({ params: [{ len: 1000, data: Buffer.from('1') }] }))],
        ['D2.7', 'two format codes for three parameters', () => withStmt(rawBind({ paramFormats: [0, 0], params: [Buffer.from('1'), Buffer.from('2'), Buffer.from('3')] }), 'SELECT $1::int4, $2::int4, $3::int4')],
        ['D2.7', 'result format code 2 (masked column)', () => withStmt(rawBind({ resultFormats: [2] }), 'SELECT ssn FROM public.customers')],
        ['D2.7', 'nonexistent statement', () => withStmt(rawBind({ statement: 'nope' }))],
        ['D2.7', 'binary int4 of 3 bytes', () => withStmt(rawBind({ paramFormats: [1], params: [Buffer.from([0, 0, 1])] }))],
        ['D2.7', 'Describe/Close of a statement before Bind of it', async () => {
          const { c, ex } = await post([encodeParse('x', 'SELECT ssn FROM public.customers'), encodeClose('S', 'x'), rawBind({ statement: 'x' }), encodeDescribe('P'), encodeExecute('', 0), encodeSync()]);
          const leak = scanLeak([ex], pii);
          const fails: Fail[] = [...failClosed(ex, 'Bind after Close'), ...(await stillWorks(c))];
          if (leak) fails.push({ cls: 'leak', reason: `leaked ${leak}` });
          c.destroy();
          return fails;
        }],
      ];
    }
    for (const [group, id, fn] of items) {
      if (!want(group)) continue;
      await reset();
      await results.check('D', group, id, fn);
    }
    await health('D2');
  }

  // ---------------------------------------------------------------- D3 resources
  if (want('D3')) {
    await reset();
    await results.check('D', 'D3-copy-in-idle', '50 coder sessions in COPY-in mode', async () => {
      const before = await env.cluster.query<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE usename = '${GW_ROLE}' AND application_name = 'protocol-corpus'`);
      const clients: WireClient[] = [];
      const fails: Fail[] = [];
      try {
        for (let i = 0; i < 50; i++) {
          const c = await authed('coder');
          c.write(encodeQuery('COPY public.orders (customer_id, order_date, status, amount, sku) FROM STDIN'));
          clients.push(c);
        }
        await sleep(300);
        if (!(await env.healthy())) fails.push({ cls: 'check', reason: 'a normal client did not get through' });
      } finally {
        for (const c of clients) c.destroy();
      }
      for (let i = 0; i < 30; i++) {
        const now = await env.cluster.query<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE usename = '${GW_ROLE}' AND application_name = 'protocol-corpus'`);
        if (Number(now.rows[0].n) <= Number(before.rows[0].n)) return [...fails, ...(await noEffects('COPY-in sessions'))];
        await sleep(100);
      }
      return [...fails, { cls: 'check', reason: 'upstream backends of closed COPY-in sessions survived' }];
    });
    await results.check('D', 'D3-many-parse', '10,000 distinct Parse messages without Sync', async () => {
      const c = await authed();
      const parses = Array.from({ length: 10_000 }, (_, i) => encodeParse(`p${i}`, 'SELECT 1'));
      const ex = await c.exchange([...parses, encodeSync()], { timeoutMs: 20_000 });
      const err = firstError(ex.messages);
      const fails: Fail[] = [];
      const parsed = ex.messages.filter((m) => m.type === '1').length;
      if (ex.timedOut) fails.push({ cls: 'check', reason: 'no ReadyForQuery' });
      else if (!err && !ex.closed) fails.push({ cls: 'check', reason: `no limit on prepared statements per session (${parsed} ParseComplete)` });
      fails.push(...(await stillWorks(c)));
      c.destroy();
      return fails;
    });
    await health('D3');
  }

  // ---------------------------------------------------------------- background results
  for (const b of background) {
    await results.check('D', b.id.startsWith('D3') ? 'D3-idle-connections' : 'D1.1', b.id, async () => {
      const deadline = b.opened + 14_000;
      while (b.closed < b.sockets.length && Date.now() < deadline) await sleep(200);
      const open = b.sockets.length - b.closed;
      for (const s of b.sockets) s.destroy();
      return open === 0 ? [] : [{ cls: 'check', reason: `${open} of ${b.sockets.length} still open ${Math.round((Date.now() - b.opened) / 1000)} s after connecting (startup timeout is 10 s)` }];
    });
  }
  await health('background');
  if (env.db.dirty) await env.db.reset();
}
