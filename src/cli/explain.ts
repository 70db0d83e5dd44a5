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
import { policyWithGrants } from '../session/grants.ts';
import { callApi, resolveConnection } from '../admin/client.ts';
import type { Grant } from '../store/types.ts';

/** Active time-boxed grants for the identity, from the running gateway's admin API (when one is reachable). */
async function activeGrants(flags: { admin?: string; token?: string; config?: string }, identity: string, upstream: string): Promise<{ grants: Grant[]; note: string }> {
  if (!flags.token && !process.env.SCOPEGATE_TOKEN) return { grants: [], note: 'grants: not checked (pass --token and --admin to include active time-boxed grants)' };
  try {
    const conn = resolveConnection(flags);
    const { grants } = await callApi<{ grants: Grant[] }>(conn, 'GET', '/api/grants?status=active');
    const now = Date.now();
    const mine = grants.filter((g) => g.identity === identity && (g.upstream === null || g.upstream === upstream) && g.expiresAt && Date.parse(g.expiresAt) > now);
    return { grants: mine, note: `grants: ${mine.length} active` };
  } catch (err) {
    return { grants: [], note: `grants: not checked (${(err as Error).message})` };
  }
}

export async function explainCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { config: { type: 'string', short: 'c' }, as: { type: 'string' }, db: { type: 'string' }, groups: { type: 'string' }, admin: { type: 'string' }, token: { type: 'string' } },
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
  const base = compileEffectivePolicy(config.policies, identity, upstreamName, upstream.detect);
  const { grants, note } = await activeGrants(values, identity.name, upstreamName);
  const policy = grants.length > 0 ? policyWithGrants(base, grants) : base;

  await initAnalysis();
  const password = upstream.password_env ? process.env[upstream.password_env] : undefined;
  const catalog = new Catalog({ ...parseUpstreamUrl(upstream.url), password });
  try {
    const analyzer = new StatementAnalyzer(catalog, parseUpstreamUrl(upstream.url).database, { maxSqlBytes: config.limits.max_sql_bytes });
    const analysis = await analyzer.analyze(sql, new Set());
    console.log(`identity: ${identity.name} (groups: ${groups.join(', ') || 'none'}); upstream: ${upstreamName}; policies: ${policy.policies.join(', ') || 'none'}`);
    console.log(note);
    for (const g of grants) console.log(`  grant ${g.id}: ${g.scopes.map((s) => `${s.privilege} ${s.objects.join(', ')}`).join('; ')} until ${g.expiresAt}`);
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
