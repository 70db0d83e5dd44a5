// Compile the config's policies into an effective policy per (identity, upstream).
import type { Privilege, GuardrailRule } from '../analysis/types.ts';
import type { PolicyConfig, RuleConfig } from '../config/schema.ts';
import { compileGlob, normalizePattern, type ObjectMatcher } from './glob.ts';
import type { Decision, DetectorName, Identity, MaskStrategy } from './types.ts';

export interface CompiledRule {
  decision: Decision;
  privilege: Privilege;
  pattern: string;
  matches: ObjectMatcher;
  policy: string;
}

export interface EffectivePolicy {
  /** Names of the policies that apply, in config order. */
  policies: string[];
  rules: CompiledRule[];
  /** "schema.table.column" → strategy. */
  masks: Map<string, MaskStrategy>;
  /** "schema.table.column" → content detectors for that column. */
  detect: Map<string, DetectorName[]>;
  /** Detectors for every text column (the upstream's `detect:`). */
  detectAll: DetectorName[];
  liftedGuardrails: Set<GuardrailRule>;
  maskOracles: 'deny' | 'allow';
  /** Result rows to record per statement (largest of the applicable policies). */
  recordResults: number;
}

const decisions: Decision[] = ['deny', 'review', 'allow'];

export function policyApplies(p: PolicyConfig, identity: Identity, upstream: string): boolean {
  if (p.upstreams && !p.upstreams.includes(upstream)) return false;
  if (p.for.names?.includes(identity.name)) return true;
  return p.for.groups?.some((g) => identity.groups.includes(g)) ?? false;
}

export function compileEffectivePolicy(policies: PolicyConfig[], identity: Identity, upstream: string, detectAll: DetectorName[] = []): EffectivePolicy {
  const applicable = policies.filter((p) => policyApplies(p, identity, upstream));
  const rules: CompiledRule[] = [];
  const masks = new Map<string, MaskStrategy>();
  const lifted = new Set<GuardrailRule>();
  const detect = new Map<string, DetectorName[]>();
  let maskOracles: 'deny' | 'allow' = 'deny';
  let anyAllowsOracles = applicable.length > 0;
  for (const p of applicable) {
    for (const decision of decisions) {
      for (const r of p[decision] as RuleConfig[]) rules.push(...compileRule(r, decision, p.name));
    }
    for (const [column, strategy] of Object.entries(p.mask)) {
      const key = normalizePattern(column);
      const existing = masks.get(key);
      masks.set(key, existing ? stricter(existing, strategy) : strategy);
    }
    for (const [column, names] of Object.entries(p.detect)) {
      const key = normalizePattern(column);
      detect.set(key, [...new Set([...(detect.get(key) ?? []), ...names])]);
    }
    for (const g of p.guardrails.lift) lifted.add(g);
    if (p.mask_oracles !== 'allow') anyAllowsOracles = false;
  }
  if (anyAllowsOracles) maskOracles = 'allow';
  const recordResults = Math.max(0, ...applicable.map((p) => p.record_results));
  return { policies: applicable.map((p) => p.name), rules, masks, detect, detectAll: [...detectAll], liftedGuardrails: lifted, maskOracles, recordResults };
}

function compileRule(rule: RuleConfig, decision: Decision, policy: string): CompiledRule[] {
  const out: CompiledRule[] = [];
  for (const [privilege, patterns] of Object.entries(rule) as [Privilege, string[] | undefined][]) {
    for (const pattern of patterns ?? []) {
      out.push({ decision, privilege, pattern, matches: compileGlob(pattern), policy });
    }
  }
  return out;
}

const strictness: MaskStrategy[] = ['null', 'redact', 'hash', 'last4', 'email'];

/** Two policies mask the same column differently: the one that reveals less wins. */
export function stricter(a: MaskStrategy, b: MaskStrategy): MaskStrategy {
  return strictness.indexOf(a) <= strictness.indexOf(b) ? a : b;
}
