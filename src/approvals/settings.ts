// Review settings for a verdict: the config's approvals: defaults merged with the review_settings
// of the policies whose review rules matched. When several policies are involved the strictest
// combination wins:
//   mode         hold if any policy (or the default it inherits) holds: an approval is then tied to
//                the live session and cannot be replayed later;
//   timeoutS     the shortest;
//   approvers    the union of the groups the policies name, so the owners of each policy can decide
//                (falls back to approvals.approver_groups when none names any); the requester can
//                never approve their own statement whatever their groups;
//   webhooks     every policy's webhook is notified (deduplicated);
//   asyncTtlS    approvals.async_ttl_s (not settable per policy).
import type { Config } from '../config/schema.ts';
import type { ReviewSettings, WebhookSettings } from './types.ts';

export function reviewSettingsFor(config: Config, policyNames: string[]): ReviewSettings {
  const defaults = config.approvals;
  const policies = config.policies.filter((p) => policyNames.includes(p.name));
  const settings: ReviewSettings = {
    mode: defaults.mode,
    timeoutS: defaults.timeout_s,
    asyncTtlS: defaults.async_ttl_s,
    approverGroups: [],
    webhooks: [],
  };
  if (policies.length === 0) return settings;
  const modes = policies.map((p) => p.review_settings?.mode ?? defaults.mode);
  settings.mode = modes.includes('hold') ? 'hold' : 'async';
  settings.timeoutS = Math.min(...policies.map((p) => p.review_settings?.timeout_s ?? defaults.timeout_s));
  const groups = new Set<string>();
  const hooks = new Map<string, WebhookSettings>();
  for (const p of policies) {
    for (const g of p.review_settings?.approver_groups ?? []) groups.add(g);
    const w = p.review_settings?.webhook;
    if (w) hooks.set(`${w.format} ${w.url} ${w.secret_env ?? ''}`, { url: w.url, format: w.format, ...(w.secret_env ? { secretEnv: w.secret_env } : {}) });
  }
  settings.approverGroups = [...groups];
  settings.webhooks = [...hooks.values()];
  return settings;
}

/** Every group that may decide something: approvals.approver_groups and each policy's approver_groups. */
export function allApproverGroups(config: Config): string[] {
  const groups = new Set(config.approvals.approver_groups);
  for (const p of config.policies) for (const g of p.review_settings?.approver_groups ?? []) groups.add(g);
  return [...groups];
}

/** The policy names behind review reasons, from Reason.rule texts written as `policy "NAME": review …`. */
export function reviewPolicyNames(rules: string[]): string[] {
  const names = new Set<string>();
  for (const rule of rules) {
    const m = /^policy (?:"([^"]+)"|([^:\s]+)): review /.exec(rule);
    if (m) names.add(m[1] ?? m[2]);
  }
  return [...names];
}
