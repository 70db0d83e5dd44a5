// DataRow on the hot path: field positions without decoding, zero-copy field
// reads, and a rewrite that replaces a few fields and copies the rest in runs.
//
// DataRow body: int16 field count, then per field int32 length (-1 = NULL)
// and that many bytes.

import { ProtocolError } from './types.ts';

const D = 0x44;

function bad(reason: string): never {
  throw new ProtocolError(`invalid DataRow message: ${reason}`);
}

export function dataRowFieldCount(body: Buffer): number {
  if (body.length < 2) bad('truncated field count');
  return body.readUInt16BE(0);
}

/**
 * Validates a DataRow body and returns where its fields are: for field i,
 * `offsets[2*i]` is the position of its first byte in `body` and
 * `offsets[2*i+1]` its length (-1 for NULL). Pass `into` to reuse one array
 * across rows; a larger one is allocated when it is too small, so use the
 * returned array (its length may exceed 2 × dataRowFieldCount(body)).
 */
export function dataRowFieldOffsets(body: Buffer, into?: Int32Array): Int32Array {
  const n = dataRowFieldCount(body);
  const out = into !== undefined && into.length >= 2 * n ? into : new Int32Array(2 * n);
  const end = body.length;
  let pos = 2;
  for (let i = 0; i < n; i++) {
    if (end - pos < 4) bad(`truncated length of field ${i + 1}`);
    const len = body.readInt32BE(pos);
    pos += 4;
    if (len < -1) bad(`field ${i + 1} has invalid length ${len}`);
    out[2 * i] = pos;
    out[2 * i + 1] = len;
    if (len > 0) {
      if (len > end - pos) bad(`field ${i + 1} length ${len} exceeds the message`);
      pos += len;
    }
  }
  if (pos !== end) bad(`${end - pos} unexpected trailing byte(s)`);
  return out;
}

/** The fields as subarrays of `body` (no copy); null for SQL NULL. */
export function readDataRowFields(body: Buffer): (Buffer | null)[] {
  const offsets = dataRowFieldOffsets(body);
  const n = dataRowFieldCount(body);
  const values = new Array<Buffer | null>(n);
  for (let i = 0; i < n; i++) {
    const start = offsets[2 * i];
    const len = offsets[2 * i + 1];
    values[i] = len < 0 ? null : body.subarray(start, start + len);
  }
  return values;
}

export function encodeDataRow(values: readonly (Buffer | null)[]): Buffer {
  let size = 6;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    size += v === null ? 4 : 4 + v.length;
  }
  const out = Buffer.allocUnsafe(1 + size);
  out[0] = D;
  out.writeInt32BE(size, 1);
  let pos = out.writeUInt16BE(values.length, 5);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null) {
      pos = out.writeInt32BE(-1, pos);
    } else {
      pos = out.writeInt32BE(v.length, pos);
      out.set(v, pos);
      pos += v.length;
    }
  }
  return out;
}

/**
 * Builds a whole DataRow message from `body` with some fields replaced:
 * `replacements[i]` is the new value of field i (a Buffer, or null for NULL);
 * undefined (or a hole) keeps the original. Unchanged runs of fields are copied
 * with one copy each. `offsets` must come from dataRowFieldOffsets(body).
 */
export function rewriteDataRow(
  body: Buffer,
  offsets: Int32Array,
  replacements: readonly (Buffer | null | undefined)[],
): Buffer {
  const n = Math.min(dataRowFieldCount(body), replacements.length);
  let size = 4 + body.length;
  for (let i = 0; i < n; i++) {
    const r = replacements[i];
    if (r === undefined) continue;
    size += (r === null ? 0 : r.length) - Math.max(offsets[2 * i + 1], 0);
  }
  const out = Buffer.allocUnsafe(1 + size);
  out[0] = D;
  out.writeInt32BE(size, 1);
  let dst = 5;
  let runStart = 0;
  for (let i = 0; i < n; i++) {
    const r = replacements[i];
    if (r === undefined) continue;
    const start = offsets[2 * i];
    dst += body.copy(out, dst, runStart, start - 4);
    if (r === null) {
      dst = out.writeInt32BE(-1, dst);
    } else {
      dst = out.writeInt32BE(r.length, dst);
      out.set(r, dst);
      dst += r.length;
    }
    runStart = start + Math.max(offsets[2 * i + 1], 0);
  }
  body.copy(out, dst, runStart, body.length);
  return out;
}
