// Time-boxed grants widen a policy with allow rules until they expire.
// Deny and review rules still win: a grant cannot override an explicit deny.
import type { EffectivePolicy } from '../policy/compile.ts';
import { compileGlob } from '../policy/glob.ts';
import type { Grant } from '../store/types.ts';

const cache = new WeakMap<EffectivePolicy, { key: string; policy: EffectivePolicy }>();

export function policyWithGrants(base: EffectivePolicy, grants: readonly Grant[]): EffectivePolicy {
  const key = grants.map((g) => g.id).sort().join(',');
  const hit = cache.get(base);
  if (hit && hit.key === key) return hit.policy;
  const rules = [...base.rules];
  for (const g of grants) {
    for (const scope of g.scopes) {
      for (const pattern of scope.objects) {
        rules.push({ decision: 'allow', privilege: scope.privilege, pattern, matches: compileGlob(pattern), policy: `grant ${g.id}` });
      }
    }
  }
  const policy = { ...base, rules };
  cache.set(base, { key, policy });
  return policy;
}
