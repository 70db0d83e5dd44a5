// Byte-level versions of last4 and email for plain ASCII values: the common
// case on million-row results, done without decoding to strings. They return
// undefined when the value is not plain ASCII, and the string versions (which
// handle any Unicode) take over. Both must give exactly what those give.

const STAR = 0x2a;
const AT = 0x40;
const REDACTED_BYTES = Buffer.from('[redacted]');

function isAsciiAlnum(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
}

/** '137-14-7919' → '***-**-7919'; undefined for non-ASCII input. */
export function last4Ascii(value: Buffer): Buffer | undefined {
  let total = 0;
  for (let i = 0; i < value.length; i++) {
    const b = value[i];
    if (b >= 0x80) return undefined;
    if (isAsciiAlnum(b)) total++;
  }
  const keepFrom = total > 4 ? total - 4 : total;
  const out = Buffer.allocUnsafe(value.length);
  let seen = 0;
  for (let i = 0; i < value.length; i++) {
    const b = value[i];
    if (isAsciiAlnum(b)) {
      out[i] = seen < keepFrom ? STAR : b;
      seen++;
    } else {
      out[i] = b;
    }
  }
  return out;
}

function isSpace(b: number): boolean {
  return b === 0x20 || (b >= 0x09 && b <= 0x0d);
}

/** 'john@example.net' → 'j***@example.net'; '[redacted]' when not an e-mail; undefined for non-ASCII input. */
export function emailAscii(value: Buffer): Buffer | undefined {
  let start = 0;
  let end = value.length;
  for (let i = 0; i < value.length; i++) if (value[i] >= 0x80) return undefined;
  while (start < end && isSpace(value[start])) start++;
  while (end > start && isSpace(value[end - 1])) end--;
  const at = value.indexOf(AT, start);
  if (at <= start || at >= end - 1) return REDACTED_BYTES;
  for (let i = start; i < at; i++) if (isSpace(value[i])) return REDACTED_BYTES;
  if (!validDomain(value, at + 1, end)) return REDACTED_BYTES;
  const domainLength = end - at - 1;
  const out = Buffer.allocUnsafe(5 + domainLength);
  out[0] = value[start];
  out[1] = STAR;
  out[2] = STAR;
  out[3] = STAR;
  out[4] = AT;
  value.copy(out, 5, at + 1, end);
  return out;
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
