// COPY TO STDOUT text and csv rows: split a row into fields, decode the masked
// ones, mask them and encode them back. Unmasked fields are copied as bytes.
// Works on one row (without its line terminator) at a time.

import { asciiMaskerFor, maskField, type AsciiMasker, type MaskRule } from './strategies.ts';
import { maxAsciiOutput } from './ascii-fast.ts';
import { copyBytes, type MessageSlab } from './message-slab.ts';

export interface DelimitedDialect {
  csv: boolean;
  delimiter: number;
  quote: number;
  escape: number;
  nullString: Buffer;
}

const LF = 0x0a;
const CR = 0x0d;
const BACKSLASH = 0x5c;

/** Text-format escapes that COPY writes for control bytes, by byte (0: none; the delimiter is added per dialect). */
const TEXT_ESCAPES = new Uint8Array(256);
TEXT_ESCAPES[BACKSLASH] = BACKSLASH;
TEXT_ESCAPES[LF] = 0x6e; // \n
TEXT_ESCAPES[CR] = 0x72; // \r
TEXT_ESCAPES[0x09] = 0x74; // \t
TEXT_ESCAPES[0x08] = 0x62; // \b
TEXT_ESCAPES[0x0c] = 0x66; // \f
TEXT_ESCAPES[0x0b] = 0x76; // \v

/** How one masked column is written: bytes that do not depend on the value, or an in-place ASCII path, or neither. */
interface CopyColumnPlan {
  constant: Buffer | null;
  into: AsciiMasker | null;
}

export class DelimitedRowMasker {
  private readonly columnCount: number;
  private readonly fieldStart: number[];
  private readonly fieldEnd: number[];
  private readonly replacement: Buffer[];
  private readonly plans: (CopyColumnPlan | null)[];

  constructor(
    private readonly dialect: DelimitedDialect,
    private readonly strategies: (MaskRule | null)[],
    private readonly typeOids: number[],
    private readonly hashKey: Buffer,
  ) {
    this.columnCount = strategies.length;
    this.plans = strategies.map((rule, col) => (rule === null ? null : this.planFor(rule, typeOids[col])));
    this.fieldStart = new Array<number>(this.columnCount).fill(0);
    this.fieldEnd = new Array<number>(this.columnCount).fill(0);
    this.replacement = new Array<Buffer>(this.columnCount);
  }

  private planFor(rule: MaskRule, typeOid: number): CopyColumnPlan {
    // redact and null give the same result for every non-NULL value of a type (see RowMasker).
    if (rule === 'redact' || rule === 'null') {
      const masked = maskField(rule, Buffer.alloc(0), typeOid, 0, this.hashKey);
      return { constant: this.dialect.csv ? this.encodeCsv(masked) : this.encodeText(masked), into: null };
    }
    return { constant: null, into: asciiMaskerFor(rule, typeOid) };
  }

  /**
   * Masks one row. Fields are read from `line[0, end)`; bytes after `end` (the
   * line terminator) are copied unchanged. Throws if the field count is wrong.
   */
  maskRow(line: Buffer, end: number = line.length): Buffer {
    this.split(line, 0, end);
    const count = this.columnCount;
    let growth = 0;
    for (let col = 0; col < count; col++) {
      if (this.strategies[col] === null) continue;
      const start = this.fieldStart[col];
      const end = this.fieldEnd[col];
      const encoded = this.maskOne(col, line, start, end);
      this.replacement[col] = encoded;
      growth += encoded.length - (end - start);
    }
    const out = Buffer.allocUnsafe(line.length + growth);
    let w = 0;
    let r = 0;
    for (let col = 0; col < count; col++) {
      if (this.strategies[col] === null) continue;
      w = copyBytes(line, r, this.fieldStart[col], out, w);
      const replacement = this.replacement[col];
      w = copyBytes(replacement, 0, replacement.length, out, w);
      r = this.fieldEnd[col];
    }
    copyBytes(line, r, line.length, out, w);
    return out;
  }

  /**
   * Writes the masked row line[from, lineEnd) (its fields in [from, bodyEnd),
   * the terminator after) at the slab's write position, without a Buffer per
   * row: masked text fields without escapes take the in-place ASCII paths.
   */
  writeRow(line: Buffer, from: number, bodyEnd: number, lineEnd: number, out: MessageSlab): void {
    this.split(line, from, bodyEnd);
    let r = from;
    for (let col = 0; col < this.columnCount; col++) {
      const plan = this.plans[col];
      if (plan === null) continue;
      const start = this.fieldStart[col];
      const end = this.fieldEnd[col];
      out.copy(line, r, start);
      if (this.dialect.csv || !this.writeTextFast(plan, line, start, end, out)) {
        const encoded = this.maskOne(col, line, start, end);
        out.copy(encoded, 0, encoded.length);
      }
      r = end;
    }
    out.copy(line, r, lineEnd);
  }

