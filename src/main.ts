// Wires the modules together. The only place that knows them all.
import { randomBytes, randomUUID } from 'node:crypto';
import { loadConfigFile } from './config/load.ts';
import type { Config } from './config/schema.ts';
import { initAnalysis } from './analysis/index.ts';
import { createAuditSink } from './audit/factory.ts';
import { Gateway } from './server/gateway.ts';
import { openStore } from './store/index.ts';
import { ApprovalService, WebhookNotifier, allApproverGroups, sessionApprovals } from './approvals/index.ts';
import { buildAdminServer } from './admin/server.ts';
import { TokenDirectory } from './identity/tokens.ts';
import { splitHostPort } from './server/gateway.ts';
import { GatewayMetrics } from './metrics/metrics.ts';
import { opsRoutes } from './admin/ops-routes.ts';
import { watchConfig } from './server/reload.ts';

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
  return startGateway(config, baseDir, env, path);
}

export async function startGateway(config: Config, baseDir: string, env: NodeJS.ProcessEnv = process.env, configPath?: string): Promise<Running> {
  await initAnalysis();
  const audit = createAuditSink(config.audit, { baseDir, env, warn: (m) => log(`warning: ${m}`), store: config.store });
  const publicUrl = config.admin ? `http://${config.admin}` : undefined;
  const store = await openStore(config, baseDir, { env, log });
  const notifier = new WebhookNotifier({ publicUrl, log });
  const approvals = new ApprovalService({
    store,
    approvals: config.approvals,
    upstreams: Object.keys(config.upstreams),
    notifier,
    onEvent: (e) => audit.write(e),
  });
  await approvals.start();
  // With a shared store, other replicas may be holding statements right now: their reviews expire by the normal sweep.
  if (config.store === 'embedded') {
    const expired = await approvals.expirePending('gateway restarted while the statement was held');
    if (expired > 0) log('expired reviews left pending by the previous run', { count: expired });
  }
  const metrics = new GatewayMetrics(() => {
    const all = Object.values(audit.stats());
    return { backlog: all.reduce((n, s) => n + s.backlog, 0), dropped: all.reduce((n, s) => n + s.dropped, 0), failing: all.some((s) => s.failing !== null) };
  });
  const gateway = new Gateway({
    metrics,
    config,
    baseDir,
    audit,
    env,
    hashKey: hashKey(config, env),
    now: Date.now,
    newId: randomUUID,
    log,
    approvals: sessionApprovals(approvals, config, publicUrl),
  });
  // The admin API is up before clients can connect, so a held statement can always be decided.
  let admin: Awaited<ReturnType<typeof buildAdminServer>> | undefined;
  if (config.admin) {
    const tokens = new TokenDirectory(config.identities.tokens);
    const ready = () => (audit.healthy() ? { ready: true } : { ready: false, why: 'the audit trail cannot be written' });
    admin = await buildAdminServer({
      approvals, authenticate: (t) => tokens.authenticate(t), approverGroups: allApproverGroups(config), publicUrl,
      extraRoutes: opsRoutes(metrics, ready),
    });
    const [host, port] = splitHostPort(config.admin);
    await admin.listen({ host, port });
    log('admin listening', { admin: config.admin });
  }
  const addr = await gateway.listen();
  log('listening', { listen: `${addr.host}:${addr.port}` });
  const stopWatching = configPath
    ? watchConfig(configPath, gateway, {
        log,
        onResult: (ok, detail) => {
          metrics.reloads.inc({ outcome: ok ? 'ok' : 'refused' });
          audit.write({ type: 'policy_reloaded', at: new Date().toISOString(), source: configPath, ok, ...(ok ? {} : { error: detail }) });
        },
      })
    : () => undefined;
  return {
    ...addr,
    close: async () => {
      stopWatching();
      await admin?.close();
      await approvals.close();
      await gateway.close();
      await notifier.drain?.();
      notifier.close?.();
      await store.close();
    },
  };
}

function hashKey(config: Config, env: NodeJS.ProcessEnv): Buffer {
  const name = config.masking.hash_key_env;
  if (name && env[name]) return Buffer.from(env[name]!, 'utf8');
  // Without a configured key, hashes are stable only for this process's lifetime.
  return randomBytes(32);
}
