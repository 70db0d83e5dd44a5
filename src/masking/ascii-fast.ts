// Byte-level versions of last4 and email for plain ASCII values: the common
// case on million-row results, done without decoding to strings. The `…Into`
// forms read value bytes [from, to) of `src` and write the masked bytes into
// `out` at `at` (room for `maxAsciiOutput` bytes must be there), returning how
// many they wrote, or -1 when the value is not plain ASCII and the string
// versions (which handle any Unicode) must take over. Both must give exactly
// what those give.

const STAR = 0x2a;
const AT = 0x40;
const REDACTED_BYTES = Buffer.from('[redacted]');

function isAsciiAlnum(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
}

/**
 * The most bytes last4/email can write for an ASCII value of `length` bytes:
 * a one-letter local part grows by three ('a@x.io' → 'a***@x.io'), and a
 * non-address becomes '[redacted]'.
 */
export function maxAsciiOutput(length: number): number {
  return Math.max(length + 3, REDACTED_BYTES.length);
}

/** '137-14-7919' → '***-**-7919'. */
export function last4AsciiInto(src: Buffer, from: number, to: number, out: Buffer, at: number): number {
  let total = 0;
  for (let i = from; i < to; i++) {
    const b = src[i];
    if (b >= 0x80) return -1;
    if (isAsciiAlnum(b)) total++;
  }
  const keepFrom = total > 4 ? total - 4 : total;
  let seen = 0;
  let w = at;
  for (let i = from; i < to; i++) {
    const b = src[i];
    if (isAsciiAlnum(b)) {
      out[w++] = seen < keepFrom ? STAR : b;
      seen++;
    } else {
      out[w++] = b;
    }
  }
  return to - from;
}

function isSpace(b: number): boolean {
  return b === 0x20 || (b >= 0x09 && b <= 0x0d);
}

/** 'john@example.net' → 'j***@example.net'; '[redacted]' when not an e-mail. */
export function emailAsciiInto(src: Buffer, from: number, to: number, out: Buffer, at: number): number {
  let sign = -1; // the first '@' (leading spaces hold none, so it is the first after them too)
  for (let i = from; i < to; i++) {
    const b = src[i];
    if (b >= 0x80) return -1;
    if (b === AT && sign < 0) sign = i;
  }
  let start = from;
  let end = to;
  while (start < end && isSpace(src[start])) start++;
  while (end > start && isSpace(src[end - 1])) end--;
  if (sign <= start || sign >= end - 1 || !validLocal(src, start, sign) || !validDomain(src, sign + 1, end)) {
    return REDACTED_BYTES.copy(out, at);
  }
  out[at] = src[start];
  out[at + 1] = STAR;
  out[at + 2] = STAR;
  out[at + 3] = STAR;
  out[at + 4] = AT;
  let w = at + 5;
  for (let i = sign + 1; i < end; i++) out[w++] = src[i];
  return w - at;
}

function validLocal(v: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (isSpace(v[i])) return false;
  return true;
}

/** Dot-separated labels of letters and digits, hyphens only inside a label. */
function validDomain(v: Buffer, from: number, to: number): boolean {
  let labelStart = from;
  for (let i = from; i <= to; i++) {
    if (i === to || v[i] === 0x2e) {
      if (i === labelStart) return false;
      if (!isAsciiAlnum(v[labelStart]) || !isAsciiAlnum(v[i - 1])) return false;
      labelStart = i + 1;
      continue;
    }
    const b = v[i];
    if (!isAsciiAlnum(b) && b !== 0x2d) return false;
  }
  return true;
}

function standalone(into: typeof last4AsciiInto, value: Buffer): Buffer | undefined {
  const out = Buffer.allocUnsafe(maxAsciiOutput(value.length));
  const n = into(value, 0, value.length, out, 0);
  return n < 0 ? undefined : out.subarray(0, n);
}

/** last4 of a whole value; undefined for non-ASCII input. */
export function last4Ascii(value: Buffer): Buffer | undefined {
  return standalone(last4AsciiInto, value);
}

/** email of a whole value; undefined for non-ASCII input. */
export function emailAscii(value: Buffer): Buffer | undefined {
  return standalone(emailAsciiInto, value);
}
