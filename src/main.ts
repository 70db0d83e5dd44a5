// Wires the modules together. The only place that knows them all.
import { randomBytes, randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { loadConfigFile } from './config/load.ts';
import type { Config } from './config/schema.ts';
import { initAnalysis } from './analysis/index.ts';
import { FileAuditSink, NullAuditSink, StdoutAuditSink } from './audit/file-sink.ts';
import type { AuditSink } from './audit/types.ts';
import { Gateway } from './server/gateway.ts';

export interface Running {
  host: string;
  port: number;
  close(): Promise<void>;
}

export function log(msg: string, extra?: Record<string, unknown>): void {
  process.stderr.write(JSON.stringify({ time: new Date().toISOString(), msg, ...extra }) + '\n');
}

export async function startFromConfig(path: string, env: NodeJS.ProcessEnv = process.env): Promise<Running> {
  const { config, baseDir } = loadConfigFile(path);
  return startGateway(config, baseDir, env);
}

export async function startGateway(config: Config, baseDir: string, env: NodeJS.ProcessEnv = process.env): Promise<Running> {
  await initAnalysis();
  const gateway = new Gateway({
    config,
    baseDir,
    audit: auditSink(config, baseDir),
    env,
    hashKey: hashKey(config, env),
    now: Date.now,
    newId: randomUUID,
    log,
  });
  const addr = await gateway.listen();
  log('listening', { listen: `${addr.host}:${addr.port}` });
  return { ...addr, close: () => gateway.close() };
}

function auditSink(config: Config, baseDir: string): AuditSink {
  if (config.audit.file) return new FileAuditSink(resolve(baseDir, config.audit.file));
  if (config.audit.stdout) return new StdoutAuditSink();
  return new NullAuditSink();
}

function hashKey(config: Config, env: NodeJS.ProcessEnv): Buffer {
  const name = config.masking.hash_key_env;
  if (name && env[name]) return Buffer.from(env[name]!, 'utf8');
  // Without a configured key, hashes are stable only for this process's lifetime.
  return randomBytes(32);
}
