import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Summary, type RunRecord } from './report.ts';

const run = (rep: number, target: string, tps: number, ok = true): RunRecord => ({ rep, test: 'simple', target, tps, ok, wall_s: 10 });

function summary(runs: RunRecord[]): Summary {
  return new Summary(runs, ['pipe', 'scopegate', 'scopegate-noaudit'], ['simple'], { IDLE: 500, STREAM: 10_000_000 });
}

const goal = (s: Summary, name: string) => s.goals().find((g) => g.name === name)!;

test('a goal is judged on the medians and reports each repetition, target against the baseline of the same repetition', () => {
  const s = summary([
    run(1, 'pipe', 100), run(1, 'scopegate', 95),
    run(2, 'pipe', 200), run(2, 'scopegate', 150),
    run(3, 'pipe', 120), run(3, 'scopegate', 110),
  ]);
  const g = goal(s, 'pgbench -S simple -c8: scopegate/pipe tps');
  assert.equal(g.outcome, 'PASS'); // 110 / 120
  assert.deepEqual(g.perRep!.map((v) => +v.toFixed(3)), [0.95, 0.75, 0.917]);
  assert.equal(g.missedReps, 1);
  assert.match(s.render(), /simple -c8: scopegate\/pipe tps = 0\.92 \(goal >= 0\.85; per repetition 0\.95, 0\.75, 0\.92 \(1 short of the goal\)\)/);
});

test('a repetition in which either side failed is left out of the per-repetition figures', () => {
  const s = summary([
    run(1, 'pipe', 100), run(1, 'scopegate', 90),
    run(2, 'pipe', 100, false), run(2, 'scopegate', 90),
    run(3, 'pipe', 100), run(3, 'scopegate', 80, false),
  ]);
  const g = goal(s, 'pgbench -S simple -c8: scopegate/pipe tps');
  assert.deepEqual(g.perRep, [0.9]);
  assert.doesNotMatch(s.render(), /per repetition/); // one figure is the median itself
});
