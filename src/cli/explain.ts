// `scopegate explain`: the verdict for a statement, with every reason.
import { parseArgs } from 'node:util';
import { loadConfigFile } from '../config/load.ts';
import { initAnalysis } from '../analysis/index.ts';
import { compileEffectivePolicy } from '../policy/compile.ts';
import { Catalog } from '../upstream/catalog.ts';
import { StatementAnalyzer } from '../session/analyzer.ts';
import { SessionRegistry } from '../session/registry.ts';
import { judgeQuery } from '../session/verdicts.ts';
import { parseUpstreamUrl } from '../upstream/connect.ts';

export async function explainCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { config: { type: 'string', short: 'c' }, as: { type: 'string' }, db: { type: 'string' }, groups: { type: 'string' } },
  });
  const sql = positionals.join(' ');
  if (!values.as || !sql) {
    console.error('usage: scopegate explain --config FILE --as NAME [--db UPSTREAM] "SQL"');
    return 64;
  }
  const { config } = loadConfigFile(values.config ?? 'scopegate.yaml');
  const upstreamName = values.db ?? Object.keys(config.upstreams)[0];
  const upstream = config.upstreams[upstreamName];
  if (!upstream) throw new Error(`no upstream named "${upstreamName}"`);
  const token = config.identities.tokens.find((t) => t.name === values.as);
  const groups = values.groups ? values.groups.split(',') : token?.groups ?? [];
  const identity = { name: values.as, groups, method: 'explain' };
  const policy = compileEffectivePolicy(config.policies, identity, upstreamName, upstream.detect);

  await initAnalysis();
  const password = upstream.password_env ? process.env[upstream.password_env] : undefined;
  const catalog = new Catalog({ ...parseUpstreamUrl(upstream.url), password });
  try {
    const analyzer = new StatementAnalyzer(catalog, parseUpstreamUrl(upstream.url).database, { maxSqlBytes: config.limits.max_sql_bytes });
    const analysis = await analyzer.analyze(sql, new Set());
    console.log(`identity: ${identity.name} (groups: ${groups.join(', ') || 'none'}); upstream: ${upstreamName}; policies: ${policy.policies.join(', ') || 'none'}`);
    if ('code' in analysis) {
      console.log(`verdict: DENY (cannot analyse: ${analysis.message})`);
      return 0;
    }
    const registry = new SessionRegistry(1000);
    const overall = judgeQuery(policy, analysis, registry);
    const verdicts = overall.statements;
    console.log(`verdict: ${overall.decision.toUpperCase()}`);
    analysis.statements.forEach((s, i) => {
      const v = verdicts[i];
      console.log(`\nstatement ${i + 1} (${s.kind}): ${s.sql.trim()}`);
      console.log(`  verdict: ${v.decision}`);
      for (const r of v.reasons) console.log(`  - ${r.decision.padEnd(6)} ${r.message}   [${r.rule}]`);
      if (v.masks?.some((m) => m)) {
        console.log('  masking plan:');
        s.output?.forEach((col, j) => {
          const rule = v.masks?.[j];
          if (!rule) return;
          const how = typeof rule === 'string' ? rule : `detect ${rule.detect.join(', ')}`;
          console.log(`    column ${j + 1} "${col.name}": ${how} (from ${col.sources.join(', ') || 'no source column'})`);
        });
      }
    });
    return 0;
  } finally {
    await catalog.close();
  }
}
