// DataRow rewriting on raw bytes. Runs once per result row, so the hot path
// reads only the int32 length words of unmasked fields, copies their bytes in
// bulk, and allocates one Buffer per row (plus what the masked values need).

import type { FieldDescription, FormatCode } from '../protocol/types.ts';
import { maskField, type MaskRule } from './strategies.ts';

export interface ColumnMask {
  strategy: MaskRule;
}

const DATA_ROW = 0x44; // 'D'
const SLAB_SIZE = 64 * 1024;

export class RowMasker {
  private readonly columnCount: number;
  /** Per masked column (in column order): its index, strategy, type and format. */
  private readonly maskedIndex: number[] = [];
  private readonly strategies: MaskRule[] = [];
  private readonly typeOids: number[] = [];
  private readonly formats: FormatCode[] = [];
  /** Scratch space reused by every row: where each masked field starts and ends, and its new bytes. */
  private readonly fieldStart: number[];
  private readonly fieldEnd: number[];
  private readonly replacement: (Buffer | null)[];

  constructor(
    masks: (ColumnMask | null)[],
    fields: FieldDescription[],
    private readonly hashKey: Buffer,
  ) {
    if (masks.length !== fields.length) {
      throw new Error(`masking: ${masks.length} column masks for ${fields.length} result columns`);
    }
    this.columnCount = fields.length;
    masks.forEach((mask, i) => {
      if (mask === null) return;
      this.maskedIndex.push(i);
      this.strategies.push(mask.strategy);
      this.typeOids.push(fields[i].typeOid);
      this.formats.push(fields[i].format);
    });
    const n = this.maskedIndex.length;
    this.fieldStart = new Array<number>(n).fill(0);
    this.fieldEnd = new Array<number>(n).fill(0);
    this.replacement = new Array<Buffer | null>(n).fill(null);
  }

  private slab: Buffer = Buffer.alloc(0);
  private slabUsed = 0;

  /**
   * Rows are carved one after another out of 64 KiB slabs and never reused, so
   * consecutive masked rows are adjacent in memory and the output batch can
   * write them as one slice instead of one buffer per row.
   */
  private alloc(size: number): Buffer {
    if (this.slabUsed + size > this.slab.length) {
      this.slab = Buffer.allocUnsafeSlow(Math.max(SLAB_SIZE, size));
      this.slabUsed = 0;
    }
    const out = this.slab.subarray(this.slabUsed, this.slabUsed + size);
    this.slabUsed += size;
    return out;
  }

  /** False when no column is masked: the caller can forward rows untouched. */
  get active(): boolean {
    return this.maskedIndex.length > 0;
  }

  /**
   * Takes a DataRow payload (int16 count, then int32 length + bytes per field,
   * length -1 for NULL) and returns the complete DataRow message ('D', int32
   * length, payload) with the masked fields replaced. Throws on a malformed row
   * or a field count that does not match the RowDescription: fail closed.
   */
  maskDataRow(body: Buffer): Buffer {
    const end = body.length;
    if (end < 2) throw new Error('masking: DataRow too short');
    const count = body.readInt16BE(0);
    if (count !== this.columnCount) {
      throw new Error(`masking: DataRow has ${count} fields, RowDescription has ${this.columnCount}`);
    }

    const maskedIndex = this.maskedIndex;
    const maskedCount = maskedIndex.length;
    let next = 0; // position in maskedIndex of the next masked column
    let nextColumn = maskedCount > 0 ? maskedIndex[0] : -1;
    let growth = 0;
    let pos = 2;
    for (let col = 0; col < count; col++) {
      if (pos + 4 > end) throw new Error('masking: DataRow truncated');
      const len = body.readInt32BE(pos);
      const start = pos;
      pos += 4;
      if (len > 0) {
        if (len > end - pos) throw new Error('masking: DataRow field overruns the message');
      } else if (len !== 0 && len !== -1) {
        throw new Error(`masking: invalid DataRow field length ${len}`);
      }
      if (col === nextColumn) {
        const size = len > 0 ? len : 0;
        // NULL stays NULL: presence is not a secret, and there is nothing to mask.
        const masked =
          len === -1
            ? null
            : maskField(this.strategies[next], body.subarray(pos, pos + size), this.typeOids[next], this.formats[next], this.hashKey);
        this.fieldStart[next] = start;
        this.fieldEnd[next] = pos + size;
        this.replacement[next] = masked;
        growth += (masked === null ? 0 : masked.length) - size;
        next++;
        nextColumn = next < maskedCount ? maskedIndex[next] : -1;
      }
      if (len > 0) pos += len;
    }
    if (pos !== end) throw new Error('masking: DataRow has trailing bytes');

    const payloadLength = end + growth;
    const out = this.alloc(5 + payloadLength);
    out[0] = DATA_ROW;
    out.writeInt32BE(4 + payloadLength, 1);
    let w = 5;
    let r = 0;
    for (let k = 0; k < maskedCount; k++) {
      w += body.copy(out, w, r, this.fieldStart[k]);
      const masked = this.replacement[k];
      if (masked === null) {
        w = out.writeInt32BE(-1, w);
      } else {
        w = out.writeInt32BE(masked.length, w);
        w += masked.copy(out, w);
      }
      r = this.fieldEnd[k];
      this.replacement[k] = null;
    }
    body.copy(out, w, r, end);
    return out;
  }
}
