// Metrics updated once per statement. prom-client's own Histogram and labelled
// Counter hash their label objects on every call, which cost about 5% of the
// gateway's CPU on pgbench -S; these keep plain numbers and hand prom-client
// the totals only when /metrics is scraped (Registry.registerMetric accepts any
// object with this shape).
import type { Registry } from 'prom-client';

interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

interface Scraped {
  name: string;
  help: string;
  type: 'histogram' | 'counter';
  values: MetricValue[];
  aggregator: 'sum';
}

abstract class HotMetric {
  constructor(readonly name: string, readonly help: string) {}
  abstract get(): Scraped;
  abstract reset(): void;
}

/** Cumulative buckets as Prometheus expects them, counted with one linear scan per observation. */
export class FastHistogram extends HotMetric {
  private readonly upper: Float64Array;
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;

  constructor(registry: Registry, name: string, help: string, buckets: readonly number[]) {
    super(name, help);
    this.upper = Float64Array.from([...buckets].sort((a, b) => a - b));
    this.counts = new Float64Array(this.upper.length);
    registry.registerMetric(this as never);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    const upper = this.upper;
    for (let i = 0; i < upper.length; i++) {
      if (value <= upper[i]) {
        this.counts[i]++;
        return;
      }
    }
  }

  get(): Scraped {
    const values: MetricValue[] = [];
    let cumulative = 0;
    for (let i = 0; i < this.upper.length; i++) {
      cumulative += this.counts[i];
      values.push({ value: cumulative, labels: { le: this.upper[i] }, metricName: `${this.name}_bucket` });
    }
    values.push({ value: this.count, labels: { le: '+Inf' }, metricName: `${this.name}_bucket` });
    values.push({ value: this.sum, labels: {}, metricName: `${this.name}_sum` });
    values.push({ value: this.count, labels: {}, metricName: `${this.name}_count` });
    return { name: this.name, help: this.help, type: 'histogram', values, aggregator: 'sum' };
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}

/** A counter with one label whose values are known up front (e.g. verdicts). */
export class FastLabelledCounter<L extends string> extends HotMetric {
  private readonly totals: Record<L, number>;

  constructor(registry: Registry, name: string, help: string, private readonly label: string, values: readonly L[]) {
    super(name, help);
    this.totals = Object.fromEntries(values.map((v) => [v, 0])) as Record<L, number>;
    registry.registerMetric(this as never);
  }

  inc(value: L): void {
    this.totals[value]++;
  }

  get(): Scraped {
    const values = (Object.keys(this.totals) as L[]).map((v) => ({ value: this.totals[v], labels: { [this.label]: v } }));
    return { name: this.name, help: this.help, type: 'counter', values, aggregator: 'sum' };
  }

  reset(): void {
    for (const k of Object.keys(this.totals) as L[]) this.totals[k] = 0;
  }
}
