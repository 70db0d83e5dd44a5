// Upstream → client: walks the upstream's responses against what was expected,
// masks rows and COPY data, scrubs errors that could echo masked values, and
// replaces the errors of sentinel statements with the gateway's own refusal.
import { decodeBackend, encodeErrorResponse, encodeNoticeResponse } from '../protocol/backend.ts';
import { errorFields, type PgError } from '../protocol/errors.ts';
import type { MessageRun, RawMessage } from '../protocol/framer.ts';
import type { FieldDescription, NoticeFields } from '../protocol/types.ts';
import { RowMasker } from '../masking/row-masker.ts';
import { CopyMasker } from '../masking/copy-masker.ts';
import { encodeCopyData } from '../protocol/backend.ts';
import { readDataRowFields } from '../protocol/datarow.ts';
import { latin1 } from '../protocol/reader.ts';
import type { ColumnRule, MaskStrategy } from '../policy/types.ts';
import { stricter } from '../policy/compile.ts';
import type { Expectation, ResultPlan } from './expectations.ts';
import type { OutputBatch } from './output-batch.ts';
import type { SlabLedger } from '../masking/slab-pool.ts';

const T = (c: string): number => c.charCodeAt(0);
const DataRow = T('D'), RowDescription = T('T'), CommandComplete = T('C'), ReadyForQuery = T('Z');
const ErrorResponse = T('E'), NoticeResponse = T('N'), NotificationResponse = T('A'), ParameterStatus = T('S');
const EmptyQuery = T('I'), ParseComplete = T('1'), BindComplete = T('2'), CloseComplete = T('3'), NoData = T('n');
const PortalSuspended = T('s'), ParameterDescription = T('t'), CopyOutResponse = T('H'), CopyInResponse = T('G');
const CopyBothResponse = T('W'), CopyData = T('d'), CopyDone = T('c');

export interface RelayHooks {
  /** Masks that apply to a column by its table OID and attribute number, whatever the analysis said. */
  maskByColumn(tableOid: number, attnum: number): MaskStrategy | undefined;
  /** False when no column of any table is masked for this identity: RowDescriptions need no decoding. */
  hasColumnMasks(): boolean;
  /** True when errors that surface at Sync (implicit commit) must be scrubbed: the identity has masked columns. */
  scrubCommitErrors(): boolean;
  hashKey: Buffer;
  /** Where masked output's slabs wait until the client has taken them. */
  slabs: SlabLedger;
  onReadyForQuery(status: 'I' | 'T' | 'E'): void;
  onCopyIn(active: boolean): void;
  onStatementDone(plan: ResultPlan, outcome: { tag?: string; error?: string; rows: number }): void;
  /** Something arrived that the gateway cannot account for: the session must end. */
  onDesync(why: string): void;
}

export class ResponseRelay {
  readonly expected: Expectation[] = [];
  private masker: RowMasker | null = null;
  private copyMasker: CopyMasker | null = null;
  private rows = 0;
  /** Inside a result whose rows are not recorded: they may be handled in runs (see runType). */
  private rowsInBulk = false;
  /** Between CopyOutResponse and the end of that COPY's data. */
  private copyOut = false;
  /** Set when the session is failing because a result cannot be masked: its rows are dropped. */
  private broken = false;
  /**
   * Set by an extended-protocol error that arrived before the gateway had
   * forwarded the Sync ending that request: the upstream discards every
   * message until that Sync, so whatever is forwarded meanwhile gets no
   * response and must not be waited for.
   */
  private skippingToSync = false;
  private readonly pushOut = (buf: Buffer, start: number, end: number): void => this.out.pushRange(buf, start, end);
  private forwardAsIs(msg: RawMessage): void {
    this.out.pushRange(msg.source, msg.start, msg.end);
  }

  constructor(private readonly out: OutputBatch, private readonly hooks: RelayHooks) {}

  expect(e: Expectation): void {
    if (this.skippingToSync) {
      if (e.kind !== 'sync') return undoSkipped([e]);
      this.skippingToSync = false;
    }
    this.expected.push(e);
  }

  /** True when nothing forwarded is still waiting for its response. */
  get idle(): boolean {
    return this.expected.length === 0;
  }

  /**
   * The message type that may be handed over in runs right now, without an
   * object per message (0: none): DataRows of a result whose rows are not
   * recorded, CopyData of a COPY TO in progress.
   */
  get runType(): number {
    return this.rowsInBulk ? DataRow : this.copyOut ? CopyData : 0;
  }

  /** A run of messages of runType: masked if this result is, then on to the client. */
  forwardRun(run: MessageRun): void {
    if (this.broken) return;
    this.rows += run.count;
    if (this.rowsInBulk && this.masker) this.masker.maskRows(run.source.subarray(run.start, run.end), run.count, this.pushOut);
    else if (this.copyOut && this.copyMasker) this.copyMasker.maskRun(run.source, run.start, run.end, this.pushOut);
    else this.out.pushRange(run.source, run.start, run.end);
  }

