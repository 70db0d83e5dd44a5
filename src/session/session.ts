// One client connection after authentication: every client message is judged
// here, in order, and either forwarded as it arrived or replaced by a sentinel
// that makes the upstream fail exactly where Postgres would have failed.
import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { encodeParse, encodeQuery, encodeDescribe } from '../protocol/frontend.ts';
import { encodeErrorResponse } from '../protocol/backend.ts';
import { errorFields, PgError, toPgError } from '../protocol/errors.ts';
import type { MessageFramer, RawMessage } from '../protocol/framer.ts';
import { ProtocolError, type FrontendMessage } from '../protocol/types.ts';
import type { QueryAnalysis, StatementAnalysis } from '../analysis/types.ts';
import type { AnalysisError } from '../analysis/types.ts';
import type { EffectivePolicy } from '../policy/compile.ts';
import type { Identity, MaskStrategy, QueryVerdict, StatementVerdict } from '../policy/types.ts';
import type { AuditSink } from '../audit/types.ts';
import type { StatementAnalyzer } from './analyzer.ts';
import { SessionRegistry, type PortalEntry, type PreparedEntry } from './registry.ts';
import { judgeQuery, judgeStatement, registryLookup } from './verdicts.ts';
import { analysisError, functionCallError, verdictError } from './denial.ts';
import { ResponseRelay } from './relay.ts';
import { OutputBatch } from './output-batch.ts';
import { SlabLedger } from '../masking/slab-pool.ts';
import { RepeatDecoder } from './repeat-decoder.ts';
import { expectBind, expectClose, expectDescribe, expectExecute, expectParse, expectQuery, expectSync, type ResultPlan } from './expectations.ts';
import type { Catalog } from '../upstream/catalog.ts';
import type { SocketInput } from '../protocol/socket-input.ts';
import type { ApprovalsPort } from './approvals-port.ts';
import { fingerprintSql } from '../audit/fingerprint.ts';
import { isoTime } from '../audit/iso-time.ts';
import { RanStatementEvent } from '../audit/ran-statement.ts';
import type { SessionMetrics } from '../metrics/metrics.ts';
import { policyWithGrants } from './grants.ts';
import { encodeNoticeResponse } from '../protocol/backend.ts';

const T = (c: string): number => c.charCodeAt(0);

export interface SessionDeps {
  id: string;
  identity: Identity;
  upstreamName: string;
  policy: EffectivePolicy;
  analyzer: StatementAnalyzer;
  catalog: Catalog;
  audit: AuditSink;
  hashKey: Buffer;
  maxPrepared: number;
  /** Masks by "tableOid.attnum", for the RowDescription cross-check. */
  maskByColumn: Map<string, MaskStrategy>;
  now: () => number;
  log: (msg: string, extra?: Record<string, unknown>) => void;
  /** Absent: `review` verdicts are refused. */
  approvals?: ApprovalsPort;
  /** Refuse statements while the audit trail cannot be written. */
  auditFailClosed?: boolean;
  /** Hold each ReadyForQuery until the audit events before it are written (audit.ack_after_write). */
  ackAfterAudit?: boolean;
  metrics?: SessionMetrics;
}

export class Session {
  private readonly registry: SessionRegistry;
  private readonly relay: ResponseRelay;
  private readonly toUpstream = new OutputBatch();
  private readonly toClient = new OutputBatch();
  /** Masked output's slabs, reusable once the client socket has taken them (releaseSlabs). */
  private readonly slabs = new SlabLedger();
  private readonly pending: RawMessage[] = [];
  private readonly decoder = new RepeatDecoder();
  private processing = false;
  /** After a refusal in the extended protocol, client messages are dropped until Sync, as Postgres does. */
  private skipUntilSync = false;
  private copyIn = false;
  private closed = false;
  private readonly sentinelTag = randomBytes(6).toString('hex');
  private statements = 0;
  private readonly startedAt: number;
  /** Set while a statement is held for review. */
  private held: AbortController | null = null;
  /** When the identity's token expires, the session ends after the statement in progress. */
  private deadline: NodeJS.Timeout | null = null;
  private expired = false;

