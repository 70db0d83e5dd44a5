import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Summary, type RunRecord } from './report.ts';

const run = (rep: number, target: string, tps: number, ok = true): RunRecord => ({ rep, test: 'simple', target, tps, ok, wall_s: 10 });

function summary(runs: RunRecord[]): Summary {
  return new Summary(runs, ['pipe', 'scopegate', 'scopegate-noaudit'], ['simple'], { IDLE: 500, STREAM: 10_000_000 });
}

const goal = (s: Summary, name: string) => s.goals().find((g) => g.name === name)!;
const SIMPLE_GOAL = 'pgbench -S simple -c8: scopegate/pipe tps';

/** Repetitions 1, 2, … of pgbench simple, each given as [pipe tps, scopegate tps]. */
function repetitions(...tps: Array<[pipe: number, scopegate: number]>): Summary {
  return summary(tps.flatMap(([pipe, gateway], i) => [run(i + 1, 'pipe', pipe), run(i + 1, 'scopegate', gateway)]));
}

test('a ratio goal is judged on the median of the repetitions\' ratios, target against the baseline of the same repetition', () => {
  const s = repetitions([100, 95], [200, 150], [120, 110]);
  const g = goal(s, SIMPLE_GOAL);
  assert.equal(g.outcome, 'PASS');
  assert.deepEqual(g.perRep!.map((v) => +v.toFixed(3)), [0.95, 0.75, 0.917]);
  assert.equal(+g.value!.toFixed(3), 0.917);
  assert.equal(+g.ratioOfMedians!.toFixed(3), 0.917); // 110 / 120
  assert.equal(g.missedReps, 1);
  assert.match(s.render(), /simple -c8: scopegate\/pipe tps = 0\.92 \(goal >= 0\.85; per repetition 0\.95, 0\.75, 0\.92 \(1 short of the goal\); ratio of the medians 0\.92\)/);
});

test('a slow repetition for every target does not decide a ratio goal: medians taken in different repetitions are not divided', () => {
  // Repetition 2 ran while the machine was slower: both targets lost ~20%.
  const s = repetitions([27_600, 24_600], [21_700, 19_900], [26_300, 19_900]);
  const g = goal(s, SIMPLE_GOAL);
  assert.equal(+g.ratioOfMedians!.toFixed(2), 0.76); // 19.9k (rep 2 or 3) / 26.3k (rep 3)
  assert.equal(+g.value!.toFixed(2), 0.89); // median of 0.89, 0.92, 0.76
  assert.equal(g.outcome, 'PASS');
  assert.equal(g.missedReps, 1);
});

test('a goal without a baseline is the median of its own values', () => {
  const idle = (rep: number, mb: number): RunRecord => ({ rep, test: 'idle', target: 'scopegate', proxy_rss_mb: mb, ok: true, wall_s: 2 });
  const s = new Summary([idle(1, 150), idle(2, 210), idle(3, 170)], ['scopegate'], ['idle'], { IDLE: 500, STREAM: 10_000_000 });
  const g = s.goals().find((x) => x.test === 'idle')!;
  assert.equal(g.value, 170);
  assert.equal(g.ratioOfMedians, undefined);
  assert.equal(g.outcome, 'PASS');
  assert.equal(g.missedReps, 1);
});

test('a repetition in which either side failed is left out of the per-repetition figures', () => {
  const s = summary([
    run(1, 'pipe', 100), run(1, 'scopegate', 90),
    run(2, 'pipe', 100, false), run(2, 'scopegate', 90),
    run(3, 'pipe', 100), run(3, 'scopegate', 80, false),
  ]);
  const g = goal(s, SIMPLE_GOAL);
  assert.deepEqual(g.perRep, [0.9]);
  assert.doesNotMatch(s.render(), /per repetition/); // one figure is the median itself
});

test('the proxies\' CPU per transaction is reported as median user + kernel µs, with the difference to the pipe', () => {
  const cpu = (rep: number, target: string, user: number, sys: number): RunRecord => ({ ...run(rep, target, 1000), proxy_user_us_tx: user, proxy_sys_us_tx: sys });
  const s = summary([cpu(1, 'pipe', 15, 27), cpu(2, 'pipe', 17, 29), cpu(3, 'pipe', 16, 28), cpu(1, 'scopegate', 22, 31), cpu(2, 'scopegate', 30, 35), cpu(3, 'scopegate', 23, 30)]);
  const text = s.render();
  assert.match(text, /Proxy CPU per pgbench transaction: µs user \+ kernel \(difference to the pipe\)/);
  assert.match(text, /\| simple \| 16\.0 \+ 28\.0 \| 23\.0 \+ 31\.0 \(\+10\.0\) \| {2}\|/);
});

test('runs without CPU readings leave the per-transaction table out', () => {
  assert.doesNotMatch(repetitions([100, 95]).render(), /Proxy CPU per pgbench transaction/);
});