  /** The masked, re-encoded field line[start, end) of column col. */
  private maskOne(col: number, line: Buffer, start: number, end: number): Buffer {
    const csv = this.dialect.csv;
    const value = csv ? this.decodeCsv(line, start, end) : this.decodeText(line, start, end);
    // NULL stays NULL; everything else is masked for its type (NULL if not maskable).
    const masked = value === null ? null : maskField(this.strategies[col]!, value, this.typeOids[col], 0, this.hashKey);
    return csv ? this.encodeCsv(masked) : this.encodeText(masked);
  }

  /**
   * Text format, the common cases written in place: NULL, value-independent
   * results, and last4/email over a field without escapes (its bytes are the
   * value, and the result holds only its bytes and '*', which need no escaping).
   */
  private writeTextFast(plan: CopyColumnPlan, line: Buffer, start: number, end: number, out: MessageSlab): boolean {
    const nullString = this.dialect.nullString;
    if (equalsAt(line, start, end, nullString)) {
      out.copy(nullString, 0, nullString.length);
      return true;
    }
    if (plan.constant !== null) {
      out.copy(plan.constant, 0, plan.constant.length);
      return true;
    }
    if (plan.into === null) return false;
    for (let i = start; i < end; i++) if (line[i] === BACKSLASH) return false;
    out.reserve(maxAsciiOutput(end - start));
    const n = plan.into(line, start, end, out.buf, out.w);
    if (n < 0) return false;
    out.w += n;
    return true;
  }

  // ---------------------------------------------------------------- splitting

  /** Finds the fields of line[from, end); throws if their count is wrong. */
  private split(line: Buffer, from: number, end: number): void {
    const count = this.dialect.csv ? this.splitCsv(line, from, end) : this.splitText(line, from, end);
    if (count !== this.columnCount) {
      throw new Error(`masking: COPY row has ${count} fields, expected ${this.columnCount}`);
    }
  }

  private record(index: number, start: number, end: number): void {
    if (index < this.columnCount) {
      this.fieldStart[index] = start;
      this.fieldEnd[index] = end;
    }
  }

  /** Text format: a delimiter preceded by a backslash is data. */
  private splitText(line: Buffer, from: number, end: number): number {
    const delimiter = this.dialect.delimiter;
    let count = 0;
    let start = from;
    for (let i = from; i < end; i++) {
      const b = line[i];
      if (b === BACKSLASH) {
        i++;
      } else if (b === delimiter) {
        this.record(count++, start, i);
        start = i + 1;
      }
    }
    this.record(count++, start, end);
    return count;
  }

  /** CSV: a delimiter inside quotes is data. */
  private splitCsv(line: Buffer, from: number, end: number): number {
    const { delimiter, quote, escape } = this.dialect;
    let count = 0;
    let start = from;
    let inQuote = false;
    for (let i = from; i < end; i++) {
      const b = line[i];
      if (inQuote) {
        if (b === escape && escape !== quote && i + 1 < end && (line[i + 1] === quote || line[i + 1] === escape)) i++;
        else if (b === quote) inQuote = false;
      } else if (b === quote) {
        inQuote = true;
      } else if (b === delimiter) {
        this.record(count++, start, i);
        start = i + 1;
      }
    }
    if (inQuote) throw new Error('masking: COPY csv row ends inside a quoted field');
    this.record(count++, start, end);
    return count;
  }

  // ---------------------------------------------------------------- text format

  /** Decodes backslash escapes (\n, \t, \ddd octal, \xhh, \c) into bytes; '\N' (the null string) is NULL. */
  private decodeText(line: Buffer, start: number, end: number): Buffer | null {
    if (equalsAt(line, start, end, this.dialect.nullString)) return null;
    const out = Buffer.allocUnsafe(end - start);
    let w = 0;
    for (let i = start; i < end; i++) {
      const b = line[i];
      if (b !== BACKSLASH || i + 1 >= end) {
        out[w++] = b;
        continue;
      }
      const c = line[++i];
      if (c >= 0x30 && c <= 0x37) {
        let v = c - 0x30;
        for (let k = 0; k < 2 && i + 1 < end && line[i + 1] >= 0x30 && line[i + 1] <= 0x37; k++) v = v * 8 + line[++i] - 0x30;
        out[w++] = v & 0xff;
      } else if (c === 0x78 && i + 1 < end && hexValue(line[i + 1]) >= 0) {
        let v = hexValue(line[++i]);
        if (i + 1 < end && hexValue(line[i + 1]) >= 0) v = v * 16 + hexValue(line[++i]);
        out[w++] = v;
      } else {
        out[w++] = UNESCAPE[c] ?? c;
      }
    }
    return out.subarray(0, w);
  }

