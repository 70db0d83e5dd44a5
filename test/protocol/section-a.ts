// §A of protocol-cases.md: every leak-relevant case of cases.jsonl and of our
// own cases (every `no-leak` case and every case with a non-empty `leak`
// list) re-delivered through the other protocol paths, plus the fixed
// scenarios §A names.
//
// Numbering follows protocol-cases.md: A3 = parameters, A4 = named statements
// and re-Parse. Each case runs on one session, variant after variant (each
// variant brings the session back to idle); side effects are checked from the
// database once per case, and when there are any, every variant of that case
// is re-run alone on a fresh copy of the database to attribute them.
import { loadModule, parseSync, scanSync } from 'libpg-query';
import { findLeak } from '../../src/masking/leak-forms.ts';
import {
  encodeBind, encodeClose, encodeCopyData, encodeCopyDone, encodeCopyFail, encodeDescribe, encodeExecute, encodeFlush, encodeParse,
  encodeQuery, encodeSync,
} from '../../src/protocol/index.ts';
import type { Case, Identity } from '../corpus/cases.ts';
import { CORPUS_DB } from '../corpus/fingerprint.ts';
import { valuesToWatch } from '../corpus/raw-values.ts';
import { startVictim, type Victim } from '../corpus/victim.ts';
import { GW_ROLE } from '../corpus/database.ts';
import {
  allMessages, diffSession, isRefusal, outcomeOf, probeSession, scanLeak, scoreCase, settle, summary, type Fail, type Results,
} from './common.ts';
import type { ProtoEnv } from './env.ts';
import { fieldsOf, firstError, type Exchange, type WireClient } from './wire-client.ts';

const CUSTOMER_COLUMNS = ['public.customers.email', 'public.customers.ssn', 'public.customers.card_number', 'public.customers.phone'];

export interface CaseInfo {
  c: Case;
  /** Top-level statement node names (empty when the SQL does not parse). */
  kinds: string[];
  single: boolean;
  /** The case's SQL without a trailing semicolon. */
  sql: string;
  watched: string[];
}

interface VariantRun {
  /** Every exchange: all of them are scanned for leaks. */
  all: Exchange[];
  /** The exchanges whose first error decides the outcome (default: all). */
  judged?: Exchange[];
  /** Protocol-level expectations that failed. */
  checks?: Fail[];
  /** The gateway may refuse even an allowed case here (binary results of masked columns). */
  refusalOk?: boolean;
  /** Columns whose raw values this variant must not show, besides the case's own. */
  extraWatch?: string[];
}

interface Ctx {
  ci: CaseInfo;
  env: ProtoEnv;
  /** The case's session, reopened if the gateway closed it. */
  client(): Promise<WireClient>;
}

interface Variant {
  name: string;
  applies(ci: CaseInfo): boolean;
  run(ctx: Ctx): Promise<VariantRun>;
}

// ------------------------------------------------------------ helpers

const T = 10_000;

async function q(cl: WireClient, sql: string, timeoutMs = T): Promise<Exchange> {
  return cl.exchange(encodeQuery(sql), { timeoutMs });
}

async function x(cl: WireClient, bufs: Buffer[], timeoutMs = T): Promise<Exchange> {
  return cl.exchange(bufs, { timeoutMs });
}

function hasError(ex: Exchange | Exchange[]): boolean {
  return !!firstError(allMessages(Array.isArray(ex) ? ex : [ex]));
}

function fieldCount(ex: Exchange): number | null {
  for (const m of ex.messages) {
    if (m.msg?.type === 'RowDescription') return m.msg.fields.length;
    if (m.msg?.type === 'NoData') return 0;
  }
  return null;
}

function parses(sql: string): boolean {
  try {
    parseSync(sql);
    return true;
  } catch {
    return false;
  }
}

const isSelect = (ci: CaseInfo): boolean => ci.single && ci.kinds[0] === 'SelectStmt';
const PREPARABLE = new Set(['SelectStmt', 'InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt']);
const isPreparable = (ci: CaseInfo): boolean => ci.single && PREPARABLE.has(ci.kinds[0]);

/** Nothing but ReadyForQuery may follow the first error of a pipeline (the server skips to Sync). */
function afterErrorCheck(ex: Exchange): Fail[] {
  const i = ex.messages.findIndex((m) => m.type === 'E');
  if (i < 0) return [];
  const after = ex.messages.slice(i + 1).filter((m) => m.type !== 'Z' && m.type !== 'N' && m.type !== 'S');
  return after.length === 0 ? [] : [{ cls: 'check', reason: `messages after the pipeline error (before Sync): ${summary(after)}` }];
}

/** Literals that can become parameters: integers after = < > LIMIT OFFSET, standard strings after = or LIKE. */
export function parameterize(sql: string): { sql: string; values: Array<{ text: string; int: boolean }> } | null {
  let tokens;
  try {
    tokens = scanSync(sql).tokens;
  } catch {
    return null;
  }
  const picks: Array<{ start: number; end: number; text: string; int: boolean }> = [];
  for (let i = 1; i < tokens.length; i++) {
    const t = tokens[i];
    const prev = tokens[i - 1].text.toUpperCase();
    if (t.tokenName === 'ICONST' && ['=', '<', '>', '<=', '>=', 'LIMIT', 'OFFSET'].includes(prev)) {
      picks.push({ start: t.start, end: t.end, text: t.text, int: true });
    } else if (t.tokenName === 'SCONST' && t.text.startsWith("'") && ['=', 'LIKE'].includes(prev)) {
      picks.push({ start: t.start, end: t.end, text: t.text.slice(1, -1).replaceAll("''", "'"), int: false });
    }
  }
  if (picks.length === 0) return null;
  let out = sql;
  for (let i = picks.length - 1; i >= 0; i--) out = `${out.slice(0, picks[i].start)}$${i + 1}${out.slice(picks[i].end)}`;
  return { sql: out, values: picks.map((p) => ({ text: p.text, int: p.int })) };
}

