// Keeps short-lived buffers from starting V8's major GC.
//
// V8 counts the bytes of every ArrayBuffer allocated since the last
// mark-compact against the old generation's allocation limit, though the
// gateway's read blocks and masking slabs die young: only a scavenge frees
// them, and the gateway allocates so little else per row that while a large
// result streams the old generation's ~8 MB of slack runs out first. V8 then
// marks and compacts the old generation every 8 MB of rows, freeing almost
// nothing (measured: ~22 mark-compacts in three 1M-row SELECTs, about 40% of
// the gateway's CPU then). A scavenge after every 2 MB of such buffers frees
// them before that happens, at 0.1-0.7 ms each for a young generation this
// small. Buffers still in flight at two scavenges in a row are promoted and
// count until the next mark-compact, so some remain (PERFORMANCE.md).
//
// The scavenge needs node's --expose-gc (bin/scopegate.js's #! line); without
// it this does nothing and V8 decides alone.

/** Buffer bytes between two requested scavenges: under V8's slack with room to spare. */
const SCAVENGE_EVERY_BYTES = 2 * 1024 * 1024;

type Collect = (options: { type: 'minor' }) => void;

const exposed = (globalThis as { gc?: unknown }).gc;
const collect = typeof exposed === 'function' ? (exposed as Collect) : undefined;
let sinceScavenge = 0;

/** Records a freshly allocated buffer that will likely die young; scavenges every SCAVENGE_EVERY_BYTES. */
export function noteYoungBuffer(bytes: number): void {
  if (collect === undefined) return;
  sinceScavenge += bytes;
  if (sinceScavenge < SCAVENGE_EVERY_BYTES) return;
  sinceScavenge = 0;
  collect({ type: 'minor' });
}

/** True when scavenges can be requested (node runs with --expose-gc). */
export const canRequestScavenge = collect !== undefined;
