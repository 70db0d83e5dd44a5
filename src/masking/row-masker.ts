// DataRow rewriting on raw bytes. Runs once per result row, so it walks the
// row once, copies unmasked runs in bulk, and writes masked values straight
// into the output (carved from a slab): no Buffer per field for the common
// strategies, one slice per row.

import type { FieldDescription, FormatCode } from '../protocol/types.ts';
import { maxAsciiOutput } from './ascii-fast.ts';
import { asciiMaskerFor, maskField, type AsciiMasker, type MaskRule } from './strategies.ts';
import { MessageSlab, type EmitRange } from './message-slab.ts';
import type { SlabLedger } from './slab-pool.ts';
import { int32At, putInt32 } from '../protocol/int32.ts';


export interface ColumnMask {
  strategy: MaskRule;
}

const DATA_ROW = 0x44; // 'D'

/** How one masked column is written: a value-independent result, an in-place ASCII fast path, or maskField. */
type ColumnPlan =
  | { kind: 'constant'; bytes: Buffer | null }
  | { kind: 'ascii'; into: AsciiMasker; rule: MaskRule; typeOid: number; format: FormatCode }
  | { kind: 'general'; rule: MaskRule; typeOid: number; format: FormatCode };

function planFor(rule: MaskRule, field: FieldDescription, hashKey: Buffer): ColumnPlan {
  const { typeOid, format } = field;
  // redact and null give the same bytes for every value (per type and format), and so does anything
  // maskField turns into NULL for its type; detectors and the other strategies depend on the value.
  if (rule === 'redact' || rule === 'null') return { kind: 'constant', bytes: maskField(rule, Buffer.alloc(0), typeOid, format, hashKey) };
  const into = asciiMaskerFor(rule, typeOid);
  return into ? { kind: 'ascii', into, rule, typeOid, format } : { kind: 'general', rule, typeOid, format };
}

export class RowMasker {
  private readonly columnCount: number;
  /** Per column: how to mask it, or null to copy it unchanged. */
  private readonly plans: (ColumnPlan | null)[];
  private readonly maskedCount: number;

  constructor(
    masks: (ColumnMask | null)[],
    fields: FieldDescription[],
    private readonly hashKey: Buffer,
    ledger: SlabLedger | null = null,
  ) {
    this.out = new MessageSlab(ledger);
    if (masks.length !== fields.length) {
      throw new Error(`masking: ${masks.length} column masks for ${fields.length} result columns`);
    }
    this.columnCount = fields.length;
    this.plans = masks.map((mask, i) => (mask === null ? null : planFor(mask.strategy, fields[i], hashKey)));
    this.maskedCount = this.plans.filter((p) => p !== null).length;
  }

  private readonly out: MessageSlab;

  /** Done with this result: the slab goes to the ledger once what it holds is handed over. */
  close(): void {
    this.out.close();
  }

  /** False when no column is masked: the caller can forward rows untouched. */
  get active(): boolean {
    return this.maskedCount > 0;
  }

  /**
   * Takes a DataRow payload (int16 count, then int32 length + bytes per field,
   * length -1 for NULL) and returns the complete DataRow message ('D', int32
   * length, payload) with the masked fields replaced. Throws on a malformed row
   * or a field count that does not match the RowDescription: fail closed.
   */
  maskDataRow(body: Buffer): Buffer {
    this.out.beginRun(null);
    this.writeRow(body, 0, body.length);
    return this.out.message;
  }

  /**
   * Masks `count` complete DataRow messages lying back to back in `rows` and
   * hands the rewritten rows to `emit` in as few slices as the slabs allow
   * (one, usually): no object per row.
   */
  maskRows(rows: Buffer, count: number, emit: EmitRange): void {
    this.out.beginRun(emit);
    try {
      let pos = 0;
      for (let i = 0; i < count; i++) {
        if (rows[pos] !== DATA_ROW || pos + 5 > rows.length) throw new Error('masking: not a DataRow');
        const end = pos + 1 + int32At(rows, pos + 1);
        if (end > rows.length || end < pos + 5) throw new Error('masking: DataRow overruns its batch');
        this.writeRow(rows, pos + 5, end);
        pos = end;
      }
      if (pos !== rows.length) throw new Error('masking: bytes after the last DataRow of a batch');
    } catch (err) {
      this.out.abandonRun();
      throw err;
    }
    this.out.endRun();
  }

  /** Writes the masked DataRow for the payload src[start, end) at the slab's write position. */
  private writeRow(src: Buffer, start: number, end: number): void {
    if (end - start < 2) throw new Error('masking: DataRow too short');
    const count = ((src[start] << 24) >> 16) | src[start + 1]; // signed, as readInt16BE gives it
    if (count !== this.columnCount) {
      throw new Error(`masking: DataRow has ${count} fields, RowDescription has ${this.columnCount}`);
    }
    const out = this.out;
    out.beginMessage(end - start);
    const plans = this.plans;
    let copyFrom = start; // start of the unmasked run not yet copied
    let pos = start + 2;
    for (let col = 0; col < count; col++) {
      if (pos + 4 > end) throw new Error('masking: DataRow truncated');
      const len = int32At(src, pos);
      const fieldStart = pos;
      pos += 4;
      if (len > 0) {
        if (len > end - pos) throw new Error('masking: DataRow field overruns the message');
      } else if (len !== 0 && len !== -1) {
        throw new Error(`masking: invalid DataRow field length ${len}`);
      }
      const size = len > 0 ? len : 0;
      const plan = plans[col];
      // NULL stays NULL: presence is not a secret, and there is nothing to mask.
      if (plan !== null && len !== -1) {
        out.copy(src, copyFrom, fieldStart);
        this.writeMasked(plan, src, pos, pos + size);
        copyFrom = pos + size;
      }
      pos += size;
    }
    if (pos !== end) throw new Error('masking: DataRow has trailing bytes');
    out.copy(src, copyFrom, end);
    out.endMessage(DATA_ROW);
  }

  /** Writes the masked field (length word and bytes) for the value at body[from, to). */
  private writeMasked(plan: ColumnPlan, body: Buffer, from: number, to: number): void {
    const out = this.out;
    if (plan.kind === 'ascii') {
      out.reserve(4 + maxAsciiOutput(to - from));
      const n = plan.into(body, from, to, out.buf, out.w + 4);
      if (n >= 0) {
        putInt32(out.buf, out.w, n);
        out.w += 4 + n;
        return;
      }
    }
    const bytes = plan.kind === 'constant' ? plan.bytes : maskField(plan.rule, body.subarray(from, to), plan.typeOid, plan.format, this.hashKey);
    out.reserve(4);
    putInt32(out.buf, out.w, bytes === null ? -1 : bytes.length);
    out.w += 4;
    if (bytes !== null) out.copy(bytes, 0, bytes.length);
  }
}