function int4(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

// ------------------------------------------------------------ the variants

const always = (): boolean => true;
const single = (ci: CaseInfo): boolean => ci.single;

const VARIANTS: Variant[] = [
  {
    name: 'A0-simple-query',
    applies: always,
    run: async ({ ci, client }) => ({ all: [await q(await client(), ci.c.sql)] }),
  },
  {
    name: 'A1-unnamed-text',
    applies: single,
    run: async ({ ci, client }) => ({
      all: [await x(await client(), [encodeParse('', ci.sql), encodeBind({ resultFormats: [0] }), encodeDescribe('P'), encodeExecute('', 0), encodeSync()])],
    }),
  },
  {
    name: 'A1-no-describe',
    applies: single,
    run: async ({ ci, client }) => ({ all: [await x(await client(), [encodeParse('', ci.sql), encodeBind({}), encodeExecute('', 0), encodeSync()])] }),
  },
  {
    name: 'A2-binary-all',
    applies: single,
    run: async ({ ci, client }) => ({
      all: [await x(await client(), [encodeParse('', ci.sql), encodeBind({ resultFormats: [1] }), encodeDescribe('P'), encodeExecute('', 0), encodeSync()])],
      refusalOk: true,
    }),
  },
  {
    name: 'A2-binary-mixed',
    applies: single,
    run: async ({ ci, client }) => {
      const cl = await client();
      const d = await x(cl, [encodeParse('a2m', ci.sql), encodeDescribe('S', 'a2m'), encodeSync()]);
      const all = [d];
      const n = fieldCount(d);
      if (!hasError(d) && n !== null) {
        const alt = (first: 0 | 1): Array<0 | 1> => Array.from({ length: Math.max(n, 1) }, (_, i) => ((i + first) % 2) as 0 | 1);
        all.push(await x(cl, [encodeBind({ statement: 'a2m', resultFormats: alt(1) }), encodeExecute('', 0), encodeSync()]));
        all.push(await x(cl, [encodeBind({ statement: 'a2m', resultFormats: alt(0) }), encodeDescribe('P'), encodeExecute('', 0), encodeSync()]));
      }
      all.push(await x(cl, [encodeClose('S', 'a2m'), encodeSync()]));
      return { all, refusalOk: true };
    },
  },
  {
    name: 'A3-params-text',
    applies: (ci) => ci.single && parameterize(ci.sql) !== null,
    run: async ({ ci, client }) => {
      const p = parameterize(ci.sql)!;
      const params = p.values.map((v) => Buffer.from(v.text, 'utf8'));
      return { all: [await x(await client(), [encodeParse('', p.sql, p.values.map(() => 0)), encodeBind({ params }), encodeExecute('', 0), encodeSync()])] };
    },
  },
  {
    name: 'A3-params-binary-typed',
    applies: (ci) => ci.single && parameterize(ci.sql) !== null,
    run: async ({ ci, client }) => {
      const p = parameterize(ci.sql)!;
      const types = p.values.map((v) => (v.int ? 23 : 25));
      const params = p.values.map((v) => (v.int ? int4(Number(v.text)) : Buffer.from(v.text, 'utf8')));
      return {
        all: [await x(await client(), [encodeParse('', p.sql, types), encodeBind({ paramFormats: [1], params, resultFormats: [1] }), encodeExecute('', 0), encodeSync()])],
        refusalOk: true,
      };
    },
  },
  {
    name: 'A4-named-many-binds',
    applies: single,
    run: async ({ ci, client }) => {
      const cl = await client();
      const all = [await x(cl, [encodeParse('s1', ci.sql), encodeSync()])];
      for (let i = 0; i < 3; i++) all.push(await x(cl, [encodeBind({ portal: 'p1', statement: 's1' }), encodeExecute('p1', 0), encodeSync()]));
      // Reuse the name for other SQL: the gateway must judge the new text.
      all.push(await x(cl, [encodeClose('S', 's1'), encodeParse('s1', 'SELECT 1 AS one'), encodeBind({ portal: 'p1', statement: 's1' }), encodeExecute('p1', 0), encodeSync()]));
      all.push(await x(cl, [encodeClose('S', 's1'), encodeSync()]));
      return { all, judged: all.slice(0, 4) };
    },
  },
  {
    name: 'A4-reparse-other-sql',
    applies: single,
    run: async ({ ci, client }) => {
      // A harmless statement first, then the case under the same name after Close.
      const cl = await client();
      const all = [await x(cl, [encodeParse('s1b', 'SELECT 1 AS one'), encodeSync()])];
      for (let i = 0; i < 3; i++) all.push(await x(cl, [encodeBind({ portal: 'p1', statement: 's1b' }), encodeExecute('p1', 0), encodeSync()]));
      const judged = [await x(cl, [encodeClose('S', 's1b'), encodeParse('s1b', ci.sql), encodeBind({ portal: 'p1', statement: 's1b' }), encodeExecute('p1', 0), encodeSync()])];
      all.push(...judged, await x(cl, [encodeClose('S', 's1b'), encodeSync()]));
      return { all, judged };
    },
  },
  {
    name: 'A4-reparse-no-close',
    applies: single,
    run: async ({ ci, client }) => {
      // Parse of an existing name fails upstream (42P05): the name still runs the case's SQL.
      const cl = await client();
      const first = await x(cl, [encodeParse('s1c', ci.sql), encodeSync()]);
      const all = [first, await x(cl, [encodeParse('s1c', 'SELECT 1 AS one'), encodeSync()])];
      const run = await x(cl, [encodeBind({ statement: 's1c' }), encodeExecute('', 0), encodeSync()]);
      all.push(run, await x(cl, [encodeClose('S', 's1c'), encodeSync()]));
      return { all, judged: [first, run] };
    },
  },
  {
    name: 'A4-skipped-after-error',
    applies: single,
    run: async ({ ci, client }) => {
      // After an error in the pipeline the server skips Close and Parse until Sync: the name keeps the case's SQL.
      const cl = await client();
      const first = await x(cl, [encodeParse('s1d', ci.sql), encodeSync()]);
      const all = [
        first,
        await x(cl, [encodeParse('', 'SELECT 1/0'), encodeBind({}), encodeExecute('', 0), encodeClose('S', 's1d'), encodeParse('s1d', 'SELECT 1 AS one'), encodeSync()]),
      ];
      const run = await x(cl, [encodeBind({ statement: 's1d' }), encodeExecute('', 0), encodeSync()]);
      all.push(run, await x(cl, [encodeClose('S', 's1d'), encodeSync()]));
      return { all, judged: [first, run] };
    },
  },
  {
    name: 'A4-portal-rebind-in-txn',
    applies: single,
    run: async ({ ci, client }) => {
      // Inside a transaction block, Bind to an existing named portal fails upstream (42P03); after ROLLBACK TO
      // SAVEPOINT the portal (older than the savepoint) still runs the case's SQL.
      const cl = await client();
      const all = [await q(cl, 'BEGIN'), await x(cl, [encodeParse('s8', ci.sql), encodeParse('s9', 'SELECT 1 AS one'), encodeSync()])];
      const bound = await x(cl, [encodeBind({ portal: 'p8', statement: 's8' }), encodeSync()]);
      all.push(bound, await q(cl, 'SAVEPOINT a4'), await x(cl, [encodeBind({ portal: 'p8', statement: 's9' }), encodeSync()]), await q(cl, 'ROLLBACK TO SAVEPOINT a4'));
      const run = await x(cl, [encodeExecute('p8', 0), encodeSync()]);
      all.push(run, await q(cl, 'ROLLBACK'), await x(cl, [encodeClose('S', 's8'), encodeClose('S', 's9'), encodeSync()]));
      return { all, judged: [all[1], bound, run] };
    },
  },
  {
    name: 'A5-sql-prepare-then-bind',
    applies: isPreparable,
    run: async ({ ci, client }) => {
      const cl = await client();
      const all = [await q(cl, `PREPARE s2 AS ${ci.sql}`)];
      all.push(await x(cl, [encodeBind({ statement: 's2' }), encodeExecute('', 0), encodeSync()]));
      all.push(await q(cl, 'DEALLOCATE ALL'));
      return { all, judged: all.slice(0, 2) };
    },
  },
  {
    name: 'A5-parse-then-execute',
    applies: single,
    run: async ({ ci, client }) => {
      const cl = await client();
      const all = [await x(cl, [encodeParse('s3', ci.sql), encodeSync()]), await q(cl, 'EXECUTE s3')];
      all.push(await x(cl, [encodeClose('S', 's3'), encodeSync()]));
      return { all, judged: all.slice(0, 2) };
    },
  },
  {
    name: 'A5-skipped-after-error',
    applies: isPreparable,
    run: async ({ ci, client }) => {
      // Statements after an error in one Query do not run: DEALLOCATE/PREPARE there change nothing upstream.
      const cl = await client();
      const first = await q(cl, `PREPARE s6 AS ${ci.sql}`);
      const all = [first, await q(cl, 'SELECT 1/0; DEALLOCATE s6; PREPARE s6 AS SELECT 1 AS one')];
      const viaSql = await q(cl, 'EXECUTE s6');
      const viaBind = await x(cl, [encodeBind({ statement: 's6' }), encodeExecute('', 0), encodeSync()]);
      all.push(viaSql, viaBind, await q(cl, 'DEALLOCATE ALL'));
      return { all, judged: [first, viaSql, viaBind] };
    },
  },
  {
    name: 'A5-prepare-in-aborted-txn',
    applies: isPreparable,
    run: async ({ ci, client }) => {
      // DEALLOCATE and PREPARE fail with 25P02 in an aborted transaction: the name keeps the case's SQL.
      const cl = await client();
      const first = await q(cl, `PREPARE s7 AS ${ci.sql}`);
      const all = [first, await q(cl, 'BEGIN'), await q(cl, 'SELECT 1/0'), await q(cl, 'DEALLOCATE s7'), await q(cl, 'PREPARE s7 AS SELECT 1 AS one'), await q(cl, 'ROLLBACK')];
      const viaSql = await q(cl, 'EXECUTE s7');
      const viaBind = await x(cl, [encodeBind({ statement: 's7' }), encodeExecute('', 0), encodeSync()]);
      all.push(viaSql, viaBind, await q(cl, 'DEALLOCATE ALL'));
      return { all, judged: [first, viaSql, viaBind] };
    },
  },
  {
    name: 'A6-pipeline',
    applies: single,
    run: async ({ ci, client }) => {
      const reporter = ci.c.identity === 'reporter';
      const after = reporter ? 'SELECT id, email, ssn, card_number, phone FROM public.customers ORDER BY id LIMIT 5' : 'SELECT 2 AS two';
      const pbe = (sql: string): Buffer[] => [encodeParse('', sql), encodeBind({}), encodeDescribe('P'), encodeExecute('', 0)];
      const ex = await x(await client(), [...pbe('SELECT 1 AS one'), ...pbe(ci.sql), ...pbe(after), encodeSync()]);
      return { all: [ex], checks: afterErrorCheck(ex), extraWatch: reporter ? CUSTOMER_COLUMNS : [] };
    },
  },
  {
    name: 'A6-query-mid-pipeline',
    applies: always,
    run: async ({ ci, client }) => {
      const cl = await client();
      cl.write(Buffer.concat([encodeParse('', 'SELECT 1 AS one'), encodeBind({}), encodeExecute('', 0), encodeQuery(ci.c.sql), encodeSync()]));
      const ex = await cl.collect({ ready: 2, timeoutMs: T });
      return { all: [ex] };
    },
  },
  {
    name: 'A7-max-rows-1',
    applies: isSelect,
    run: async ({ ci, client }) => {
      const cl = await client();
      const all = [await cl.exchange([encodeParse('', ci.sql), encodeBind({}), encodeFlush()], { until: (m) => m.type === '2' || m.type === 'E', timeoutMs: T })];
      const checks: Fail[] = [];
      if (!hasError(all[0])) {
        let batches = 0;
        for (; batches < 16; batches++) {
          const msgs = Array.from({ length: 25 }, () => encodeExecute('', 1));
          let ends = 0;
          const ex = await cl.exchange([...msgs, encodeFlush()], {
            until: (m) => m.type === 'E' || (['s', 'C', 'I'].includes(m.type) && ++ends >= 25),
            timeoutMs: T,
          });
          all.push(ex);
          if (ex.timedOut || ex.closed || ex.messages.some((m) => m.type === 'E' || m.type === 'C' || m.type === 'I')) break;
        }
        const rows = allMessages(all).filter((m) => m.type === 'D').length;
        const suspended = allMessages(all).filter((m) => m.type === 's').length;
        if (rows > 1 && suspended === 0) checks.push({ cls: 'check', reason: `${rows} rows but no PortalSuspended: max_rows ignored` });
      }
      all.push(await x(cl, [encodeSync()]));
      return { all, checks };
    },
  },
  {
    name: 'A8-scroll-cursor',
    applies: isSelect,
    run: async ({ ci, client }) => {
      const cl = await client();
      const steps = ['BEGIN', `DECLARE c8 SCROLL CURSOR FOR ${ci.sql}`, 'FETCH 1 FROM c8', 'FETCH ALL FROM c8', 'FETCH BACKWARD 1 FROM c8',
        'MOVE ABSOLUTE 5 IN c8', 'FETCH RELATIVE 0 FROM c8', 'FETCH PRIOR FROM c8', 'CLOSE c8', 'COMMIT'];
      return { all: await steps_(cl, steps) };
    },
  },
  {
    name: 'A8-binary-hold-cursor',
    applies: isSelect,
    run: async ({ ci, client }) => {
      const cl = await client();
      const all = await steps_(cl, ['BEGIN', `DECLARE c9 BINARY SCROLL CURSOR WITH HOLD FOR ${ci.sql}`, 'COMMIT', 'FETCH 1 FROM c9', 'FETCH ALL FROM c9', 'FETCH BACKWARD 2 FROM c9']);
      if (!hasError(all)) {
        // FETCH through the extended protocol, with binary and text result formats.
        all.push(await x(cl, [encodeParse('', 'FETCH ABSOLUTE 1 FROM c9'), encodeBind({ resultFormats: [1] }), encodeExecute('', 0), encodeSync()]));
        all.push(await x(cl, [encodeParse('', 'FETCH FORWARD 3 FROM c9'), encodeBind({}), encodeDescribe('P'), encodeExecute('', 0), encodeSync()]));
      }
      all.push(await q(cl, 'CLOSE ALL'));
      return { all, refusalOk: true };
    },
  },
  {
    name: 'A8-cursor-one-query',
    applies: isSelect,
    run: async ({ ci, client }) => ({
      all: [await q(await client(), `BEGIN; DECLARE c10 BINARY CURSOR FOR ${ci.sql}; FETCH 1 FROM c10; FETCH ALL FROM c10; MOVE FORWARD 1 IN c10; CLOSE c10; COMMIT`)],
      refusalOk: true,
    }),
  },
  {
    name: 'A8-cursor-skipped-after-error',
    applies: isSelect,
    run: async ({ ci, client }) => {
      // CLOSE and DECLARE after an error in one Query do not run: the cursor keeps the case's rows.
      const cl = await client();
      const all = await steps_(cl, ['BEGIN', `DECLARE c13 CURSOR WITH HOLD FOR ${ci.sql}`, 'COMMIT']);
      const judged = [...all];
      if (!hasError(all)) {
        all.push(await q(cl, 'SELECT 1/0; CLOSE c13; DECLARE c13 CURSOR WITH HOLD FOR SELECT 1 AS one'));
        const fetch = await q(cl, 'FETCH ALL FROM c13');
        all.push(fetch);
        judged.push(fetch);
      }
      all.push(await q(cl, 'CLOSE ALL'));
      return { all, judged };
    },
  },
  {
    name: 'A8-hold-cursor-implicit-commit',
    applies: isSelect,
    run: async ({ ci, client }) => {
      // WITH HOLD outside a transaction block: the rows are computed when the implicit transaction commits
      // (at Sync in the extended protocol), so errors about them arrive after the DECLARE itself.
      const cl = await client();
      const all = [await x(cl, [encodeParse('', `DECLARE c11 CURSOR WITH HOLD FOR ${ci.sql}`), encodeBind({}), encodeExecute('', 0), encodeSync()])];
      all.push(await q(cl, 'FETCH 3 FROM c11'), await q(cl, 'CLOSE ALL'));
      all.push(await q(cl, `DECLARE c12 CURSOR WITH HOLD FOR ${ci.sql}`), await q(cl, 'FETCH 3 FROM c12'), await q(cl, 'CLOSE ALL'));
      return { all, judged: [all[0], all[1], all[3], all[4]] };
    },
  },
  ...(['text', 'csv', 'csv-header', 'binary'] as const).flatMap((format): Variant[] => {
    const opt = { text: '', csv: ' WITH (FORMAT csv)', 'csv-header': ' WITH (FORMAT csv, HEADER)', binary: ' WITH (FORMAT binary)' }[format];
    const wrap = (ci: CaseInfo): string => `COPY (${ci.sql}\n) TO STDOUT${opt}`;
    const applies = (ci: CaseInfo): boolean => isSelect(ci) && parses(wrap(ci));
    return [
      { name: `A9-copy-${format}-Q`, applies, run: async ({ ci, client }) => ({ all: [await q(await client(), wrap(ci))], refusalOk: format === 'binary' }) },
      {
        name: `A9-copy-${format}-PBE`,
        applies,
        run: async ({ ci, client }) => ({
          all: [await x(await client(), [encodeParse('', wrap(ci)), encodeBind({}), encodeDescribe('P'), encodeExecute('', 0), encodeSync()])],
          refusalOk: format === 'binary',
        }),
      },
    ];
  }),
  {
    name: 'A10-describe-only',
    applies: single,
    run: async ({ ci, client }) => {
      const cl = await client();
      const ex = await x(cl, [encodeParse('d10', ci.sql), encodeDescribe('S', 'd10'), encodeSync()]);
      const rows = ex.messages.filter((m) => m.type === 'D' || m.type === 'd' || m.type === 'H' || m.type === 'C');
      const checks: Fail[] = rows.length > 0 ? [{ cls: 'check', reason: `Describe without Execute returned results: ${summary(rows)}` }] : [];
      return { all: [ex, await x(cl, [encodeClose('S', 'd10'), encodeSync()])], judged: [ex], checks };
    },
  },
  {
    name: 'A11-error-fields',
    applies: (ci) => ci.c.id.startsWith('rep-mask-error-') || /notice|notify|raise/i.test(ci.c.sql),
    run: async ({ ci, client }) => {
      const cl = await client();
      const all = [await q(cl, ci.c.sql)];
      if (ci.single) all.push(await x(cl, [encodeParse('', ci.sql), encodeBind({}), encodeDescribe('P'), encodeExecute('', 0), encodeSync()]));
      // Name the field that carries a value, if any (the generic scan already fails the run).
      const checks: Fail[] = [];
      for (const f of fieldsOf(allMessages(all))) {
        const leak = findLeak(f.text, ci.watched);
        if (leak) checks.push({ cls: 'leak', reason: `${f.where} carries ${leak}` });
      }
      return { all, checks };
    },
  },
];

/** Runs simple queries in order, stopping at the first error (then ROLLBACK). */
async function steps_(cl: WireClient, steps: string[]): Promise<Exchange[]> {
  const all: Exchange[] = [];
  for (const s of steps) {
    const ex = await q(cl, s);
    all.push(ex);
    if (hasError(ex) || ex.closed || ex.timedOut) break;
  }
  return all;
}

// ------------------------------------------------------------ running

export async function caseInfo(env: ProtoEnv, c: Case): Promise<CaseInfo> {
  await loadModule();
  let kinds: string[] = [];
  try {
    kinds = (parseSync(c.sql).stmts ?? []).map((s) => Object.keys(s.stmt ?? {})[0] ?? '?');
  } catch {
    kinds = [];
  }
  const sql = c.sql.trim().replace(/;\s*$/, '');
  const watched = valuesToWatch(c.sql, await env.raw.columns(c.leak), findLeak);
  return { c, kinds, single: kinds.length === 1, sql, watched };
}

export function isLeakRelevant(c: Case): boolean {
  return c.expect === 'no-leak' || c.leak.length > 0;
}

interface PartialRun {
  variant: Variant;
  run: VariantRun;
  sessionChanges: string[];
  ms: number;
}

async function runVariants(env: ProtoEnv, ci: CaseInfo, variants: Variant[], baseline: Record<string, string> | null): Promise<PartialRun[]> {
  let cl: WireClient | undefined;
  const client = async (): Promise<WireClient> => {
    if (!cl || cl.closed) cl = await env.open(ci.c.identity);
    return cl;
  };
  const out: PartialRun[] = [];
  const probeEffects = ci.c.expect === 'deny' || ci.c.expect === 'approval';
  try {
    for (const v of variants) {
      const started = Date.now();
      let run: VariantRun;
      try {
        run = await v.run({ ci, env, client });
      } catch (e) {
        run = { all: [], checks: [{ cls: 'broken', reason: `exception: ${(e as Error).message}` }] };
      }
      if (cl && run.all.some((e) => e.timedOut)) {
        // A hung session cannot be trusted for the next variant.
        cl.destroy();
        cl = undefined;
      } else if (cl && !cl.closed) {
        run.all.push(...(await settle(cl)));
      }
      let sessionChanges: string[] = [];
      if (probeEffects && cl && !cl.closed) sessionChanges = diffSession(baseline, await probeSession(cl));
      if (sessionChanges.length > 0) {
        // Start the next variant from a clean session.
        cl?.destroy();
        cl = undefined;
      }
      out.push({ variant: v, run, sessionChanges, ms: Date.now() - started });
    }
  } finally {
    cl?.end();
  }
  return out;
}

async function withVictim<T>(env: ProtoEnv, c: Case, fn: (victim: Victim | undefined) => Promise<T>): Promise<T> {
  const victim = c.sql.includes('corpus-victim') ? await startVictim(env.cluster, CORPUS_DB, GW_ROLE, env.db.gatewayPassword) : undefined;
  try {
    return await fn(victim);
  } finally {
    await victim?.stop();
  }
}

/** Runs the variants of one case; effects are attributed per variant when there are any. */
export async function runCase(env: ProtoEnv, results: Results, ci: CaseInfo, variants: Variant[], baselines: Map<Identity, Record<string, string> | null>): Promise<void> {
  if (variants.length === 0) return;
  if (env.db.dirty) await env.db.reset();
  const baseline = baselines.get(ci.c.identity) ?? null;
  let runs: PartialRun[] = [];
  let effects: string[] = [];
  await withVictim(env, ci.c, async (victim) => {
    runs = await runVariants(env, ci, variants, baseline);
    effects = await env.db.changes();
    const signal = await victim?.signalled();
    if (signal) effects.push(`victim session ${signal}`);
  });
  const perVariant = new Map<Variant, string[]>();
  if (effects.length > 0) {
    env.db.dirty = true;
    // Attribute: each variant alone, on a fresh database.
    for (const v of variants) {
      await env.db.reset();
      await withVictim(env, ci.c, async (victim) => {
        const [again] = await runVariants(env, ci, [v], baseline);
        const eff = await env.db.changes();
        const signal = await victim?.signalled();
        if (signal) eff.push(`victim session ${signal}`);
        perVariant.set(v, eff);
        runs = runs.map((r) => (r.variant === v ? again : r));
      });
    }
    env.db.dirty = true;
  }
  for (const r of runs) {
    const watched = r.run.extraWatch?.length
      ? [...new Set([...ci.watched, ...valuesToWatch(ci.c.sql, await env.raw.columns(r.run.extraWatch), findLeak)])]
      : ci.watched;
    const eff = [...(perVariant.get(r.variant) ?? []), ...r.sessionChanges];
    const outcome = outcomeOf(r.run.judged ?? r.run.all);
    const leak = scanLeak(r.run.all, watched);
    const { fails, note } = scoreCase(ci.c, outcome, eff, leak, r.run.refusalOk);
    fails.push(...(r.run.checks ?? []).filter((f) => !(f.cls === 'leak' && leak)));
    results.add('A', r.variant.name, ci.c.id, fails, r.ms, note);
  }
}

export function variantsFor(ci: CaseInfo, only?: RegExp): Variant[] {
  return VARIANTS.filter((v) => v.applies(ci) && (!only || only.test(v.name)));
}

// ------------------------------------------------------------ A12: multi-statement cases

const A12: Variant[] = [
  { name: 'A12-plain', applies: always, run: async ({ ci, client }) => ({ all: [await q(await client(), ci.c.sql)] }) },
  {
    name: 'A12-open-begin',
    applies: always,
    run: async ({ ci, client }) => {
      const cl = await client();
      const b = await q(cl, 'BEGIN');
      const run = await q(cl, ci.c.sql);
      return { all: [b, run, await q(cl, 'ROLLBACK')], judged: [run] };
    },
  },
  {
    name: 'A12-begin-in-message',
    applies: always,
    run: async ({ ci, client }) => {
      const cl = await client();
      const run = await q(cl, `BEGIN; ${ci.sql}; ROLLBACK`);
      return { all: [run, await q(cl, 'ROLLBACK')], judged: [run] };
    },
  },
];

export function a12Variants(only?: RegExp): Variant[] {
  return A12.filter((v) => !only || only.test(v.name));
}

// ------------------------------------------------------------ fixed scenarios of §A

export async function fixedScenarios(env: ProtoEnv, results: Results): Promise<void> {
  const ssn = await env.raw.column('public.customers.ssn');
  const allPii = await env.raw.columns(CUSTOMER_COLUMNS);
  const orders = async (): Promise<number> => Number((await env.cluster.query<{ n: string }>('SELECT count(*) AS n FROM public.orders', CORPUS_DB)).rows[0].n);
  const reset = async (): Promise<void> => {
    if (env.db.dirty) await env.db.reset();
  };
  const effectsAfter = async (): Promise<string[]> => {
    const e = await env.db.changes();
    if (e.length > 0) env.db.dirty = true;
    return e;
  };
  const leakFails = (exs: Exchange[], watched: string[]): Fail[] => {
    const l = scanLeak(exs, watched);
    return l ? [{ cls: 'leak', reason: `leaked ${l}` }] : [];
  };
  const mustRefuse = (ex: Exchange | Exchange[], what: string): Fail[] => {
    const err = firstError(allMessages(Array.isArray(ex) ? ex : [ex]));
    return isRefusal(err) ? [] : [{ cls: err ? 'forwarded' : 'check', reason: `${what}: expected a 42501 scopegate refusal, got ${err ? `${err.C} ${err.M}` : 'no error'}` }];
  };
  const noEffects = (eff: string[], what: string): Fail[] => (eff.length ? [{ cls: 'bypass', reason: `${what}: ${eff.slice(0, 3).join('; ')}` }] : []);

  // The detector itself: coder reads PII in clear (policy.md §8.1), so the scan must find it in text and binary results.
  await results.check('A', 'A-harness-selfcheck', 'coder reads ssn in clear', async () => {
    const cl = await env.open('coder');
    const sql = 'SELECT id, ssn, email FROM public.customers ORDER BY id LIMIT 3';
    const text = await q(cl, sql);
    const bin = await x(cl, [encodeParse('', sql), encodeBind({ resultFormats: [1] }), encodeExecute('', 0), encodeSync()]);
    const copy = await q(cl, `COPY (${sql}) TO STDOUT WITH (FORMAT binary)`);
    cl.end();
    const fails: Fail[] = [];
    for (const [what, ex] of [['text', text], ['binary', bin], ['COPY binary', copy]] as const) {
      if (!scanLeak([ex], allPii)) fails.push({ cls: 'broken', reason: `the leak scan found no raw value in the coder's ${what} result: the harness cannot see leaks` });
    }
    return fails;
  });

  // A3: parameters.
  await reset();
  await results.check('A', 'A3-fixed', 'param-id-masked', async () => {
    const cl = await env.open('reporter');
    const sql = 'SELECT id, ssn FROM public.customers WHERE id = $1';
    const exs = [
      await x(cl, [encodeParse('', sql, [0]), encodeBind({ params: [Buffer.from('42')] }), encodeDescribe('P'), encodeExecute('', 0), encodeSync()]),
      await x(cl, [encodeParse('', sql, [23]), encodeBind({ paramFormats: [1], params: [int4(42)], resultFormats: [1] }), encodeExecute('', 0), encodeSync()]),
      await x(cl, [encodeParse('', sql, [23]), encodeBind({ paramFormats: [0], params: [Buffer.from('42')], resultFormats: [0, 1] }), encodeExecute('', 0), encodeSync()]),
    ];
    cl.end();
    const fails = leakFails(exs, ssn);
    const rows = allMessages(exs).filter((m) => m.type === 'D').length;
    if (hasError(exs) || rows !== 3) fails.push({ cls: 'over-blocking', reason: `expected 3 masked rows: ${summary(allMessages(exs))}` });
    return fails;
  });
  await results.check('A', 'A3-fixed', 'param-like-oracle', async () => {
    const fails: Fail[] = [];
    for (const [types, fmt] of [[[0], 0], [[25], 0], [[25], 1], [[0], 1]] as const) {
      const cl = await env.open('reporter');
      const ex = await x(cl, [encodeParse('', 'SELECT count(*) FROM public.customers WHERE ssn LIKE $1', [...types]), encodeBind({ paramFormats: [fmt], params: [Buffer.from('137-%')] }), encodeExecute('', 0), encodeSync()]);
      cl.end();
      fails.push(...mustRefuse(ex, `LIKE $1 types=${types} format=${fmt}`), ...leakFails([ex], ssn));
    }
    return fails;
  });
  await results.check('A', 'A3-fixed', 'param-values-are-data', async () => {
    const before = await orders();
    const fails: Fail[] = [];
    for (const [identity, sql, value] of [
      ['reporter', 'SELECT $1::text AS v', '1; DELETE FROM public.orders WHERE id=10001'],
      ['reporter', 'SELECT id FROM public.orders WHERE status = $1', "x'; DELETE FROM public.orders WHERE id=10001; --"],
      ['coder', 'DELETE FROM public.orders WHERE id = $1', '10001 OR 1=1'],
    ] as const) {
      const cl = await env.open(identity);
      const ex = await x(cl, [encodeParse('', sql), encodeBind({ params: [Buffer.from(value)] }), encodeExecute('', 0), encodeSync()]);
      cl.end();
      if (identity === 'coder' && !hasError(ex)) fails.push({ cls: 'check', reason: `"${value}" as an int4 parameter was accepted: ${summary(ex.messages)}` });
      if (identity === 'reporter' && hasError(ex)) fails.push({ cls: 'over-blocking', reason: `${sql}: ${summary(ex.messages)}` });
    }
    const after = await orders();
    if (after !== before) fails.push({ cls: 'bypass', reason: `public.orders went from ${before} to ${after} rows` });
    fails.push(...noEffects(await effectsAfter(), 'parameters reparsed as SQL'));
    return fails;
  });

  // A5: the reporter's DELETE through Parse, then SQL EXECUTE; PREPARE in SQL, Bind in protocol.
  await reset();
  await results.check('A', 'A5-fixed', 'parse-delete-execute-s4', async () => {
    const cl = await env.open('reporter');
    const p = await x(cl, [encodeParse('s4', 'DELETE FROM public.orders WHERE id=10001'), encodeSync()]);
    const e = await q(cl, 'EXECUTE s4');
    const b = await x(cl, [encodeBind({ statement: 's4' }), encodeExecute('', 0), encodeSync()]);
    cl.end();
    return [...mustRefuse(p, 'P(s4, DELETE)'), ...(hasError(e) ? [] : [{ cls: 'forwarded' as const, reason: `EXECUTE s4 ran: ${summary(e.messages)}` }]),
      ...(hasError(b) ? [] : [{ cls: 'forwarded' as const, reason: `B(s4) ran: ${summary(b.messages)}` }]), ...noEffects(await effectsAfter(), 'EXECUTE s4')];
  });
  await results.check('A', 'A5-fixed', 'sql-prepare-protocol-bind', async () => {
    const cl = await env.open('reporter');
    const exs = [await q(cl, 'PREPARE s2 AS SELECT ssn FROM public.customers')];
    exs.push(await x(cl, [encodeBind({ statement: 's2' }), encodeExecute('', 0), encodeSync()]));
    exs.push(await x(cl, [encodeBind({ statement: 's2', resultFormats: [1] }), encodeDescribe('P'), encodeExecute('', 0), encodeSync()]));
    exs.push(await x(cl, [encodeParse('s3', 'SELECT ssn FROM public.customers'), encodeSync()]), await q(cl, 'EXECUTE s3'));
    cl.end();
    return leakFails(exs, ssn);
  });

  // A6: a denied statement in the middle of a pipeline; nothing after it may run until Sync.
  await reset();
  await results.check('A', 'A6-fixed', 'coder-denied-then-insert', async () => {
    const before = await orders();
    const cl = await env.open('coder');
    const pbe = (sql: string): Buffer[] => [encodeParse('', sql), encodeBind({}), encodeExecute('', 0)];
    const ex = await x(cl, [
      ...pbe('SELECT 1'), ...pbe('DELETE FROM public.orders'),
      ...pbe("INSERT INTO public.orders (customer_id, order_date, status, amount, sku) VALUES (1, DATE '2024-07-01', 'pending', 1, 'SKU-P')"),
      ...pbe('SELECT ssn FROM public.customers'), encodeSync(),
    ]);
    const ok = await q(cl, 'SELECT 1');
    cl.end();
    const after = await orders();
    const fails = [...mustRefuse(ex, 'DELETE without WHERE'), ...afterErrorCheck(ex)];
    if (after !== before) fails.push({ cls: 'bypass', reason: `statements after the refused one ran: orders ${before} → ${after}` });
    if (hasError(ok)) fails.push({ cls: 'check', reason: `session unusable after Sync: ${summary(ok.messages)}` });
    return [...fails, ...noEffects(await effectsAfter(), 'pipeline after refusal')];
  });
  await results.check('A', 'A6-fixed', 'upstream-error-then-insert', async () => {
    const before = await orders();
    const cl = await env.open('coder');
    const pbe = (sql: string): Buffer[] => [encodeParse('', sql), encodeBind({}), encodeExecute('', 0)];
    const ex = await x(cl, [...pbe('SELECT 1/0'), ...pbe("INSERT INTO public.orders (customer_id, order_date, status, amount, sku) VALUES (1, DATE '2024-07-01', 'pending', 1, 'SKU-P')"), encodeSync()]);
    cl.end();
    const after = await orders();
    const fails = afterErrorCheck(ex);
    if (after !== before) fails.push({ cls: 'bypass', reason: `INSERT after the failed statement ran: orders ${before} → ${after}` });
    return [...fails, ...noEffects(await effectsAfter(), 'pipeline after upstream error')];
  });
  await results.check('A', 'A6-fixed', 'reporter-denied-then-leak-select', async () => {
    const cl = await env.open('reporter');
    const pbe = (sql: string): Buffer[] => [encodeParse('', sql), encodeBind({}), encodeExecute('', 0)];
    const ex = await x(cl, [...pbe('SELECT 1'), ...pbe('DELETE FROM public.orders WHERE id=10001'), ...pbe('SELECT upper(ssn), email FROM public.customers'), encodeSync()]);
    cl.end();
    return [...mustRefuse(ex, 'DELETE'), ...afterErrorCheck(ex), ...leakFails([ex], allPii), ...noEffects(await effectsAfter(), 'pipeline')];
  });

  // A7: max_rows on writes: a denied UPDATE … RETURNING; coder's DELETE … RETURNING completes on the first Execute.
  await reset();
  await results.check('A', 'A7-fixed', 'reporter-update-returning', async () => {
    const cl = await env.open('reporter');
    const ex = await x(cl, [encodeParse('', "UPDATE public.customers SET notes = 'x' WHERE id = 1 RETURNING ssn"), encodeBind({}), encodeExecute('', 1), encodeSync()]);
    cl.end();
    return [...mustRefuse(ex, 'UPDATE … RETURNING'), ...leakFails([ex], ssn), ...noEffects(await effectsAfter(), 'UPDATE … RETURNING')];
  });
  await results.check('A', 'A7-fixed', 'coder-delete-returning-completes', async () => {
    const before = await orders();
    const cl = await env.open('coder');
    const ex = await x(cl, [encodeParse('', 'DELETE FROM public.orders WHERE id IN (10001, 10002, 10003) RETURNING id'), encodeBind({}), encodeExecute('', 1), encodeSync()]);
    cl.end();
    env.db.dirty = true;
    const after = await orders();
    const fails: Fail[] = [];
    if (hasError(ex)) fails.push({ cls: 'over-blocking', reason: summary(ex.messages) });
    else if (before - after !== 3) fails.push({ cls: 'check', reason: `expected the DELETE to remove 3 rows on the first Execute, removed ${before - after}` });
    return fails;
  });

  // A9: the table form of COPY for reporter in every format, through Q and P/B/E; COPY FROM STDIN.
  await reset();
  for (const table of ['public.customers', 'public.customers (ssn, email, card_number, phone)', 'public.customers_legacy']) {
    await results.check('A', 'A9-fixed', `copy-table ${table}`, async () => {
      const cl = await env.open('reporter');
      const exs: Exchange[] = [];
      for (const opt of ['', ' WITH (FORMAT csv)', ' WITH (FORMAT csv, HEADER)', ' WITH (FORMAT binary)']) {
        exs.push(await q(cl, `COPY ${table} TO STDOUT${opt}`));
        exs.push(await x(cl, [encodeParse('', `COPY ${table} TO STDOUT${opt}`), encodeBind({}), encodeExecute('', 0), encodeSync()]));
      }
      cl.end();
      const fails = leakFails(exs, allPii);
      if (table === 'public.customers' && hasError(exs[0])) fails.push({ cls: 'over-blocking', reason: `COPY public.customers TO STDOUT refused: ${summary(exs[0].messages)}` });
      return fails;
    });
  }
  await results.check('A', 'A9-fixed', 'copy-from-stdin', async () => {
    const fails: Fail[] = [];
    const before = await orders();
    const row = Buffer.from('1\t2024-07-01\tpending\t9.99\tSKU-C\n');
    const copySql = 'COPY public.orders (customer_id, order_date, status, amount, sku) FROM STDIN';
    // reporter: denied.
    let cl = await env.open('reporter');
    let ex = await q(cl, copySql);
    fails.push(...mustRefuse(ex, 'reporter COPY FROM STDIN'));
    if (ex.messages.some((m) => m.type === 'G')) {
      ex = await x(cl, [encodeCopyData(row), encodeCopyDone()]);
    }
    cl.end();
    if ((await orders()) !== before) fails.push({ cls: 'bypass', reason: 'reporter COPY FROM STDIN inserted rows' });
    // coder: CopyFail inserts nothing; CopyData + CopyDone inserts through Q and through P/B/E.
    cl = await env.open('coder');
    const g = await cl.exchange(encodeQuery(copySql), { until: (m) => m.type === 'G' || m.type === 'E', timeoutMs: T });
    if (g.messages.some((m) => m.type === 'G')) {
      ex = await x(cl, [encodeCopyData(row), encodeCopyFail('client gave up')]);
      if (!hasError(ex)) fails.push({ cls: 'check', reason: `CopyFail did not fail the COPY: ${summary(ex.messages)}` });
    } else fails.push({ cls: 'over-blocking', reason: `coder COPY FROM STDIN refused: ${summary(g.messages)}` });
    if ((await orders()) !== before) fails.push({ cls: 'check', reason: 'rows inserted despite CopyFail' });
    const g2 = await cl.exchange(encodeQuery(copySql), { until: (m) => m.type === 'G' || m.type === 'E', timeoutMs: T });
    if (g2.messages.some((m) => m.type === 'G')) await x(cl, [encodeCopyData(row), encodeCopyDone()]);
    const g3 = await cl.exchange([encodeParse('', copySql), encodeBind({}), encodeExecute('', 0), encodeFlush()], { until: (m) => m.type === 'G' || m.type === 'E', timeoutMs: T });
    if (g3.messages.some((m) => m.type === 'G')) await x(cl, [encodeCopyData(row), encodeCopyDone(), encodeSync()]);
    else await x(cl, [encodeSync()]);
    const ok = await q(cl, 'SELECT 1');
    cl.end();
    env.db.dirty = true;
    const added = (await orders()) - before;
    if (added !== 2) fails.push({ cls: 'check', reason: `expected 2 rows from CopyData+CopyDone (Q and P/B/E), got ${added}` });
    if (hasError(ok)) fails.push({ cls: 'check', reason: `session unusable after COPY FROM: ${summary(ok.messages)}` });
    return fails;
  });

  // A10: Describe must not execute anything.
  await reset();
  await results.check('A', 'A10-fixed', 'describe-executes-nothing', async () => {
    const fails: Fail[] = [];
    for (const [identity, sql] of [
      ['reporter', 'SELECT public.touch_customer(1)'],
      ['coder', 'SELECT public.touch_customer(1)'],
      ['reporter', "SELECT nextval('public.orders_id_seq')"],
      ['dq-agent', "INSERT INTO analytics.quality_flags (table_name, row_ref, column_name, issue, severity) VALUES ('t', 'r', 'c', 'describe-only', 'low') RETURNING *"],
      ['coder', "INSERT INTO public.orders (customer_id, order_date, status, amount, sku) VALUES (1, DATE '2024-07-01', 'pending', 1, 'SKU-D') RETURNING id"],
    ] as const) {
      const cl = await env.open(identity);
      const ex = await x(cl, [encodeParse('', sql), encodeDescribe('S'), encodeSync()]);
      cl.end();
      const rows = ex.messages.filter((m) => ['D', 'C', 'd'].includes(m.type));
      if (rows.length) fails.push({ cls: 'check', reason: `${identity} ${sql}: Describe returned ${summary(rows)}` });
    }
    return [...fails, ...noEffects(await effectsAfter(), 'Describe executed something')];
  });

  // A11: the set_config ParameterStatus channel and NOTIFY payloads.
  await reset();
  await results.check('A', 'A11-fixed', 'set-config-application-name', async () => {
    const cl = await env.open('reporter');
    const sql = "SELECT set_config('application_name', (SELECT ssn FROM public.customers WHERE id = 1), false)";
    const exs = [await q(cl, sql), await x(cl, [encodeParse('', sql), encodeBind({}), encodeExecute('', 0), encodeSync()]), await q(cl, 'SHOW application_name')];
    exs.push(await q(cl, "SET application_name = 'weekly-report'"));
    cl.end();
    const fails = [...mustRefuse(exs[0], 'set_config via Q'), ...mustRefuse(exs[1], 'set_config via P/B/E'), ...leakFails(exs, ssn)];
    const ps = allMessages(exs).filter((m) => m.msg?.type === 'ParameterStatus');
    if (!ps.some((m) => m.msg?.type === 'ParameterStatus' && m.msg.value === 'weekly-report')) fails.push({ cls: 'check', reason: 'SET application_name gave no ParameterStatus' });
    return fails;
  });
  await results.check('A', 'A11-fixed', 'notify-payload', async () => {
    const fails: Fail[] = [];
    for (const identity of ['reporter', 'coder'] as const) {
      const cl = await env.open(identity);
      const exs = [
        await q(cl, 'LISTEN ch11'),
        await q(cl, "SELECT pg_notify('ch11', (SELECT ssn FROM public.customers WHERE id = 1))"),
        await q(cl, "NOTIFY ch11, 'x'"),
        await q(cl, 'SELECT 1'),
      ];
      cl.end();
      fails.push(...mustRefuse(exs[0], `${identity} LISTEN`), ...mustRefuse(exs[1], `${identity} pg_notify`), ...mustRefuse(exs[2], `${identity} NOTIFY`));
      if (identity === 'reporter') fails.push(...leakFails(exs, ssn));
      if (allMessages(exs).some((m) => m.type === 'A')) fails.push({ cls: 'check', reason: `${identity} received a NotificationResponse` });
    }
    return fails;
  });
}

export { CUSTOMER_COLUMNS };

// ------------------------------------------------------------ §A entry point

export async function runSectionA(env: ProtoEnv, results: Results, only?: RegExp): Promise<void> {
  const baselines = new Map<Identity, Record<string, string> | null>();
  for (const identity of ['reporter', 'dq-agent', 'coder'] as const) {
    const cl = await env.open(identity);
    baselines.set(identity, await probeSession(cl));
    cl.end();
  }
  const pick = (name: string, id: string): boolean => !only || only.test(name) || only.test(id);
  for (const c of env.cases.filter(isLeakRelevant)) {
    const ci = await caseInfo(env, c);
    const variants = VARIANTS.filter((v) => v.applies(ci) && pick(v.name, c.id));
    await runCase(env, results, ci, variants, baselines);
  }
  // A12: every multi-statement case of the corpus, inside and outside an open transaction.
  for (const c of env.cases) {
    const ci = await caseInfo(env, c);
    if (ci.kinds.length < 2) continue;
    await runCase(env, results, ci, A12.filter((v) => pick(v.name, c.id)), baselines);
  }
  if (!only || only.test('fixed')) await fixedScenarios(env, results);
  if (env.db.dirty) await env.db.reset();
}