  constructor(
    private readonly client: Socket,
    private readonly clientInput: SocketInput,
    private readonly clientFramer: MessageFramer,
    private readonly upstream: Socket,
    private readonly upstreamInput: SocketInput,
    private readonly upstreamFramer: MessageFramer,
    private readonly deps: SessionDeps,
  ) {
    this.startedAt = deps.now();
    this.auditing = deps.audit.enabled !== false;
    this.basePolicy = deps.policy;
    this.maskByColumn = deps.maskByColumn;
    this.registry = new SessionRegistry(deps.maxPrepared);
    this.relay = new ResponseRelay(this.toClient, {
      hashKey: deps.hashKey,
      slabs: this.slabs,
      maskByColumn: (oid, attnum) => this.maskByColumn.get(`${oid}.${attnum}`),
      hasColumnMasks: () => this.maskByColumn.size > 0,
      scrubCommitErrors: () => this.basePolicy.masks.size > 0,
      onReadyForQuery: () => {
        this.readySinceFlush = true;
        if (this.expired) queueMicrotask(() => this.endIfExpired());
      },
      onCopyIn: (active) => (this.copyIn = active),
      onStatementDone: (plan, outcome) => this.auditStatement(plan, outcome),
      onDesync: (why) => this.fail(new PgError('08P01', `scopegate: protocol desynchronised (${why})`, { severity: 'FATAL' })),
    });
  }

  start(): void {
    this.clientInput.listen((chunk: Buffer) => this.onClientData(chunk));
    this.upstreamInput.listen((chunk: Buffer) => this.onUpstreamData(chunk));
    this.client.on('drain', () => {
      this.releaseSlabs();
      this.upstream.resume();
    });
    this.upstream.on('drain', () => this.client.resume());
    this.client.on('close', () => this.close('client disconnected'));
    this.upstream.on('close', () => this.close('upstream disconnected'));
    this.client.on('error', () => this.close('client error'));
    this.upstream.on('error', () => this.close('upstream error'));
    this.onUpstreamData(Buffer.alloc(0));
    this.onClientData(Buffer.alloc(0));
    this.client.resume();
    this.upstream.resume();
  }

  // ------------------------------------------------------------ client → upstream

  private onClientData(chunk: Buffer): void {
    try {
      if (chunk.length > 0) this.clientFramer.push(chunk);
      for (let m = this.clientFramer.next(); m; m = this.clientFramer.next()) this.pending.push(m);
    } catch (err) {
      return this.fail(toPgError(err));
    }
    if (this.pending.length > 256) this.client.pause();
    this.drain();
  }

  /**
   * Handles queued client messages in order. Synchronous while every message
   * is (cached analyses); a message that needs asynchronous work (catalog
   * lookups, a review) suspends the loop until it is done.
   */
  private drain(): void {
    if (this.processing) return;
    this.processing = true;
    try {
      while (this.pending.length > 0 && !this.closed) {
        const work = this.handleClientMessage(this.pending.shift()!);
        if (work) {
          this.flushUpstream();
          work.then(
            () => this.resumeDrain(),
            (err: unknown) => this.resumeDrain(err),
          );
          return;
        }
      }
      this.finishDrain();
    } catch (err) {
      this.processing = false;
      this.fail(toPgError(err));
    }
  }

  private resumeDrain(err?: unknown): void {
    this.processing = false;
    if (err !== undefined) return this.fail(toPgError(err));
    this.drain();
  }

  private finishDrain(): void {
    this.processing = false;
    this.flushUpstream();
    this.flushClient();
    if (this.pending.length === 0 && !this.closed) this.client.resume();
  }

