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

/** Per byte: ALNUM for ASCII letters and digits, SPACE for what trim() removes in ASCII, WIDE for bytes of non-ASCII characters. */
const ALNUM = 1;
const SPACE = 2;
const WIDE = 4;
const CLASS = new Uint8Array(256);
for (let b = 0; b < 256; b++) {
  if ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a)) CLASS[b] = ALNUM;
  else if (b === 0x20 || (b >= 0x09 && b <= 0x0d)) CLASS[b] = SPACE;
  else if (b >= 0x80) CLASS[b] = WIDE;
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
  // One pass copies the value and counts its letters and digits; a second
  // stars all of them but the last four (all of them when there are four or fewer).
  let total = 0;
  let w = at;
  for (let i = from; i < to; i++) {
    const b = src[i];
    const c = CLASS[b];
    if (c === WIDE) return -1;
    if (c === ALNUM) total++;
    out[w++] = b;
  }
  let stars = total > 4 ? total - 4 : total;
  for (let i = at; stars > 0; i++) {
    if (CLASS[out[i]] === ALNUM) {
      out[i] = STAR;
      stars--;
    }
  }
  return to - from;
}

/** 'john@example.net' → 'j***@example.net'; '[redacted]' when not an e-mail. */
export function emailAsciiInto(src: Buffer, from: number, to: number, out: Buffer, at: number): number {
  // One pass finds the first '@', the value without surrounding white space,
  // and white space inside the local part (which makes it no address).
  let sign = -1;
  let start = -1;
  let end = from;
  let spaceSeen = false;
  let spaceInLocal = false;
  for (let i = from; i < to; i++) {
    const b = src[i];
    const c = CLASS[b];
    if (c === WIDE) return -1;
    if (c === SPACE) {
      if (start >= 0) spaceSeen = true;
      continue;
    }
    if (start < 0) start = i;
    end = i + 1;
    if (b === AT && sign < 0) {
      sign = i;
      spaceInLocal = spaceSeen;
    }
  }
  if (start < 0 || sign <= start || sign >= end - 1 || spaceInLocal || !validDomain(src, sign + 1, end)) {
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

/** Dot-separated labels of letters and digits, hyphens only inside a label. */
function validDomain(v: Buffer, from: number, to: number): boolean {
  let labelStart = from;
  for (let i = from; i <= to; i++) {
    if (i === to || v[i] === 0x2e) {
      if (i === labelStart) return false;
      if (CLASS[v[labelStart]] !== ALNUM || CLASS[v[i - 1]] !== ALNUM) return false;
      labelStart = i + 1;
      continue;
    }
    const b = v[i];
    if (CLASS[b] !== ALNUM && b !== 0x2d) return false;
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
