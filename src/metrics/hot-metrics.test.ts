import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Histogram, Registry } from 'prom-client';
import { FastHistogram, FastLabelledCounter } from './hot-metrics.ts';

const buckets = [0.001, 0.01, 0.1, 1];
const observations = [0.0005, 0.001, 0.002, 0.05, 0.5, 2, 30, 0.01];

test('FastHistogram scrapes exactly as prom-client Histogram does for the same observations', async () => {
  const ours = new Registry();
  const theirs = new Registry();
  const fast = new FastHistogram(ours, 'x_seconds', 'help text', buckets);
  const reference = new Histogram({ name: 'x_seconds', help: 'help text', buckets, registers: [theirs] });
  for (const v of observations) {
    fast.observe(v);
    reference.observe(v);
  }
  assert.equal(await ours.metrics(), await theirs.metrics());
  ours.resetMetrics();
  assert.match(await ours.metrics(), /x_seconds_bucket\{le="\+Inf"\} 0\nx_seconds_sum 0\nx_seconds_count 0/);
});

test('FastLabelledCounter scrapes as a labelled prom-client Counter', async () => {
  const ours = new Registry();
  const theirs = new Registry();
  const fast = new FastLabelledCounter(ours, 'y_total', 'by verdict', 'verdict', ['allow', 'deny', 'review']);
  const reference = new Counter({ name: 'y_total', help: 'by verdict', labelNames: ['verdict'], registers: [theirs] });
  for (const v of ['allow', 'allow', 'deny', 'review', 'allow'] as const) {
    fast.inc(v);
    reference.inc({ verdict: v });
  }
  assert.equal(await ours.metrics(), await theirs.metrics());
});