  /** Returns a promise only when the message needs asynchronous work (catalog lookups). */
  private handleClientMessage(raw: RawMessage): Promise<void> | void {
    const type = raw.type;
    if (this.copyIn && (type === T('d') || type === T('c') || type === T('f'))) return this.forward(raw);
    let msg: FrontendMessage;
    try {
      msg = this.decoder.decode(raw);
    } catch (err) {
      if (err instanceof ProtocolError && err.code === '22021' && (type === T('Q') || type === T('P'))) {
        // Bad bytes in SQL: refuse the statement, keep the session.
        return this.refuse(new PgError('22021', `scopegate: ${err.message}`), type === T('P'));
      }
      throw err;
    }
    if (this.skipUntilSync && msg.type !== 'Sync') return;
    switch (msg.type) {
      case 'Query':
        return this.onQuery(raw, msg.sql);
      case 'Parse':
        return this.onParse(raw, msg.name, msg.sql);
      case 'Bind':
        return this.onBind(raw, msg.portal, msg.statement, msg);
      case 'Describe':
        return this.onDescribe(raw, msg.kind, msg.name);
      case 'Execute':
        return this.onExecute(raw, msg.portal);
      case 'Close':
        this.relay.expect(expectClose(msg.kind === 'S' ? this.registry.closeStatement(msg.name) : this.registry.closePortal(msg.name)));
        return this.forward(raw);
      case 'Sync':
        this.skipUntilSync = false;
        this.relay.expect(expectSync());
        return this.forward(raw);
      case 'Flush':
        return this.forward(raw);
      case 'Terminate':
        this.forward(raw);
        this.flushUpstream();
        return this.close('client terminated');
      case 'FunctionCall':
        this.auditDenied('<FunctionCall message>', 'guardrail function-call');
        return this.refuse(functionCallError(), false);
      case 'CopyData':
      case 'CopyDone':
      case 'CopyFail':
        // Outside COPY mode Postgres ignores CopyDone/CopyFail and errors on CopyData; never forward them.
        return;
      case 'PasswordMessage':
        throw new ProtocolError('unexpected password message after authentication');
    }
  }

  private onQuery(raw: RawMessage, sql: string): Promise<void> | void {
    this.arrivedAt = performance.now();
    const cached = this.deps.analyzer.cached(sql, this.registry.tempRelations);
    if (cached) return this.runQuery(raw, sql, cached);
    return this.deps.analyzer.analyze(sql, this.registry.tempRelations).then((a) => this.runQuery(raw, sql, a));
  }

  private runQuery(raw: RawMessage, sql: string, analysis: QueryAnalysis | AnalysisError): Promise<void> | void {
    if ('code' in analysis) {
      this.auditDenied(sql, `analysis: ${analysis.message}`);
      return this.refuse(analysisError(analysis), false);
    }
    const verdict = this.judge(analysis);
    return this.gate(verdict, sql, null, false, () => {
      const now = this.deps.now();
      const plans: ResultPlan[] = analysis.statements.map((s, i) => ({
        sql: s.sql,
        verdict: verdict.statements[i],
        copy: this.copyOptions(s),
        startedAt: now,
        onSuccess: tracksState(s) ? () => this.track(s, s.sql) : undefined,
        scrubErrors: s.kind === 'transaction' && this.basePolicy.masks.size > 0,
        recordRows: this.basePolicy.recordResults,
      }));
      this.relay.expect(expectQuery(plans));
      this.forward(raw);
    });
  }

  /**
   * The COPY a statement runs: its own, or for `EXECUTE name` the one prepared
   * under that name (only the protocol's Parse can prepare a COPY), whose
   * format the COPY data must be read in.
   */
  private copyOptions(s: StatementAnalysis): StatementAnalysis['copy'] {
    if (s.kind !== 'execute') return s.copy;
    return this.registry.prepared.get(s.name ?? '')?.statement.copy;
  }

  /** Carry out a verdict: run it, refuse it, or hold it for a human. */
  private arrivedAt = 0;
  /** False when the audit sink discards events: skip building them. */
  private readonly auditing: boolean;

