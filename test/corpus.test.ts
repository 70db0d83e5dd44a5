// The adversarial corpus (../shared/corpus) run end to end through the real
// gateway, with psql and with node-postgres, scored per policy.md §6; then our
// own cases (test/corpus/own-cases.jsonl: the same rules spelled other ways,
// on the same fixture), reported apart and asserted the same way.
//
//   SCOPEGATE_CORPUS_REPORT_ONLY=1  report, do not assert
//   SCOPEGATE_CORPUS_ONLY=<regex>   run only the cases whose id matches
//   SCOPEGATE_CORPUS_VERBOSE=1      print one line per run
//   SCOPEGATE_CORPUS_DUMP=<dir>     write every run's received bytes there
//   SCOPEGATE_CORPUS_CONFIG=<file>  use another config template than test/corpus/corpus.yaml
//   SCOPEGATE_CORPUS_SEED=<n>       the order the cases run in (printed with the report; random otherwise)
//
// Cases run in a shuffled order against one gateway, so its caches (analyses
// shared by statement shape, verdicts) are warmed by whichever case came
// before: a harmful case must not pass because a harmless twin primed them.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { findLeak } from '../src/masking/leak-forms.ts';
import { sharedCluster } from './harness/cluster.ts';
import { GATEWAY_BIN, makeToken, REPO_ROOT, startGateway, type Gateway, type Token } from './harness/gateway.ts';
import { startRecorder, type Recorder } from './harness/recorder.ts';
import { corpusDir, loadCases, type Identity } from './corpus/cases.ts';
import { CorpusDatabase, GW_ROLE } from './corpus/database.ts';
import { CORPUS_DB } from './corpus/fingerprint.ts';
import { buildReport, formatReport, type KnownGaps } from './corpus/report.ts';
import { runCases } from './corpus/runner.ts';
import { seededRandom } from '../src/testing/seeded-random.ts';

const HERE = path.join(REPO_ROOT, 'test', 'corpus');
const REPORT_ONLY = process.env.SCOPEGATE_CORPUS_REPORT_ONLY === '1';
const IDENTITIES: Identity[] = ['reporter', 'dq-agent', 'coder'];

/** Fills test/corpus/corpus.yaml's placeholders (the gateway harness fills {{PORT}} and {{DIR}}). */
function corpusConfig(upstreamUrl: string, tokens: Record<Identity, Token>): string {
  return readFileSync(process.env.SCOPEGATE_CORPUS_CONFIG || path.join(HERE, 'corpus.yaml'), 'utf8')
    .replaceAll('{{UPSTREAM_URL}}', upstreamUrl)
    .replaceAll('{{REPORTER_SHA256}}', tokens.reporter.sha256)
    .replaceAll('{{DQ_AGENT_SHA256}}', tokens['dq-agent'].sha256)
    .replaceAll('{{CODER_SHA256}}', tokens.coder.sha256);
}

test('the adversarial corpus through the gateway: legit cases pass, nothing leaks, only known gaps fail', { timeout: 30 * 60_000 }, async (t) => {
  if (!existsSync(GATEWAY_BIN)) {
    t.skip(`${path.relative(REPO_ROOT, GATEWAY_BIN)} does not exist yet`);
    return;
  }
  const dir = corpusDir();
  const only = process.env.SCOPEGATE_CORPUS_ONLY ? new RegExp(process.env.SCOPEGATE_CORPUS_ONLY) : undefined;
  const shared = loadCases(dir).filter((c) => !only || only.test(c.id));
  // Our own cases: the same rules spelled other ways (the shared corpus is a sample of what is measured).
  const own = process.env.SCOPEGATE_CORPUS_DIR ? [] : loadCases(HERE, 'own-cases.jsonl').filter((c) => !only || only.test(c.id));
  const seed = Number(process.env.SCOPEGATE_CORPUS_SEED || Math.floor(Math.random() * 2 ** 31));
  const cases = shuffled([...shared, ...own], seed);
  const knownGaps = JSON.parse(readFileSync(path.join(HERE, 'known-gaps.json'), 'utf8')) as KnownGaps;

  const cluster = await sharedCluster();
  const db = await CorpusDatabase.setup(cluster, path.join(dir, 'fixture.sql'));
  const tokens = Object.fromEntries(IDENTITIES.map((i) => [i, makeToken(i)])) as Record<Identity, Token>;
  const upstreamUrl = `postgres://${GW_ROLE}@${cluster.host}:${cluster.port}/${CORPUS_DB}`;

  let gateway: Gateway | undefined;
  let recorder: Recorder | undefined;
  try {
    gateway = await startGateway({ configYaml: corpusConfig(upstreamUrl, tokens), env: { CORPUS_DB_PASSWORD: db.gatewayPassword } });
    recorder = await startRecorder(gateway);
    const started = Date.now();
    const results = await runCases(cases, {
      cluster,
      db,
      endpoint: { host: gateway.host, port: gateway.port, database: CORPUS_DB },
      recorder,
      credentials: (identity) => ({ user: identity, password: tokens[identity].token }),
      findLeak,
      dumpDir: process.env.SCOPEGATE_CORPUS_DUMP || undefined,
      log: process.env.SCOPEGATE_CORPUS_VERBOSE === '1' ? (l) => process.stdout.write(`${l}\n`) : undefined,
    });
    const ownIds = new Set(own.map((c) => c.id));
    const parts = [
      { label: `shared corpus (${shared.length} cases)`, file: 'last-report.json', results: results.filter((r) => !ownIds.has(r.id)) },
      { label: `own cases, test/corpus/own-cases.jsonl (${own.length})`, file: 'last-report-own.json', results: results.filter((r) => ownIds.has(r.id)) },
    ].filter((p) => p.results.length > 0);
    const reports = parts.map((p) => ({ ...p, report: buildReport(p.results, knownGaps) }));
    for (const { label, file, report } of reports) {
      writeFileSync(path.join(HERE, file), JSON.stringify(report, null, 2) + '\n');
      process.stdout.write(`\n${label}\n${formatReport(report)}\n`);
    }
    process.stdout.write(`\n${results.length} runs in ${Math.round((Date.now() - started) / 1000)} s in the order of SCOPEGATE_CORPUS_SEED=${seed}; reports in test/corpus/last-report*.json\n`);

    if (REPORT_ONLY) return;
    for (const { report } of reports) {
      const v = report.verdicts;
      assert.deepEqual(v.legitFailures, [], 'every legit case must pass on both transports');
      assert.deepEqual(v.leaks, [], 'no raw value of a leak column may reach the client');
      assert.deepEqual(v.unexpectedFailures, [], 'cases failing that are not listed in test/corpus/known-gaps.json');
    }
  } catch (e) {
    if (gateway && !(e instanceof assert.AssertionError)) process.stdout.write(`--- gateway output (last 4000 chars) ---\n${gateway.logs().slice(-4000)}\n`);
    throw e;
  } finally {
    await recorder?.close();
    await gateway?.stop();
  }
});

/** Fisher–Yates with a repeatable source: the same seed gives the same order. */
function shuffled<T>(items: T[], seed: number): T[] {
  const rand = seededRandom(seed);
  for (let i = items.length - 1; i > 0; i--) {
    const j = rand(i + 1);
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}
