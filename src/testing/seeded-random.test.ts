import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from './seeded-random.ts';

test('seededRandom repeats per seed and covers every value of small and power-of-two ranges', () => {
  const a = seededRandom(7);
  const b = seededRandom(7);
  for (let i = 0; i < 100; i++) assert.equal(a(1000), b(1000));
  for (const k of [2, 4, 7, 8, 64, 256]) {
    const rand = seededRandom(k);
    const seen = new Array<number>(k).fill(0);
    for (let i = 0; i < 200 * k; i++) seen[rand(k)]++;
    assert.ok(seen.every((n) => n > 100), `range ${k}: ${seen.join(',')}`);
  }
});