  private gate(verdict: QueryVerdict, sql: string, params: (string | null)[] | null, extended: boolean, run: () => void): Promise<void> | void {
    const metrics = this.deps.metrics;
    if (metrics) {
      metrics.statement(verdict.decision);
      if (this.arrivedAt) metrics.decision((performance.now() - this.arrivedAt) / 1000);
      this.arrivedAt = 0;
    }
    if (this.deps.auditFailClosed && !this.deps.audit.healthy()) {
      return this.refuse(new PgError('58030', 'scopegate: the audit trail cannot be written, so statements are refused (audit.fail_closed)', { hint: 'An operator must fix the audit destination (disk, permissions).' }), extended);
    }
    if (verdict.decision === 'allow') return run();
    if (verdict.decision === 'review' && this.deps.approvals) return this.hold(this.deps.approvals, verdict, sql, params, extended, run);
    this.auditVerdict(sql, verdict);
    return this.refuse(verdictError(verdict, this.deps.identity), extended);
  }

  private async hold(approvals: ApprovalsPort, verdict: QueryVerdict, sql: string, params: (string | null)[] | null, extended: boolean, run: () => void): Promise<void> {
    const identity = this.deps.identity;
    const policyNames = this.basePolicy.policies;
    const settings = approvals.settingsFor(policyNames);
    const reasons = verdict.statements.flatMap((s) => s.reasons).filter((r) => r.decision === 'review').map((r) => r.message);
    if (settings.mode === 'async') {
      const approved = await approvals.consumeApproved({ identity: identity.name, upstream: this.deps.upstreamName, sql, params });
      if (approved) {
        this.auditVerdict(sql, { ...verdict, decision: 'allow' }, approved.id);
        return run();
      }
    }
    const review = await approvals.request({ identity, upstream: this.deps.upstreamName, session: this.deps.id, sql, params, reasons, policyNames });
    this.auditVerdict(sql, verdict, review.id);
    if (settings.mode === 'async') {
      return this.refuse(
        new PgError('42501', `scopegate: review required: ${review.id} was created for this statement; send the identical statement again once it is approved`, {
          detail: reasons.join('; '),
          hint: approvals.howToDecide(review.id),
        }),
        extended,
      );
    }
    this.toClient.push(
      encodeNoticeResponse({
        S: 'NOTICE', V: 'NOTICE', C: '00000',
        M: `scopegate: statement held for review ${review.id} (waiting up to ${settings.timeoutS}s for a decision)`,
        D: reasons.join('; '),
        H: approvals.howToDecide(review.id),
      }),
    );
    this.flushClient();
    const controller = new AbortController();
    this.held = controller;
    this.deps.metrics?.held(1);
    let outcome;
    try {
      outcome = await approvals.wait(review.id, controller.signal);
    } finally {
      this.held = null;
      this.deps.metrics?.held(-1);
    }
    if (this.closed) return;
    if (outcome.status === 'approved') return run();
    this.refuse(
      new PgError('42501', `scopegate: review ${review.id} ${outcome.status}: ${outcome.reason}`, {
        hint: outcome.status === 'withdrawn' ? undefined : 'Ask an approver, or request a time-boxed grant: scopegate grant request …',
      }),
      extended,
    );
  }

  /** End the session once `ms` (epoch milliseconds) has passed: at once if idle, else after the current statement. */
  endAt(ms: number): void {
    const delay = Math.min(Math.max(0, ms - this.deps.now()), 2 ** 31 - 1);
    this.deadline = setTimeout(() => {
      this.expired = true;
      this.endIfExpired();
    }, delay);
    this.deadline.unref();
  }

  private endIfExpired(): void {
    if (!this.expired || this.closed || !this.relay.idle || this.processing) return;
    this.fail(new PgError('28000', 'scopegate: the identity token expired; reconnect with a fresh token'));
  }

  /** A cancel request for a held statement withdraws its review; returns false when nothing is held. */
  withdrawHeld(): boolean {
    if (!this.held) return false;
    this.held.abort();
    return true;
  }

