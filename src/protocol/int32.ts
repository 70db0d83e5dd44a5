// Big-endian int32 at a known-good position, read and written by hand for
// per-row hot paths: Buffer's readInt32BE/writeInt32BE check their arguments
// on every call, and the callers here have already checked the bounds.

export function int32At(b: Uint8Array, at: number): number {
  return (b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3];
}

export function putInt32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = v >>> 16;
  b[at + 2] = v >>> 8;
  b[at + 3] = v;
}
