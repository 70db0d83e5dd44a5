import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GENESIS, HashChain, sha256Hex } from './chain.ts';
import { FileAuditSink } from './file-sink.ts';
import { resolveAuditFiles } from './files.ts';
import { statementEvent } from './sink-contract.ts';
import { tempDir } from './test-support.ts';
import { verifyChain } from './verify.ts';

async function auditFile(count: number, options: { rotateBytes?: number; keep?: number } = {}): Promise<string> {
  const path = join(tempDir(), 'audit.jsonl');
  const sink = new FileAuditSink({ path, ...options });
  for (let i = 0; i < count; i++) sink.write(statementEvent(i));
  await sink.close();
  return path;
}

function lines(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n').slice(0, -1);
}

function save(path: string, ls: string[], trailingNewline = true): void {
  writeFileSync(path, ls.join('\n') + (trailingNewline ? '\n' : ''));
}

/** Re-seal a line after editing it, as an attacker who knows the scheme would. */
function reseal(line: string, edit: (body: Record<string, unknown>) => void): string {
  const { hash: _hash, ...fields } = JSON.parse(line) as Record<string, unknown>;
  edit(fields);
  const body = JSON.stringify(fields);
  return `${body.slice(0, -1)},"hash":"${sha256Hex(body)}"}`;
}

describe('verifyChain', () => {
  it('accepts an intact file and reports its first and last record', async () => {
    const path = await auditFile(20);
    const result = await verifyChain(path);
    assert.equal(result.ok, true);
    assert.equal(result.events, 20);
    assert.equal(result.firstBad, undefined);
    assert.equal(result.first?.seq, 1);
    assert.equal(result.last?.seq, 20);
  });

  it('finds an edited line (its hash no longer matches)', async () => {
    const path = await auditFile(20);
    const ls = lines(path);
    ls[4] = ls[4].replace('SELECT 4', 'SELECT 5');
    save(path, ls);
    const result = await verifyChain(path);
    assert.deepEqual([result.ok, result.events, result.firstBad?.problem, result.firstBad?.line], [false, 4, 'edited', 5]);
  });

  it('finds an edited line whose hash was recomputed (the next line links to the old hash)', async () => {
    const path = await auditFile(20);
    const ls = lines(path);
    ls[4] = reseal(ls[4], (f) => (f.sql = 'SELECT 5'));
    save(path, ls);
    const result = await verifyChain(path);
    assert.deepEqual([result.ok, result.firstBad?.problem, result.firstBad?.line], [false, 'edited', 5]);
  });

  it('finds a deleted line', async () => {
    const path = await auditFile(20);
    const ls = lines(path);
    ls.splice(6, 1);
    save(path, ls);
    const result = await verifyChain(path);
    assert.deepEqual([result.ok, result.events, result.firstBad?.problem, result.firstBad?.line], [false, 6, 'deleted', 7]);
    assert.match(result.firstBad!.detail, /seq 7 missing/);
  });

  it('finds reordered lines (swapped, moved, or repeated)', async () => {
    const path = await auditFile(20);
    const ls = lines(path);
    const swapped = [...ls];
    [swapped[2], swapped[3]] = [swapped[3], swapped[2]];
    save(path, swapped);
    let result = await verifyChain(path);
    assert.deepEqual([result.ok, result.firstBad?.problem, result.firstBad?.line], [false, 'reordered', 3]);

    const moved = [...ls];
    const [third] = moved.splice(2, 1);
    moved.splice(10, 0, third);
    save(path, moved);
    result = await verifyChain(path);
    assert.deepEqual([result.firstBad?.problem, result.firstBad?.line], ['reordered', 3]);

    save(path, [...ls.slice(0, 5), ls[3], ...ls.slice(5)]);
    result = await verifyChain(path);
    assert.deepEqual([result.firstBad?.problem, result.firstBad?.line], ['reordered', 6]);
  });

  it('reports a truncated last line (a crash mid-write) apart from tampering: ok stays true', async () => {
    const path = await auditFile(20);
    const ls = lines(path);
    ls[19] = ls[19].slice(0, 50);
    save(path, ls, false);
    const result = await verifyChain(path);
    assert.deepEqual([result.ok, result.events, result.firstBad?.problem, result.firstBad?.line], [true, 19, 'truncated', 20]);
  });

  it('calls a cut line that is not the last one malformed', async () => {
    const path = await auditFile(20);
    const ls = lines(path);
    ls[9] = ls[9].slice(0, 50);
    save(path, ls);
    let result = await verifyChain(path);
    assert.deepEqual([result.ok, result.firstBad?.problem, result.firstBad?.line], [false, 'malformed', 10]);

    save(path, [...ls.slice(0, 3), 'hello', ...ls.slice(3)]);
    result = await verifyChain(path);
    assert.deepEqual([result.ok, result.firstBad?.problem, result.firstBad?.line], [false, 'malformed', 4]);
  });

  it('requires seq 1 to start from the genesis hash, but lets a chain start later (older files rotated away)', async () => {
    const dir = tempDir();
    const chain = new HashChain({ seq: 41, hash: 'a'.repeat(64) });
    const path = join(dir, 'audit.jsonl');
    save(path, [1, 2, 3].map((i) => chain.seal(statementEvent(i)).line));
    assert.deepEqual([(await verifyChain(path)).ok, (await verifyChain(path)).first?.seq], [true, 42]);

    const forged = new HashChain({ seq: 0, hash: 'b'.repeat(64) });
    save(path, [forged.seal(statementEvent(1)).line]);
    const result = await verifyChain(path);
    assert.deepEqual([result.ok, result.firstBad?.problem], [false, 'edited']);
    assert.notEqual(GENESIS, 'b'.repeat(64));
  });

  it('follows the chain across rotated files and finds a line deleted at a file boundary', async () => {
    const path = await auditFile(100, { rotateBytes: 3000, keep: 100 });
    const files = resolveAuditFiles(path);
    assert.ok(files.length >= 4);
    assert.deepEqual([(await verifyChain(path)).ok, (await verifyChain(path)).events], [true, 100]);

    const newest = files[files.length - 1];
    const ls = lines(newest);
    save(newest, ls.slice(1));
    const result = await verifyChain(path);
    assert.deepEqual([result.ok, result.firstBad?.problem, result.firstBad?.file, result.firstBad?.line], [false, 'deleted', newest, 1]);
  });

  it('finds a whole rotated file missing from the middle of the set', async () => {
    const path = await auditFile(100, { rotateBytes: 3000, keep: 100 });
    const files = resolveAuditFiles(path);
    rmSync(files[1]);
    const result = await verifyChain(path);
    assert.deepEqual([result.ok, result.firstBad?.problem, result.firstBad?.file, result.firstBad?.line], [false, 'deleted', files[2], 1]);
  });

  it('verifies a directory holding a rotation set', async () => {
    const path = await auditFile(30, { rotateBytes: 2000, keep: 100 });
    const result = await verifyChain(join(path, '..'));
    assert.deepEqual([result.ok, result.events], [true, 30]);
    assert.ok(result.files.length > 1);
  });
});
