import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { sampleReview, storeContract } from './contract.ts';
import { EmbeddedStore } from './embedded.ts';
import { openStore } from './index.ts';
import { StoreError } from './types.ts';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'scopegate-store-'));
}

storeContract('embedded', async () => {
  const dir = tempDir();
  let store = await EmbeddedStore.open(dir);
  return {
    store,
    async reopen() {
      await store.close();
      store = await EmbeddedStore.open(dir);
      return store;
    },
    async cleanup() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('embedded store', () => {
  it('refuses a second open of the same data_dir while the first is open', async () => {
    const dir = tempDir();
    const store = await EmbeddedStore.open(dir);
    await assert.rejects(EmbeddedStore.open(dir), (e: unknown) => e instanceof StoreError && e.code === 'locked' && /in use by process/.test(e.message));
    await store.close();
    const again = await EmbeddedStore.open(dir);
    await again.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('takes over a lock left by a process that no longer runs', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'store.jsonl.lock'), '2147483646\n');
    const store = await EmbeddedStore.open(dir);
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('drops a torn last line (a crash mid-write) and keeps everything before it', async () => {
    const dir = tempDir();
    const store = await EmbeddedStore.open(dir);
    const r = sampleReview();
    await store.createReview(r);
    await store.close();
    appendFileSync(join(dir, 'store.jsonl'), '{"k":"review","v":{"id":"rv_torn","sta');
    const reopened = await EmbeddedStore.open(dir);
    assert.equal(reopened.stats.droppedTornLine, true);
    assert.deepEqual(await reopened.getReview(r.id), r);
    assert.equal(await reopened.getReview('rv_torn'), null);
    await reopened.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses to start on a journal damaged in the middle, naming the line', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'store.jsonl'), '{"k":"meta","format":"scopegate-store","version":1}\nnot json\n{"k":"review","v":{"id":"rv_a"}}\n');
    await assert.rejects(EmbeddedStore.open(dir), (e: unknown) => e instanceof StoreError && e.code === 'corrupt' && /store\.jsonl:2:/.test(e.message));
    rmSync(dir, { recursive: true, force: true });
  });

  it('compacts the journal at start to one line per record', async () => {
    const dir = tempDir();
    const store = await EmbeddedStore.open(dir);
    const r = sampleReview();
    await store.createReview(r);
    await store.updateReview(r.id, 'pending', { status: 'approved' });
    await store.updateReview(r.id, 'approved', { status: 'consumed' });
    await store.close();
    assert.equal(readFileSync(join(dir, 'store.jsonl'), 'utf8').trim().split('\n').length, 4);
    const reopened = await EmbeddedStore.open(dir);
    assert.equal(reopened.stats.replayedLines, 4);
    assert.equal(reopened.stats.reviews, 1);
    await reopened.close();
    assert.equal(readFileSync(join(dir, 'store.jsonl'), 'utf8').trim().split('\n').length, 2);
    rmSync(dir, { recursive: true, force: true });
  });

  it('shares one fsync between writes that arrive together', async () => {
    const dir = tempDir();
    const store = await EmbeddedStore.open(dir);
    const reviews = Array.from({ length: 200 }, () => sampleReview());
    await Promise.all(reviews.map((r) => store.createReview(r)));
    assert.equal((await store.listReviews()).length, 200);
    await store.close();
    const reopened = await EmbeddedStore.open(dir);
    assert.equal(reopened.stats.reviews, 200);
    await reopened.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('opens from config: embedded under data_dir relative to the config file; a postgres:// URL connects to Postgres', async () => {
    const dir = tempDir();
    const store = await openStore({ store: 'embedded', data_dir: './state' }, dir);
    await store.close();
    assert.ok(readFileSync(join(dir, 'state', 'store.jsonl'), 'utf8').includes('scopegate-store'));
    await assert.rejects(openStore({ store: 'postgres://x@127.0.0.1:1/db', data_dir: '.' }, dir), (e: unknown) => e instanceof StoreError && e.code === 'io');
    await assert.rejects(openStore({ store: 'sqlite', data_dir: '.' }, dir), /expected "embedded"/);
    rmSync(dir, { recursive: true, force: true });
  });
});
