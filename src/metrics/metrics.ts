// Prometheus metrics for the gateway, served on the admin listener at /metrics.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { FastHistogram, FastLabelledCounter } from './hot-metrics.ts';

/** What a session reports; absent in tests that do not care. */
export interface SessionMetrics {
  statement(verdict: 'allow' | 'deny' | 'review'): void;
  /** Seconds from a statement's arrival to its verdict (parse, catalog, policy). */
  decision(seconds: number): void;
  /** Seconds a statement took upstream, until its result was complete. */
  upstream(seconds: number): void;
  held(delta: 1 | -1): void;
}

export class GatewayMetrics implements SessionMetrics {
  readonly registry = new Registry();
  // Updated per statement: plain numbers, read by prom-client only when scraped.
  private readonly statements = new FastLabelledCounter(this.registry, 'scopegate_statements_total', 'Statements by verdict', 'verdict', ['allow', 'deny', 'review']);
  private readonly decisions = new FastHistogram(this.registry, 'scopegate_decision_seconds', 'Time from a statement\'s arrival to its verdict',
    [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25]);
  private readonly upstreamTimes = new FastHistogram(this.registry, 'scopegate_upstream_seconds', 'Time a statement spent upstream',
    [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30]);
  private readonly heldReviews = new Gauge({ name: 'scopegate_held_reviews', help: 'Statements held for review right now', registers: [this.registry] });
  readonly sessionsTotal = new Counter({ name: 'scopegate_sessions_total', help: 'Client sessions started', registers: [this.registry] });
  readonly sessionsActive = new Gauge({ name: 'scopegate_sessions_active', help: 'Client sessions open now', registers: [this.registry] });
  readonly authFailures = new Counter({ name: 'scopegate_auth_failures_total', help: 'Failed authentications', labelNames: ['reason'], registers: [this.registry] });
  readonly reloads = new Counter({ name: 'scopegate_policy_reloads_total', help: 'Policy reloads by outcome', labelNames: ['outcome'], registers: [this.registry] });

  constructor(audit?: () => { backlog: number; dropped: number; failing: boolean }) {
    collectDefaultMetrics({ register: this.registry, prefix: 'scopegate_process_' });
    if (audit) {
      new Gauge({ name: 'scopegate_audit_backlog', help: 'Audit events not yet written', registers: [this.registry], collect() { this.set(audit().backlog); } });
      new Gauge({ name: 'scopegate_audit_dropped', help: 'Audit events dropped (bounded buffers)', registers: [this.registry], collect() { this.set(audit().dropped); } });
      new Gauge({ name: 'scopegate_audit_failing', help: '1 while an audit destination cannot be written', registers: [this.registry], collect() { this.set(audit().failing ? 1 : 0); } });
    }
  }

  statement(verdict: 'allow' | 'deny' | 'review'): void {
    this.statements.inc(verdict);
  }

  decision(seconds: number): void {
    this.decisions.observe(seconds);
  }

  upstream(seconds: number): void {
    this.upstreamTimes.observe(seconds);
  }

  held(delta: 1 | -1): void {
    this.heldReviews.inc(delta);
  }
}
