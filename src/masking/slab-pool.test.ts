import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageSlab } from './message-slab.ts';
import { SLAB_SIZE, SlabLedger, spareSlabCount, takeSlab } from './slab-pool.ts';

/** Writes `count` messages of `size` body bytes, each filled with its index; returns the slabs seen in order. */
function fill(slab: MessageSlab, count: number, size: number): Buffer[] {
  const seen: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    slab.beginMessage(size);
    slab.buf.fill(i & 0xff, slab.w, slab.w + size);
    slab.w += size;
    slab.endMessage(0x64);
    if (seen.at(-1) !== slab.buf) seen.push(slab.buf);
  }
  return seen;
}

test('a slab the writer moved past is reused only after its ledger is released', () => {
  const ledger = new SlabLedger();
  const writer = new MessageSlab(ledger);
  const slabs = fill(writer, 40, 8 * 1024 - 5); // 8 messages of 8 KiB per slab: five slabs
  assert.equal(slabs.length, 5);
  assert.equal(ledger.retiredCount, 4);
  const before = spareSlabCount();

  // Not released: a new writer gets fresh slabs, never one of these.
  const other = new MessageSlab(new SlabLedger());
  for (const s of fill(other, 16, 8 * 1024)) assert.ok(!slabs.includes(s));
  assert.equal(spareSlabCount(), before);

  ledger.release();
  assert.equal(ledger.retiredCount, 0);
  assert.equal(spareSlabCount(), before + 4);
  const reused = takeSlab(SLAB_SIZE);
  assert.ok(slabs.slice(0, 4).includes(reused));
  assert.equal(spareSlabCount(), before + 3);
});

test('close() hands the current slab to the ledger; a writer without one leaves its slabs to the GC', () => {
  const ledger = new SlabLedger();
  const writer = new MessageSlab(ledger);
  const [only] = fill(writer, 2, 100);
  writer.close();
  assert.equal(ledger.retiredCount, 1);
  assert.equal(writer.buf.length, 0);

  const plain = new MessageSlab();
  fill(plain, 20, 8 * 1024);
  plain.close();
  ledger.release();
  assert.equal(takeSlab(SLAB_SIZE), only);
});

test('oversized slabs (one message above 64 KiB) are not kept, and spares are bounded', () => {
  const ledger = new SlabLedger();
  const writer = new MessageSlab(ledger);
  fill(writer, 1, 10);
  fill(writer, 1, 100 * 1024); // moves to a 200 KiB slab, retiring the first
  writer.close();
  assert.equal(ledger.retiredCount, 1, 'only the 64 KiB slab');

  const many = new SlabLedger();
  for (let i = 0; i < 100; i++) many.retire(Buffer.allocUnsafeSlow(SLAB_SIZE));
  assert.equal(many.retiredCount, 16);
  many.release();
  assert.ok(spareSlabCount() <= 32);
});

test('messages written into a reused slab are intact', () => {
  const first = new SlabLedger();
  const w1 = new MessageSlab(first);
  fill(w1, 30, 6000);
  w1.close();
  first.release();

  const w2 = new MessageSlab(new SlabLedger());
  const got: Buffer[] = [];
  w2.beginRun((buf, start, end) => got.push(Buffer.from(buf.subarray(start, end))));
  fill(w2, 30, 5000);
  w2.endRun();
  const all = Buffer.concat(got);
  assert.equal(all.length, 30 * 5005);
  for (let i = 0; i < 30; i++) {
    const at = i * 5005;
    assert.equal(all[at], 0x64);
    assert.equal(all.readInt32BE(at + 1), 5004);
    assert.ok(all.subarray(at + 5, at + 5005).every((b) => b === i));
  }
});