  handle(msg: RawMessage): void {
    const type = msg.type;
    if (type === NoticeResponse) return this.notice(msg);
    if (type === NotificationResponse) return; // LISTEN is refused for every identity: nothing legitimate arrives here
    if (type === ParameterStatus) return this.forwardAsIs(msg);
    const e = this.expected[0];
    if (!e) return this.hooks.onDesync(`unexpected message ${String.fromCharCode(type)} from upstream`);
    switch (e.kind) {
      case 'query':
        return this.query(e, msg);
      case 'execute':
        return this.execute(e, msg);
      case 'parse':
      case 'bind':
      case 'close':
        return this.simple(e, msg, e.kind === 'parse' ? ParseComplete : e.kind === 'bind' ? BindComplete : CloseComplete);
      case 'describe':
        return this.describe(e, msg);
      case 'sync':
        if (type === ReadyForQuery) {
          this.expected.shift();
          this.forwardAsIs(msg);
          return this.hooks.onReadyForQuery(transactionStatus(msg));
        }
        if (type === ErrorResponse) return this.hooks.scrubCommitErrors() ? this.out.push(encodeErrorResponse(scrub(decodeFields(msg)))) : this.forwardAsIs(msg);
        return this.hooks.onDesync(`unexpected message ${String.fromCharCode(type)} before ReadyForQuery`);
    }
  }

  private query(e: Extract<Expectation, { kind: 'query' }>, msg: RawMessage): void {
    const plan = e.plans[e.index];
    switch (msg.type) {
      case RowDescription:
        this.startRows(plan, msg);
        return this.forwardAsIs(msg);
      case DataRow:
        return this.row(msg);
      case CommandComplete:
      case EmptyQuery:
        if (msg.type === CommandComplete) plan?.onSuccess?.();
        this.finish(plan, msg.type === CommandComplete ? commandTag(msg) : undefined);
        e.index++;
        return this.forwardAsIs(msg);
      case CopyOutResponse:
      case CopyInResponse:
      case CopyBothResponse:
      case CopyData:
      case CopyDone:
        return this.copy(plan, msg);
      case ErrorResponse:
        this.finishWithError(plan, msg);
        e.index = e.plans.length;
        return this.error(msg, e.sentinel, plan);
      case ReadyForQuery:
        this.expected.shift();
        this.forwardAsIs(msg);
        return this.hooks.onReadyForQuery(transactionStatus(msg));
      default:
        return this.hooks.onDesync(`unexpected message ${String.fromCharCode(msg.type)} in a query result`);
    }
  }

  private execute(e: Extract<Expectation, { kind: 'execute' }>, msg: RawMessage): void {
    switch (msg.type) {
      case DataRow:
        if (!this.masker && !this.copyMasker && this.rows === 0) {
          this.startPortalRows(e);
          this.rowsInBulk = this.recording === null;
        }
        return this.row(msg);
      case CommandComplete:
      case EmptyQuery:
      case PortalSuspended:
        if (msg.type === CommandComplete) e.plan.onSuccess?.();
        this.finish(e.plan, msg.type === CommandComplete ? commandTag(msg) : undefined);
        this.expected.shift();
        return this.forwardAsIs(msg);
      case CopyOutResponse:
      case CopyInResponse:
      case CopyBothResponse:
      case CopyData:
      case CopyDone:
        return this.copy(e.plan, msg);
      case ErrorResponse:
        this.finishWithError(e.plan, msg);
        return this.error(msg, undefined, e.plan);
      default:
        return this.hooks.onDesync(`unexpected message ${String.fromCharCode(msg.type)} in an Execute result`);
    }
  }

  private simple(e: Expectation, msg: RawMessage, ok: number): void {
    if (msg.type === ok) {
      this.expected.shift();
      return this.forwardAsIs(msg);
    }
    if (msg.type === ErrorResponse) return this.error(msg, e.kind === 'parse' ? e.sentinel : undefined);
    this.hooks.onDesync(`unexpected message ${String.fromCharCode(msg.type)}`);
  }

  private describe(e: Extract<Expectation, { kind: 'describe' }>, msg: RawMessage): void {
    if (msg.type === ParameterDescription) {
      if (!e.swallow) this.forwardAsIs(msg);
      return;
    }
    if (msg.type === RowDescription || msg.type === NoData) {
      if (e.portal && (e.decode || e.swallow)) e.portal.fields = msg.type === RowDescription ? rowFields(msg) : [];
      this.expected.shift();
      if (!e.swallow) this.forwardAsIs(msg);
      return;
    }
    if (msg.type === ErrorResponse) return this.error(msg);
    this.hooks.onDesync(`unexpected message ${String.fromCharCode(msg.type)} in a Describe result`);
  }

