// Event timestamps: many statements finish within the same millisecond under
// load, so the ISO text of the last millisecond seen is kept and reused.
let lastMs = Number.NaN;
let lastIso = '';

export function isoTime(ms: number): string {
  if (ms !== lastMs) {
    lastIso = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastIso;
}