  /**
   * Verdicts are memoised per statement while the policy object stays the
   * same (it changes when grants do). The key is the statement's actions
   * array, which analyses of the same statement shape share (see
   * StatementAnalyzer.cached); EXECUTE and FETCH depend on session state and
   * are judged every time.
   */
  private readonly queryMemo = new WeakMap<object, { policy: EffectivePolicy; verdict: QueryVerdict }>();
  private readonly statementMemo = new WeakMap<object, { policy: EffectivePolicy; verdict: StatementVerdict }>();

  private judge(analysis: QueryAnalysis): QueryVerdict {
    const policy = this.policy();
    const only = analysis.statements.length === 1 ? analysis.statements[0] : undefined;
    if (!only || only.kind === 'execute' || only.kind === 'fetch') return judgeQuery(policy, analysis, this.registry);
    const hit = this.queryMemo.get(only.actions);
    if (hit && hit.policy === policy) return hit.verdict;
    const verdict = judgeQuery(policy, analysis, this.registry);
    this.queryMemo.set(only.actions, { policy, verdict });
    return verdict;
  }

  private judgeOne(stmt: StatementAnalysis): StatementVerdict {
    const policy = this.policy();
    if (stmt.kind === 'execute' || stmt.kind === 'fetch') return judgeStatement(policy, stmt, registryLookup(this.registry));
    const hit = this.statementMemo.get(stmt.actions);
    if (hit && hit.policy === policy) return hit.verdict;
    const verdict = judgeStatement(policy, stmt, registryLookup(this.registry));
    this.statementMemo.set(stmt.actions, { policy, verdict });
    return verdict;
  }

  /** A statement's verdict as the verdict of a one-statement query (shared while the statement verdict is). */
  private readonly queryOfStatement = new WeakMap<StatementVerdict, QueryVerdict>();

  private asQuery(verdict: StatementVerdict): QueryVerdict {
    let query = this.queryOfStatement.get(verdict);
    if (query === undefined) {
      query = { decision: verdict.decision, statements: [verdict], decisive: verdict.reasons.find((r) => r.decision === verdict.decision) };
      this.queryOfStatement.set(verdict, query);
    }
    return query;
  }

  /** The identity's policy, widened by any time-boxed grants active right now. */
  private policy(): EffectivePolicy {
    const grants = this.deps.approvals?.activeGrants(this.deps.identity.name, this.deps.upstreamName);
    return grants && grants.length > 0 ? policyWithGrants(this.basePolicy, grants) : this.basePolicy;
  }

  private basePolicy: EffectivePolicy;

  /** A reloaded configuration: judged from the next statement on (already prepared statements are judged again at Bind). */
  setPolicy(policy: EffectivePolicy, maskByColumn: Map<string, MaskStrategy>): void {
    this.basePolicy = policy;
    this.maskByColumn = maskByColumn;
  }

  private maskByColumn: Map<string, MaskStrategy>;

  get identity(): Identity {
    return this.deps.identity;
  }

  get upstreamName(): string {
    return this.deps.upstreamName;
  }

  /** Remember what a forwarded statement creates: prepared statements, cursors, temp tables. */
  private track(s: StatementAnalysis, sql: string): void {
    if (s.kind === 'prepare' && s.name && s.inner) this.registry.prepare(s.name, { sql, statement: s.inner });
    else if (s.kind === 'deallocate' && s.name) this.registry.deallocate(s.name);
    else if (s.kind === 'declare' && s.name && s.inner) this.registry.declare(s.name, s.inner);
    else if (s.kind === 'close-cursor' && s.name) this.registry.closeCursor(s.name);
    for (const t of s.createsTemp ?? []) this.registry.tempRelations.add(t);
    if (s.changesCatalog) this.deps.catalog.invalidate();
  }

  private onParse(raw: RawMessage, name: string, sql: string): Promise<void> | void {
    this.arrivedAt = performance.now();
    if (!this.registry.canPrepare(name)) {
      return this.refuse(new PgError('53400', `scopegate: too many prepared statements in this session (limit ${this.deps.maxPrepared})`), true);
    }
    const cached = this.deps.analyzer.cached(sql, this.registry.tempRelations);
    if (cached) return this.runParse(raw, name, sql, cached);
    return this.deps.analyzer.analyze(sql, this.registry.tempRelations).then((a) => this.runParse(raw, name, sql, a));
  }