  /** Escapes backslash, control bytes and the delimiter so the value stays one field of one row. */
  private encodeText(value: Buffer | null): Buffer {
    if (value === null) return this.dialect.nullString;
    const delimiter = this.dialect.delimiter;
    const n = value.length;
    let extra = 0;
    for (let i = 0; i < n; i++) {
      const b = value[i];
      if (b === delimiter || TEXT_ESCAPES[b] !== 0) extra++;
    }
    if (extra === 0) return value;
    const out = Buffer.allocUnsafe(n + extra);
    let w = 0;
    for (let i = 0; i < n; i++) {
      const b = value[i];
      const escaped = TEXT_ESCAPES[b];
      if (escaped !== 0) {
        out[w++] = BACKSLASH;
        out[w++] = escaped;
      } else if (b === delimiter) {
        out[w++] = BACKSLASH;
        out[w++] = b;
      } else {
        out[w++] = b;
      }
    }
    return out;
  }

  // ---------------------------------------------------------------- csv format

  /** Removes quoting; an unquoted field equal to the null string is NULL. */
  private decodeCsv(line: Buffer, start: number, end: number): Buffer | null {
    const { quote, escape } = this.dialect;
    const out = Buffer.allocUnsafe(end - start);
    let w = 0;
    let inQuote = false;
    let sawQuote = false;
    for (let i = start; i < end; i++) {
      const b = line[i];
      if (inQuote) {
        if (b === escape && i + 1 < end && (line[i + 1] === quote || line[i + 1] === escape)) {
          out[w++] = line[++i];
        } else if (b === quote) {
          inQuote = false;
        } else {
          out[w++] = b;
        }
      } else if (b === quote) {
        inQuote = true;
        sawQuote = true;
      } else {
        out[w++] = b;
      }
    }
    if (!sawQuote && equalsAt(line, start, end, this.dialect.nullString)) return null;
    return out.subarray(0, w);
  }

  /** Quotes when the value holds a delimiter, quote, escape, CR/LF, or could be read as NULL or end-of-data. */
  private encodeCsv(value: Buffer | null): Buffer {
    const { delimiter, quote, escape, nullString } = this.dialect;
    if (value === null) return nullString;
    let extra = 0;
    let special = value.equals(nullString) || (value[0] === BACKSLASH && value[1] === 0x2e);
    const n = value.length;
    for (let i = 0; i < n; i++) {
      const b = value[i];
      if (b === quote || b === escape) extra++;
      if (b === delimiter || b === quote || b === escape || b === LF || b === CR) special = true;
    }
    if (!special) return value;
    const out = Buffer.allocUnsafe(n + extra + 2);
    let w = 0;
    out[w++] = quote;
    for (let i = 0; i < n; i++) {
      const b = value[i];
      if (b === quote || b === escape) out[w++] = escape;
      out[w++] = b;
    }
    out[w++] = quote;
    return out;
  }
}

const UNESCAPE: Record<number, number> = {
  0x62: 0x08, // \b
  0x66: 0x0c, // \f
  0x6e: LF, // \n
  0x72: CR, // \r
  0x74: 0x09, // \t
  0x76: 0x0b, // \v
};

function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  const l = b | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

function equalsAt(line: Buffer, start: number, end: number, needle: Buffer): boolean {
  return end - start === needle.length && line.compare(needle, 0, needle.length, start, end) === 0;
}

/**
 * Finds the end of the first row in `buf` from `from`: the index of the LF that
 * terminates it, or -1 if the row is not complete yet. In text format every raw
 * LF ends a row (data newlines are escaped); in csv an LF inside quotes is data.
 */
export function findRowEnd(buf: Buffer, from: number, dialect: DelimitedDialect, limit = buf.length): number {
  if (!dialect.csv) {
    const lf = buf.indexOf(LF, from);
    return lf < limit ? lf : -1;
  }
  const { quote, escape } = dialect;
  let inQuote = false;
  for (let i = from; i < limit; i++) {
    const b = buf[i];
    if (inQuote) {
      if (b === escape && escape !== quote && i + 1 < limit && (buf[i + 1] === quote || buf[i + 1] === escape)) i++;
      else if (b === quote) inQuote = false;
    } else if (b === quote) {
      inQuote = true;
    } else if (b === LF) {
      return i;
    }
  }
  return -1;
}
