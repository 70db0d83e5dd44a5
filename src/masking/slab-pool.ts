// Where masking's 64 KiB output slabs come from, and when one may be reused.
//
// A fresh slab per 64 KiB of masked rows made V8 start a mark-compact every
// ~40 MB of them (its limit counts array-buffer bytes allocated since the last
// one; PERFORMANCE.md): 29 in six 1M-row masked SELECTs against 9 with
// slabs reused. Reuse is only safe once no byte of a slab can still be sent,
// and only the session knows that: its ledger keeps the slabs its maskers
// have moved past, and the session releases them to the shared spares when
// its client socket has taken every write (nothing queued in the stream or
// in a pending write) and nothing is held back for the audit.
import { noteYoungBuffer } from '../protocol/young-buffers.ts';

export const SLAB_SIZE = 64 * 1024;
/** Spare slabs shared by every session (2 MiB): enough for a few results streaming at once. */
const MAX_SPARE = 32;
/** Slabs a ledger tracks until released (1 MiB); beyond, they are left to the GC (a client that seldom drains). */
const MAX_RETIRED = 16;

const spare: Buffer[] = [];

/** A new slab of `size` bytes (a spare one when it is SLAB_SIZE and there is one). */
export function takeSlab(size: number): Buffer {
  if (size === SLAB_SIZE) {
    const reused = spare.pop();
    if (reused !== undefined) return reused;
  }
  noteYoungBuffer(size);
  return Buffer.allocUnsafeSlow(size);
}

/** Spare slabs now (for tests). */
export function spareSlabCount(): number {
  return spare.length;
}

/** One session's slabs that may still be in flight to its client. */
export class SlabLedger {
  private retired: Buffer[] = [];

  /** A slab its writer is done with; its bytes may not have been sent yet. */
  retire(slab: Buffer): void {
    if (slab.length === SLAB_SIZE && this.retired.length < MAX_RETIRED) this.retired.push(slab);
  }

  get retiredCount(): number {
    return this.retired.length;
  }

  /** Call only when every byte written so far has left the process: the retired slabs become spares. */
  release(): void {
    const retired = this.retired;
    if (retired.length === 0) return;
    for (let i = 0; i < retired.length && spare.length < MAX_SPARE; i++) spare.push(retired[i]);
    retired.length = 0;
  }
}