  private runParse(raw: RawMessage, name: string, sql: string, analysis: QueryAnalysis | AnalysisError): void {
    if ('code' in analysis) {
      this.auditDenied(sql, `analysis: ${analysis.message}`);
      return this.refuse(analysisError(analysis), true);
    }
    if (analysis.statements.length > 1) {
      return this.refuse(new PgError('42601', 'cannot insert multiple commands into a prepared statement'), true);
    }
    const verdict = this.judge(analysis);
    // Parse runs nothing: a statement that needs review is held at Bind, where its parameters are known.
    if (verdict.decision === 'deny' || (verdict.decision === 'review' && !this.deps.approvals)) {
      this.auditVerdict(sql, verdict);
      return this.refuse(verdictError(verdict, this.deps.identity), true);
    }
    const statement = analysis.statements[0] ?? emptyStatement(sql);
    // Provisional until ParseComplete: a pipelined Bind must find it, and a failed Parse must not replace the old one.
    const undo = this.registry.prepareProvisionally(name, { sql, statement });
    this.relay.expect(expectParse(undo));
    this.forward(raw);
  }

  private onBind(raw: RawMessage, portal: string, statement: string, msg: Extract<FrontendMessage, { type: 'Bind' }>): Promise<void> | void {
    const prepared = this.registry.prepared.get(statement);
    if (!prepared) {
      return this.refuse(new PgError('26000', `scopegate: prepared statement "${statement}" was not prepared through this session`), true);
    }
    // Judge again at Bind: the policy may have changed since Parse (reload, expired grant), and reviews need the parameters.
    const verdict = this.judgeOne(prepared.statement);
    const query = this.asQuery(verdict);
    return this.gate(query, prepared.sql, verdict.decision === 'review' ? paramsAsText(msg) : null, true, () => {
      const undo = this.registry.bind(portal, { prepared, resultFormats: msg.resultFormats, describeSent: false, verdict });
      if (!undo) {
        return this.refuse(new PgError('53400', `scopegate: too many open portals in this session (limit ${this.deps.maxPrepared})`), true);
      }
      this.relay.expect(expectBind(undo));
      this.forward(raw);
    });
  }

  private onDescribe(raw: RawMessage, kind: 'S' | 'P', name: string): void {
    if (kind === 'P') {
      const portal = this.registry.portals.get(name);
      const decode = this.wantsResultFields();
      if (portal && decode) portal.describeSent = true;
      this.relay.expect(expectDescribe(portal, false, decode));
    } else {
      this.relay.expect(expectDescribe(undefined, false, false));
    }
    this.forward(raw);
  }

  private onExecute(raw: RawMessage, portalName: string): void {
    const portal = this.registry.portals.get(portalName);
    if (!portal) {
      // Every Bind passes through here, so an unknown portal is unknown upstream too; without its plan, refuse.
      return this.refuse(new PgError('34000', `scopegate: portal "${portalName}" does not exist`), true);
    }
    // The verdict taken at Bind (after any approval) covers every Execute of this portal.
    const verdict = portal.verdict;
    const stmt = portal.prepared.statement;
    const plan: ResultPlan = {
      sql: portal.prepared.sql, verdict, copy: stmt.copy, startedAt: this.deps.now(), recordRows: this.basePolicy.recordResults,
      onSuccess: tracksState(stmt) ? () => this.track(stmt, portal.prepared.sql) : undefined,
    };
    if (verdict.masks && !portal.describeSent) {
      // Masking needs the column types and formats of this portal: ask, and keep the answer from the client.
      this.relay.expect(expectDescribe(portal, true, true));
      portal.describeSent = true;
      this.toUpstream.push(encodeDescribe('P', portalName));
    }
    this.relay.expect(expectExecute(portal, plan));
    this.forward(raw);
  }

