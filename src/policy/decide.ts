// decide(policy, analysis) → verdict. Pure: no I/O, no clock.
import { ROW_LOCK_VIA, type Action, type ColumnUse, type GuardrailHit, type OutputColumn, type StatementAnalysis } from '../analysis/types.ts';
import type { EffectivePolicy } from './compile.ts';
import { compileGlob } from './glob.ts';
import { guardrailMessage } from './guardrails.ts';
import { stricter } from './compile.ts';
import type { ColumnRule, Decision, DetectorName, MaskStrategy, QueryVerdict, Reason, StatementVerdict } from './types.ts';

/** Metadata reads every identity needs (drivers and tools read the catalogs); data catalogs are a guardrail. */
const builtinAllows: { privileges: string[]; matches: (o: string) => boolean; rule: string }[] = [
  { privileges: ['read'], matches: compileGlob('pg_catalog.*'), rule: 'built-in: catalog metadata' },
  { privileges: ['read'], matches: compileGlob('information_schema.*'), rule: 'built-in: catalog metadata' },
  { privileges: ['read', 'insert', 'update', 'delete'], matches: compileGlob('pg_temp.*'), rule: 'built-in: the session\'s own temporary tables' },
];

const rank: Record<Decision, number> = { allow: 0, review: 1, deny: 2 };

export function decideAction(policy: EffectivePolicy, action: Action): Reason {
  let best: Reason | undefined;
  for (const rule of policy.rules) {
    if (rule.privilege !== action.privilege || !rule.matches(action.object)) continue;
    if (best && rank[best.decision] >= rank[rule.decision]) continue;
    best = {
      decision: rule.decision,
      rule: `policy "${rule.policy}": ${rule.decision} ${rule.privilege} ${rule.pattern}`,
      privilege: action.privilege,
      object: action.object,
      via: action.via,
      message: actionMessage(action, rule.decision, `policy "${rule.policy}" (${rule.decision} ${rule.privilege} ${rule.pattern})`),
    };
  }
  if (best?.decision === 'review' && action.via === ROW_LOCK_VIA) {
    // A locking read needs UPDATE. Where updates are only reviewable it is refused outright: it writes
    // nothing a reviewer could judge, and holding it would hold the client's open transaction meanwhile.
    return { ...best, decision: 'deny', message: actionMessage(action, 'deny', `${best.rule}, and row locks are never held for review`) };
  }
  if (best) return best;
  const builtin = builtinAllows.find((b) => b.privileges.includes(action.privilege) && b.matches(action.object));
  if (builtin) {
    return { decision: 'allow', rule: builtin.rule, privilege: action.privilege, object: action.object, via: action.via, message: builtin.rule };
  }
  return {
    decision: 'deny',
    rule: 'default deny',
    privilege: action.privilege,
    object: action.object,
    via: action.via,
    message: actionMessage(action, 'deny', 'no rule allows it (default deny)'),
  };
}

function actionMessage(action: Action, decision: Decision, by: string): string {
  const what = `${action.privilege} on ${action.object}${action.via ? ` (${action.via})` : ''}`;
  if (decision === 'review') return `${what} requires review: ${by}`;
  if (decision === 'allow') return `${what} allowed by ${by}`;
  return `${what} denied: ${by}`;
}

export function decideGuardrail(policy: EffectivePolicy, hit: GuardrailHit): Reason {
  const lifted = hit.rule !== 'unanalysable' && policy.liftedGuardrails.has(hit.rule);
  return {
    decision: lifted ? 'allow' : 'deny',
    rule: lifted ? `guardrail ${hit.rule} (lifted by policy)` : `guardrail ${hit.rule}`,
    guardrail: hit.rule,
    message: lifted ? `guardrail ${hit.rule} lifted: ${hit.detail}` : guardrailMessage(hit),
  };
}

/**
 * An UPDATE or DELETE without a real condition is refused where the write would run
 * unreviewed. Where the policy holds every such write on that relation for review
 * anyway, it stays held: the reviewer judges the whole statement (policy.md §4).
 */
function unfilteredWriteUnderReview(policy: EffectivePolicy, stmt: StatementAnalysis, hit: GuardrailHit): Reason | null {
  if (hit.rule !== 'unfiltered-write' || !hit.object) return null;
  const writes = stmt.actions.filter((a) => a.object === hit.object && (a.privilege === 'update' || a.privilege === 'delete'));
  if (writes.length === 0 || !writes.every((a) => decideAction(policy, a).decision === 'review')) return null;
  return {
    decision: 'review',
    rule: 'guardrail unfiltered-write (the write itself requires review)',
    guardrail: hit.rule,
    message: `${hit.detail}: every row may be written, so it is held for review like any write on ${hit.object}`,
  };
}

const oracleContexts = new Set(['predicate', 'order', 'group', 'fallible']);

const ORACLE_WHERE: Record<string, string> = {
  predicate: 'a predicate (WHERE, JOIN, HAVING, FILTER, CASE, LIMIT)',
  order: 'ORDER BY',
  group: 'GROUP BY / DISTINCT / PARTITION BY / UNION',
  fallible: 'an operation that can fail on some values (arithmetic, a cast to a non-text type, a function not known to accept every value)',
};