  private startRows(plan: ResultPlan | undefined, msg: RawMessage): void {
    this.rows = 0;
    const recording = plan?.recordRows ? rowFields(msg) : undefined;
    this.masker = plan?.verdict.masks || this.hooks.hasColumnMasks() ? this.buildMasker(plan, recording ?? rowFields(msg)) : null;
    this.startRecording(plan, recording);
    this.rowsInBulk = this.recording === null;
  }

  /** What is being recorded for the audit: the plan and the result's column formats. */
  private recording: { plan: ResultPlan; formats: number[] } | null = null;

  private startRecording(plan: ResultPlan | undefined, fields: FieldDescription[] | undefined): void {
    this.recording = null;
    if (!plan?.recordRows || !fields) return;
    plan.recorded = { columns: fields.map((f) => f.name), rows: [] };
    this.recording = { plan, formats: fields.map((f) => f.format) };
  }

  private record(out: Buffer): void {
    const r = this.recording!;
    const recorded = r.plan.recorded!;
    if (recorded.rows.length >= r.plan.recordRows!) return;
    // `out` is the DataRow as sent: recorded values are what the client saw (masked).
    recorded.rows.push(readDataRowFields(out.subarray(5)).map((v, i) => (v === null ? null : r.formats[i] === 1 ? `\\x${v.toString('hex')}` : v.toString('utf8'))));
  }

  private startPortalRows(e: Extract<Expectation, { kind: 'execute' }>): void {
    const fields = e.portal.fields;
    if (!fields) {
      if (e.plan.verdict.masks) {
        this.broken = true; // nothing of this result may reach the client unmasked
        this.hooks.onDesync('masked result without a row description');
      }
      return;
    }
    this.masker = this.buildMasker(e.plan, fields);
    this.startRecording(e.plan, fields);
  }

  private buildMasker(plan: ResultPlan | undefined, fields: FieldDescription[]): RowMasker | null {
    let masks: (ColumnRule | null)[] | null = plan?.verdict.masks ?? null;
    if (masks && masks.length !== fields.length) masks = fields.map(() => 'redact'); // cannot map columns: mask all
    fields.forEach((f, i) => {
      const byColumn = f.tableOid ? this.hooks.maskByColumn(f.tableOid, f.columnAttnum) : undefined;
      if (!byColumn) return;
      masks ??= fields.map(() => null);
      const current = masks[i];
      masks[i] = current && typeof current === 'string' ? stricter(current, byColumn) : byColumn;
    });
    if (!masks || masks.every((m) => m === null)) return null;
    return new RowMasker(masks.map((m) => (m ? { strategy: m } : null)), fields, this.hooks.hashKey, this.hooks.slabs);
  }

  private row(msg: RawMessage): void {
    if (this.broken) return;
    this.rows++;
    if (this.masker) {
      const out = this.masker.maskDataRow(msg.body);
      if (this.recording) this.record(out);
      return this.out.push(out);
    }
    if (this.recording) this.record(msg.raw);
    this.forwardAsIs(msg);
  }

  private copy(plan: ResultPlan | undefined, msg: RawMessage): void {
    switch (msg.type) {
      case CopyOutResponse: {
        this.rows = 0;
        const m = decodeBackend(msg.type, msg.body);
        const masks = plan?.verdict.masks;
        if (masks && masks.some((x) => x !== null) && m.type === 'CopyOutResponse') {
          const options = plan?.copy ?? { format: m.format === 1 ? 'binary' : 'text', delimiter: '\t', null: '\\N', quote: '"', escape: '"', header: false };
          const columnMasks = m.columnFormats.length === masks.length ? masks : m.columnFormats.map(() => 'redact' as const);
          this.copyMasker = new CopyMasker(options, columnMasks.map((s) => (s ? { strategy: s } : null)), columnMasks.map(() => 25), this.hooks.hashKey, this.hooks.slabs);
        }
        this.copyOut = true;
        return this.forwardAsIs(msg);
      }
      case CopyData:
        // One that arrived split across reads (runs take the rest): a run of one.
        this.rows++;
        if (!this.copyMasker) return this.forwardAsIs(msg);
        return this.copyMasker.maskRun(msg.source, msg.start, msg.end, this.pushOut);
      case CopyDone:
        if (this.copyMasker) {
          for (const part of this.copyMasker.finish()) this.out.push(encodeCopyData(part));
          this.copyMasker.close();
        }
        this.copyMasker = null;
        this.copyOut = false;
        return this.forwardAsIs(msg);
      case CopyInResponse:
        this.hooks.onCopyIn(true);
        return this.forwardAsIs(msg);
      case CopyBothResponse:
        return this.hooks.onDesync('COPY BOTH (replication) is not supported');
    }
  }