  /**
   * Refuse in place: send the upstream a statement that fails at once, so that
   * transaction state (25P02 in a block, skip-until-Sync in the extended
   * protocol) is exactly what Postgres would give, and show the client our error.
   */
  private refuse(error: PgError, extended: boolean): void {
    const sentinelSql = `SELECT 'scopegate:refused:${this.sentinelTag}'::pg_catalog.int4`;
    if (extended) {
      this.relay.expect(expectParse(undefined, error));
      this.toUpstream.push(encodeParse('', sentinelSql, []));
      this.skipUntilSync = true;
    } else {
      this.relay.expect(expectQuery([], error));
      this.toUpstream.push(encodeQuery(sentinelSql));
    }
  }

  /** Whether results may need their column descriptions: something can be masked, or result rows are recorded. */
  private wantsResultFields(): boolean {
    const p = this.basePolicy;
    return this.maskByColumn.size > 0 || p.masks.size > 0 || p.detect.size > 0 || p.detectAll.length > 0 || !!p.recordResults;
  }

  private forward(raw: RawMessage): void {
    this.toUpstream.pushRange(raw.source, raw.start, raw.end);
  }

  private flushUpstream(): void {
    if (!this.toUpstream.flush(this.upstream)) this.client.pause();
  }

  private flushClient(): void {
    if (this.deps.ackAfterAudit && (this.readySinceFlush || this.auditAcks)) return this.flushClientAfterAudit();
    if (!this.toClient.flush(this.client)) this.upstream.pause();
    else this.releaseSlabs();
  }

  /**
   * Masked rows leave in views of their slabs: a slab may be reused only when
   * none of its bytes can still be sent. That holds when the client socket
   * has taken every write (a write still in the stream's queue or pending in
   * libuv counts in writableLength until its callback, after which Node keeps
   * no reference) and nothing is queued here or held for the audit.
   */
  private releaseSlabs(): void {
    if (this.slabs.retiredCount === 0) return;
    if (this.closed || this.client.destroyed || this.client.writableLength !== 0 || !this.toClient.empty || this.auditAcks !== null) return;
    this.slabs.release();
  }

  private readySinceFlush = false;
  /** The chain of audit flushes that gate client output, in order. */
  private auditAcks: Promise<void> | null = null;

  /**
   * A request is acknowledged by ReadyForQuery: with ack_after_write, what is
   * queued for the client waits until the audit events written so far are on
   * disk, so no acknowledged statement can be missing from the trail.
   */
  private flushClientAfterAudit(): void {
    this.readySinceFlush = false;
    const parts = this.toClient.take();
    const previous = this.auditAcks ?? Promise.resolve();
    const flushed = this.deps.audit.flush();
    const done = previous
      .then(() => flushed)
      .then(
        () => {
          if (this.closed) return;
          for (const p of parts) if (!this.client.write(p)) this.upstream.pause();
        },
        () => this.fail(new PgError('58030', 'scopegate: the audit trail cannot be written; the session ends (audit.fail_closed)')),
      );
    const chain: Promise<void> = done.finally(() => {
      if (this.auditAcks === chain) this.auditAcks = null;
    });
    this.auditAcks = chain;
  }

  // ------------------------------------------------------------ upstream → client

  private onUpstreamData(chunk: Buffer): void {
    try {
      if (chunk.length > 0) this.upstreamFramer.push(chunk);
      const framer = this.upstreamFramer;
      for (;;) {
        const runType = this.relay.runType;
        if (runType !== 0) {
          const run = framer.takeRun(runType);
          if (run) {
            this.relay.forwardRun(run);
            continue;
          }
        }
        const m = framer.next();
        if (!m) break;
        this.relay.handle(m);
      }
    } catch (err) {
      this.deps.log('upstream stream error', { error: (err as Error).message });
      return this.fail(new PgError('08P01', 'scopegate: invalid data from the upstream database', { severity: 'FATAL' }));
    }
    this.flushClient();
  }

  // ------------------------------------------------------------ audit and lifecycle

