// Build the audit pipeline from the `audit:` config. main.ts calls this once.
import { resolve } from 'node:path';
import type { Config } from '../config/schema.ts';
import { FanoutSink, type FanoutChild } from './fanout-sink.ts';
import { FileAuditSink } from './file-sink.ts';
import { StdoutAuditSink } from './stdout-sink.ts';
import { StoreAuditSink } from './store-sink.ts';
import { WebhookAuditSink } from './webhook-sink.ts';

export interface AuditDeps {
  /** Directory of the config file: audit.file resolves from here. */
  baseDir: string;
  env: NodeJS.ProcessEnv;
  now?: () => number;
  stdout?: NodeJS.WritableStream;
  /** Told about settings that are accepted but not acted on yet. */
  warn?: (message: string) => void;
  /** The config's top-level `store:` (embedded or a postgres:// URL): where `audit.store: true` writes. */
  store?: string;
}

/**
 * file, stdout and store (audit.store: true, written to the `store:` postgres:// URL) are
 * required destinations; the webhook is required only when
 * it is the only one (otherwise a SIEM outage does not stop the database: its
 * backlog and `dropped` counter show in stats()). No destination: events are
 * discarded and the sink is always healthy.
 */
export function createAuditSink(audit: Config['audit'], deps: AuditDeps): FanoutSink {
  const children: FanoutChild[] = [];
  if (audit.file) {
    children.push({
      // No linger of its own: the fanout hands it a few milliseconds of events at a time already, and a
      // second wait would double how long events sit in memory before reaching the file.
      sink: new FileAuditSink({ path: resolve(deps.baseDir, audit.file), rotateBytes: audit.rotate_bytes, keep: audit.keep, now: deps.now, lingerMs: 0 }),
    });
  }
  if (audit.stdout) children.push({ sink: new StdoutAuditSink({ stream: deps.stdout }) });
  if (audit.store) {
    if (deps.store === undefined) {
      deps.warn?.('audit.store: the store URL was not passed to the audit; events go to the other destinations only');
    } else if (!/^postgres(ql)?:\/\//i.test(deps.store)) {
      throw new Error('audit.store: true needs `store:` to be a postgres:// URL (the embedded store keeps no audit)');
    } else {
      // Required like the file: the shared store is where replicas' audits meet.
      children.push({ sink: new StoreAuditSink({ url: deps.store, env: deps.env, now: deps.now }) });
    }
  }
  if (audit.webhook) {
    const w = audit.webhook;
    let secret: string | undefined;
    if (w.secret_env) {
      secret = deps.env[w.secret_env];
      if (!secret) throw new Error(`audit.webhook.secret_env: environment variable ${w.secret_env} is not set`);
    }
    children.push({
      sink: new WebhookAuditSink({ url: w.url, secret, batchSize: w.batch_size, flushMs: w.flush_ms, maxBuffer: w.max_buffer }),
      required: children.length === 0,
    });
  }
  return new FanoutSink(children);
}