  private finish(plan: ResultPlan | undefined, tag: string | undefined): void {
    if (plan) this.hooks.onStatementDone(plan, { tag, error: undefined, rows: rowsOf(tag) ?? this.rows });
    this.rowsInBulk = false;
    this.copyOut = false;
    this.masker?.close();
    this.masker = null;
    this.copyMasker?.close();
    this.copyMasker = null;
    this.recording = null;
    this.rows = 0;
    this.hooks.onCopyIn(false);
  }

  private finishWithError(plan: ResultPlan | undefined, msg: RawMessage): void {
    const fields = decodeFields(msg);
    if (plan) this.hooks.onStatementDone(plan, { tag: undefined, error: fields.C ?? 'XX000', rows: this.rows });
    this.rowsInBulk = false;
    this.copyOut = false;
    this.masker = null;
    this.copyMasker = null;
    this.rows = 0;
    this.hooks.onCopyIn(false);
  }

  /** An error ends the extended-protocol request: the upstream skips to Sync, so do we. */
  private error(msg: RawMessage, sentinel?: PgError, plan?: ResultPlan): void {
    const head = this.expected[0];
    if (head && head.kind !== 'query') {
      // The failed message and everything up to Sync did not happen upstream: undo what they changed, newest first.
      const skipped: Expectation[] = [];
      while (this.expected.length > 0 && this.expected[0].kind !== 'sync') skipped.push(this.expected.shift()!);
      undoSkipped(skipped);
      if (this.expected.length === 0) this.skippingToSync = true;
    }
    if (sentinel) return this.out.push(encodeErrorResponse(errorFields(sentinel)));
    if (plan?.verdict.touchesMasked || plan?.scrubErrors) return this.out.push(encodeErrorResponse(scrub(decodeFields(msg))));
    this.forwardAsIs(msg);
  }

  private notice(msg: RawMessage): void {
    const plan = this.currentPlan();
    if (plan?.verdict.touchesMasked) return this.out.push(encodeNoticeResponse(scrub(decodeFields(msg))));
    this.forwardAsIs(msg);
  }

  private currentPlan(): ResultPlan | undefined {
    const e = this.expected[0];
    if (e?.kind === 'query') return e.plans[e.index];
    if (e?.kind === 'execute') return e.plan;
    return undefined;
  }
}

/** Messages the upstream skipped did not happen: undo what their handling changed (prepared names), newest first. */
function undoSkipped(skipped: Expectation[]): void {
  for (let i = skipped.length - 1; i >= 0; i--) {
    const s = skipped[i];
    if ((s.kind === 'parse' || s.kind === 'bind' || s.kind === 'close') && s.undo) s.undo();
  }
}

/** Keep what identifies the error; drop every field that can carry data values. */
function scrub(fields: NoticeFields): NoticeFields {
  return {
    S: fields.S ?? 'ERROR',
    V: fields.V ?? fields.S ?? 'ERROR',
    C: fields.C ?? 'XX000',
    M: `scopegate: the database reported an error (SQLSTATE ${fields.C ?? 'XX000'}); its text is withheld because the statement reads masked columns`,
  };
}

function decodeFields(msg: RawMessage): NoticeFields {
  const m = decodeBackend(msg.type, msg.body);
  return m.type === 'ErrorResponse' || m.type === 'NoticeResponse' ? m.fields : {};
}

function rowFields(msg: RawMessage): FieldDescription[] {
  const m = decodeBackend(msg.type, msg.body);
  return m.type === 'RowDescription' ? m.fields : [];
}

/** The command tag of a CommandComplete (always ASCII), read where the message lies. */
function commandTag(msg: RawMessage): string {
  const src = msg.source;
  const start = msg.start + 5;
  let end = start;
  while (end < msg.end && src[end] !== 0) end++;
  return latin1(src, start, end);
}

/** The status byte of a ReadyForQuery. */
function transactionStatus(msg: RawMessage): 'I' | 'T' | 'E' {
  return String.fromCharCode(msg.source[msg.start + 5]) as 'I' | 'T' | 'E';
}

/** The row count a command tag ends with ("SELECT 5", "INSERT 0 5"), if it has one: digits after the last space. */
export function rowsOf(tag: string | undefined): number | undefined {
  if (!tag) return undefined;
  let n = 0;
  let scale = 1;
  let i = tag.length - 1;
  for (; i >= 0; i--) {
    const d = tag.charCodeAt(i) - 48;
    if (d < 0 || d > 9) break;
    n += d * scale;
    scale *= 10;
  }
  return i === tag.length - 1 || i < 0 || tag.charCodeAt(i) !== 32 ? undefined : n;
}
