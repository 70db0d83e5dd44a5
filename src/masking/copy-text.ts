// COPY TO STDOUT text and csv rows: split a row into fields, decode the masked
// ones, mask them and encode them back. Unmasked fields are copied as bytes.
// Works on one row (without its line terminator) at a time.

import { maskField, type MaskRule } from './strategies.ts';
import { copyBytes } from './message-slab.ts';

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

export class DelimitedRowMasker {
  private readonly columnCount: number;
  private readonly fieldStart: number[];
  private readonly fieldEnd: number[];
  private readonly replacement: Buffer[];

  constructor(
    private readonly dialect: DelimitedDialect,
    private readonly strategies: (MaskRule | null)[],
    private readonly typeOids: number[],
    private readonly hashKey: Buffer,
  ) {
    this.columnCount = strategies.length;
    this.fieldStart = new Array<number>(this.columnCount).fill(0);
    this.fieldEnd = new Array<number>(this.columnCount).fill(0);
    this.replacement = new Array<Buffer>(this.columnCount);
  }

  /**
   * Masks one row. Fields are read from `line[0, end)`; bytes after `end` (the
   * line terminator) are copied unchanged. Throws if the field count is wrong.
   */
  maskRow(line: Buffer, end: number = line.length): Buffer {
    const count = this.dialect.csv ? this.splitCsv(line, end) : this.splitText(line, end);
    if (count !== this.columnCount) {
      throw new Error(`masking: COPY row has ${count} fields, expected ${this.columnCount}`);
    }
    let growth = 0;
    for (let col = 0; col < count; col++) {
      const strategy = this.strategies[col];
      if (strategy === null) continue;
      const start = this.fieldStart[col];
      const end = this.fieldEnd[col];
      const value = this.dialect.csv ? this.decodeCsv(line, start, end) : this.decodeText(line, start, end);
      // NULL stays NULL; everything else is masked for its type (NULL if not maskable).
      const masked = value === null ? null : maskField(strategy, value, this.typeOids[col], 0, this.hashKey);
      const encoded = this.dialect.csv ? this.encodeCsv(masked) : this.encodeText(masked);
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

  // ---------------------------------------------------------------- splitting

  private record(index: number, start: number, end: number): void {
    if (index < this.columnCount) {
      this.fieldStart[index] = start;
      this.fieldEnd[index] = end;
    }
  }

  /** Text format: a delimiter preceded by a backslash is data. */
  private splitText(line: Buffer, end: number): number {
    const delimiter = this.dialect.delimiter;
    let count = 0;
    let start = 0;
    for (let i = 0; i < end; i++) {
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
  private splitCsv(line: Buffer, end: number): number {
    const { delimiter, quote, escape } = this.dialect;
    let count = 0;
    let start = 0;
    let inQuote = false;
    for (let i = 0; i < end; i++) {
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
export function findRowEnd(buf: Buffer, from: number, dialect: DelimitedDialect): number {
  if (!dialect.csv) return buf.indexOf(LF, from);
  const { quote, escape } = dialect;
  let inQuote = false;
  for (let i = from; i < buf.length; i++) {
    const b = buf[i];
    if (inQuote) {
      if (b === escape && escape !== quote && (buf[i + 1] === quote || buf[i + 1] === escape)) i++;
      else if (b === quote) inQuote = false;
    } else if (b === quote) {
      inQuote = true;
    } else if (b === LF) {
      return i;
    }
  }
  return -1;
}