  private auditVerdict(sql: string, verdict: QueryVerdict, review?: string): void {
    if (!this.auditing) return;
    this.deps.audit.write({
      review,
      type: 'statement',
      session: this.deps.id,
      identity: this.deps.identity.name,
      upstream: this.deps.upstreamName,
      sql,
      fingerprint: fingerprintSql(sql),
      verdict: verdict.decision,
      reasons: verdict.statements.flatMap((s) => s.reasons).filter((r) => r.decision !== 'allow').map((r) => r.rule + ': ' + r.message),
      at: isoTime(this.deps.now()),
    });
  }

  private auditDenied(sql: string, reason: string): void {
    if (!this.auditing) return;
    this.deps.audit.write({
      type: 'statement', session: this.deps.id, identity: this.deps.identity.name, upstream: this.deps.upstreamName,
      sql, verdict: 'deny', reasons: [reason], at: isoTime(this.deps.now()),
    });
  }

  /**
   * Statements of one shape share their verdict object (see judge), so its
   * fingerprint is computed once per shape rather than once per statement.
   */
  private readonly fingerprints = new WeakMap<object, string>();

  private fingerprintOf(plan: ResultPlan): string {
    let f = this.fingerprints.get(plan.verdict);
    if (f === undefined) {
      f = fingerprintSql(plan.sql);
      this.fingerprints.set(plan.verdict, f);
    }
    return f;
  }

  private auditStatement(plan: ResultPlan, outcome: { tag?: string; error?: string; rows: number }): void {
    this.statements++;
    const now = this.deps.now();
    this.deps.metrics?.upstream((now - plan.startedAt) / 1000);
    if (!this.auditing) return;
    const masked = plan.verdict.maskedColumns;
    this.deps.audit.write(
      new RanStatementEvent(
        isoTime(now), this.deps.id, this.deps.identity.name, this.deps.upstreamName, plan.sql, this.fingerprintOf(plan),
        masked.length > 0 ? masked : undefined, now - plan.startedAt, outcome.rows, outcome.tag, outcome.error, plan.recorded,
      ),
    );
  }

  private fail(err: PgError): void {
    if (this.closed) return;
    this.deps.log('session failed', { session: this.deps.id, error: err.message });
    this.toClient.push(encodeErrorResponse(errorFields(new PgError(err.code, err.message, { severity: 'FATAL', hint: err.hint }))));
    this.flushClient();
    this.close(err.message);
  }

  close(why: string): void {
    if (this.closed) return;
    this.closed = true;
    this.held?.abort();
    if (this.deadline) clearTimeout(this.deadline);
    this.client.end();
    this.upstream.end();
    setTimeout(() => {
      this.client.destroy();
      this.upstream.destroy();
    }, 1000).unref();
    this.deps.audit.write({
      type: 'session_end',
      session: this.deps.id,
      identity: this.deps.identity.name,
      upstream: this.deps.upstreamName,
      reason: why,
      statements: this.statements,
      durationMs: this.deps.now() - this.startedAt,
      at: isoTime(this.deps.now()),
    });
    this.onClose?.();
  }

  onClose?: () => void;
}

/** Statements whose success changes what the session registry must know. */
function tracksState(s: StatementAnalysis): boolean {
  return s.kind === 'prepare' || s.kind === 'deallocate' || s.kind === 'declare' || s.kind === 'close-cursor' || (s.createsTemp?.length ?? 0) > 0 || s.changesCatalog === true;
}

/** Bound parameters as the approver sees them: text as text, binary as hex. */
function paramsAsText(msg: Extract<FrontendMessage, { type: 'Bind' }>): (string | null)[] {
  return msg.params.map((p, i) => {
    if (p === null) return null;
    const format = msg.paramFormats.length === 1 ? msg.paramFormats[0] : msg.paramFormats[i] ?? 0;
    return format === 1 ? `\\x${p.toString('hex')}` : p.toString('utf8');
  });
}

function emptyStatement(sql: string): StatementAnalysis {
  return { kind: 'other', node: 'Empty', sql, actions: [], guardrails: [], output: null, uses: [] };
}

export type { PortalEntry, PreparedEntry };
