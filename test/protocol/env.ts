// The environment of the wire-level corpus: the shared throwaway cluster, the
// corpus database (template + reset, from test/corpus/database.ts), one real
// gateway started with test/corpus/corpus.yaml exactly as test/corpus.test.ts
// does, and helpers to open raw-protocol sessions as each identity.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { sharedCluster, type Cluster } from '../harness/cluster.ts';
import { makeToken, REPO_ROOT, startGateway, type Gateway, type Token } from '../harness/gateway.ts';
import { corpusDir, loadCases, type Case, type Identity } from '../corpus/cases.ts';
import { CorpusDatabase, GW_ROLE } from '../corpus/database.ts';
import { CORPUS_DB } from '../corpus/fingerprint.ts';
import { RawValues } from '../corpus/raw-values.ts';
import { encodeQuery } from '../../src/protocol/index.ts';
import { WireClient } from './wire-client.ts';

export const IDENTITIES: Identity[] = ['reporter', 'dq-agent', 'coder'];

export interface ProtoEnv {
  cluster: Cluster;
  db: CorpusDatabase;
  gateway: Gateway;
  tokens: Record<Identity, Token>;
  raw: RawValues;
  cases: Case[];
  corpusDir: string;
  /** Opens an authenticated raw session as identity (extra startup params allowed). */
  open(identity: Identity, extra?: Record<string, string>): Promise<WireClient>;
  /** Opens a TCP connection to the gateway without any handshake. */
  connect(framing?: boolean): Promise<WireClient>;
  startupParams(identity: Identity, extra?: Record<string, string>): Record<string, string>;
  /** True when a fresh reporter session answers `SELECT 1` within 5 s. */
  healthy(): Promise<boolean>;
  /** Starts a new gateway (same config and tokens) after a crash. */
  restartGateway(): Promise<void>;
  stop(): Promise<void>;
}

/** test/corpus/corpus.yaml with the same placeholders filled as in test/corpus.test.ts. */
function corpusConfig(upstreamUrl: string, tokens: Record<Identity, Token>): string {
  return readFileSync(process.env.SCOPEGATE_CORPUS_CONFIG || path.join(REPO_ROOT, 'test', 'corpus', 'corpus.yaml'), 'utf8')
    .replaceAll('{{UPSTREAM_URL}}', upstreamUrl)
    .replaceAll('{{REPORTER_SHA256}}', tokens.reporter.sha256)
    .replaceAll('{{DQ_AGENT_SHA256}}', tokens['dq-agent'].sha256)
    .replaceAll('{{CODER_SHA256}}', tokens.coder.sha256);
}

export async function setupEnv(): Promise<ProtoEnv> {
  const dir = corpusDir();
  // Our own cases too (test/corpus/own-cases.jsonl), unless another corpus directory was given.
  const own = process.env.SCOPEGATE_CORPUS_DIR ? [] : loadCases(path.join(REPO_ROOT, 'test', 'corpus'), 'own-cases.jsonl');
  const cases = [...loadCases(dir), ...own];
  const cluster = await sharedCluster();
  const db = await CorpusDatabase.setup(cluster, path.join(dir, 'fixture.sql'));
  const tokens = Object.fromEntries(IDENTITIES.map((i) => [i, makeToken(i)])) as Record<Identity, Token>;
  const upstreamUrl = `postgres://${GW_ROLE}@${cluster.host}:${cluster.port}/${CORPUS_DB}`;
  const configYaml = corpusConfig(upstreamUrl, tokens);
  const start = (): Promise<Gateway> => startGateway({ configYaml, env: { CORPUS_DB_PASSWORD: db.gatewayPassword } });
  const startupParams = (identity: Identity, extra: Record<string, string> = {}): Record<string, string> => ({
    user: identity,
    database: CORPUS_DB,
    client_encoding: 'UTF8',
    application_name: 'protocol-corpus',
    ...extra,
  });
  const env: ProtoEnv = {
    cluster,
    db,
    gateway: await start(),
    tokens,
    raw: new RawValues(cluster),
    cases,
    corpusDir: dir,
    startupParams,
    open: (identity, extra) => WireClient.open(env.gateway.host, env.gateway.port, startupParams(identity, extra), tokens[identity].token),
    connect: (framing = true) => WireClient.connect(env.gateway.host, env.gateway.port, { framing }),
    async healthy() {
      try {
        const c = await WireClient.connect(env.gateway.host, env.gateway.port, { timeoutMs: 3_000 });
        const s = await c.startup(startupParams('reporter'), tokens.reporter.token, 5_000);
        if (!s.ok) {
          c.destroy();
          return false;
        }
        const r = await c.exchange(encodeQuery('SELECT 1'), { timeoutMs: 5_000 });
        c.end();
        return r.messages.some((m) => m.msg?.type === 'DataRow' && m.msg.values[0]?.toString() === '1');
      } catch {
        return false;
      }
    },
    async restartGateway() {
      const old = env.gateway;
      process.stdout.write(`--- gateway output before restart (last 3000 chars) ---\n${old.logs().slice(-3000)}\n`);
      await old.stop().catch(() => undefined);
      env.gateway = await start();
    },
    async stop() {
      await env.gateway.stop();
    },
  };
  return env;
}