function decideUse(policy: EffectivePolicy, use: ColumnUse): Reason | null {
  if (!policy.masks.has(use.column)) return null;
  if (use.context === 'write') {
    return {
      decision: 'deny',
      rule: 'masking: masked values may not be copied into tables',
      object: use.column,
      message: `masked column ${use.column} written into a table: denied (masked values may not be copied)`,
    };
  }
  if (oracleContexts.has(use.context) && policy.maskOracles === 'deny') {
    const where = ORACLE_WHERE[use.context];
    return {
      decision: 'deny',
      rule: 'masking: masked columns are not usable as oracles',
      object: use.column,
      message: `masked column ${use.column} used in ${where}: denied because it would reveal masked values`,
    };
  }
  return null;
}

export function outputMasks(policy: EffectivePolicy, output: OutputColumn[] | null): { masks: (ColumnRule | null)[] | null; masked: string[] } {
  if (!output) return { masks: null, masked: [] };
  const masked = new Set<string>();
  const masks = output.map((col) => {
    let strategy: MaskStrategy | null = null;
    for (const source of col.sources) {
      const s = policy.masks.get(source);
      if (!s) continue;
      masked.add(source);
      strategy = strategy ? stricter(strategy, s) : s;
    }
    if (strategy && !col.direct) strategy = strategy === 'null' ? 'null' : 'redact';
    if (strategy) return strategy;
    return detectorsFor(policy, col);
  });
  // An all-null plan is kept while the policy masks anything: the relay then checks its length against the
  // result's columns (and masks everything on a mismatch). With nothing maskable, results pass untouched.
  const maskable = policy.masks.size > 0 || policy.detect.size > 0 || policy.detectAll.length > 0;
  return { masks: maskable || masks.some((m) => m !== null) ? masks : null, masked: [...masked] };
}

function detectorsFor(policy: EffectivePolicy, col: OutputColumn): ColumnRule | null {
  if (policy.detect.size === 0 && policy.detectAll.length === 0) return null;
  const names = new Set<DetectorName>(policy.detectAll);
  for (const source of col.sources) for (const d of policy.detect.get(source) ?? []) names.add(d);
  return names.size > 0 ? { detect: [...names] } : null;
}

export function decideStatement(policy: EffectivePolicy, stmt: StatementAnalysis): StatementVerdict {
  const reasons: Reason[] = [];
  for (const hit of stmt.guardrails) reasons.push(unfilteredWriteUnderReview(policy, stmt, hit) ?? decideGuardrail(policy, hit));
  for (const action of stmt.actions) reasons.push(decideAction(policy, action));
  for (const use of stmt.uses) {
    const r = decideUse(policy, use);
    if (r) reasons.push(r);
  }
  for (const name of stmt.catalogNames ?? []) {
    const r = decideCatalogName(policy, name);
    if (r) reasons.push(r);
  }
  if (stmt.catalogUnnarrowed) {
    const r = decideUnnarrowedCatalog(policy, stmt.catalogUnnarrowed);
    if (r) reasons.push(r);
  }
  let decision: Decision = 'allow';
  for (const r of reasons) if (rank[r.decision] > rank[decision]) decision = r.decision;
  const { masks, masked } = outputMasks(policy, stmt.output);
  const touchesMasked =
    masked.length > 0 || stmt.uses.some((u) => policy.masks.has(u.column)) || (stmt.output?.some((c) => c.sources.some((s) => policy.masks.has(s))) ?? false);
  return { decision, reasons, masks, maskedColumns: masked, touchesMasked };
}

/** A metadata query that names an object the identity may not read (e.g. WHERE nspname = 'billing'). */
function decideCatalogName(policy: EffectivePolicy, name: string): Reason | null {
  const probe = name.includes('.') ? name : `${name}.*`;
  const hit = policy.rules.find(
    (r) => r.decision === 'deny' && r.privilege === 'read' && (r.matches(probe) || r.pattern.toLowerCase() === probe || patternSchema(r.pattern) === name),
  );
  if (!hit) return null;
  return {
    decision: 'deny',
    rule: `policy "${hit.policy}": deny read ${hit.pattern} (catalog metadata)`,
    privilege: 'read',
    object: name,
    via: 'system catalog query',
    message: `catalog query about '${name}' denied: policy "${hit.policy}" (deny read ${hit.pattern})`,
  };
}

/**
 * A catalog read that could list every object: refused when a deny rule hides
 * some objects, since their names would be listed with the rest.
 */
function decideUnnarrowedCatalog(policy: EffectivePolicy, what: string): Reason | null {
  const hit = policy.rules.find((r) => r.decision === 'deny' && r.privilege === 'read' && !SYSTEM_PATTERN.test(r.pattern));
  if (!hit) return null;
  return {
    decision: 'deny',
    rule: `policy "${hit.policy}": deny read ${hit.pattern} (catalog metadata)`,
    privilege: 'read',
    object: what,
    via: 'system catalog query',
    message:
      `catalog query reads ${what} without narrowing it to a schema or table name, so it would list objects ` +
      `policy "${hit.policy}" hides (deny read ${hit.pattern}); filter by name, e.g. WHERE table_schema = 'public'`,
  };
}

const SYSTEM_PATTERN = /^(pg_catalog|information_schema)\./i;

function patternSchema(pattern: string): string {
  return pattern.toLowerCase().split('.')[0];
}

export function combine(statements: StatementVerdict[]): QueryVerdict {
  let decision: Decision = 'allow';
  let decisive: Reason | undefined;
  for (const s of statements) {
    for (const r of s.reasons) {
      if (rank[r.decision] > rank[decision]) {
        decision = r.decision;
        decisive = r;
      }
    }
  }
  return { decision, statements, decisive };
}
