import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../config/load.ts';
import { formatDuration, parseDuration } from './duration.ts';
import { allApproverGroups, reviewPolicyNames, reviewSettingsFor } from './settings.ts';

const config = parseConfig(`
upstreams: { corpus: { url: postgres://gw@127.0.0.1/corpus } }
approvals: { approver_groups: [dba], mode: async, timeout_s: 600, async_ttl_s: 120 }
policies:
  - name: plain
    for: { groups: [reporting] }
  - name: flags
    for: { groups: [reporting] }
    review_settings:
      timeout_s: 60
      approver_groups: [data-owners]
      webhook: { url: https://hooks.example/flags, secret_env: FLAGS_SECRET }
  - name: billing
    for: { groups: [reporting] }
    review_settings:
      mode: hold
      timeout_s: 900
      approver_groups: [finance, data-owners]
      webhook: { url: https://hooks.example/billing, format: slack }
  - name: same-hook
    for: { groups: [reporting] }
    review_settings:
      mode: async
      webhook: { url: https://hooks.example/flags, secret_env: FLAGS_SECRET }
`);

describe('review settings', () => {
  it('uses the approvals: defaults when no named policy sets anything', () => {
    assert.deepEqual(reviewSettingsFor(config, ['plain']), { mode: 'async', timeoutS: 600, asyncTtlS: 120, approverGroups: [], webhooks: [] });
    assert.deepEqual(reviewSettingsFor(config, []), { mode: 'async', timeoutS: 600, asyncTtlS: 120, approverGroups: [], webhooks: [] });
    assert.deepEqual(reviewSettingsFor(config, ['unknown']).timeoutS, 600);
  });

  it('takes a policy\'s own settings', () => {
    assert.deepEqual(reviewSettingsFor(config, ['flags']), {
      mode: 'async', timeoutS: 60, asyncTtlS: 120, approverGroups: ['data-owners'],
      webhooks: [{ url: 'https://hooks.example/flags', format: 'json', secretEnv: 'FLAGS_SECRET' }],
    });
  });

  it('merges several policies strictly: hold wins, shortest timeout, union of approvers, every webhook once', () => {
    const merged = reviewSettingsFor(config, ['flags', 'billing', 'same-hook', 'plain']);
    assert.equal(merged.mode, 'hold');
    assert.equal(merged.timeoutS, 60);
    assert.deepEqual(merged.approverGroups.sort(), ['data-owners', 'finance']);
    assert.deepEqual(merged.webhooks.map((w) => `${w.format} ${w.url}`).sort(), ['json https://hooks.example/flags', 'slack https://hooks.example/billing']);
  });

  it('lists every group that can approve anything', () => {
    assert.deepEqual(allApproverGroups(config).sort(), ['data-owners', 'dba', 'finance']);
  });

  it('finds the policies behind review reasons', () => {
    assert.deepEqual(
      reviewPolicyNames(['policy "flags": review update analytics.quality_flags', 'policy "reporting": allow read a.b', 'policy billing: review delete x.y', 'default deny']),
      ['flags', 'billing'],
    );
  });
});

describe('durations', () => {
  it('parses what people write and refuses the rest', () => {
    assert.equal(parseDuration('2h'), 7200);
    assert.equal(parseDuration('1h30m'), 5400);
    assert.equal(parseDuration('90'), 90);
    assert.equal(parseDuration(45), 45);
    assert.equal(parseDuration('1d'), 86400);
    for (const bad of ['', '0', '-5', '2 hours', 'h', '1.5h', 0, 1.5, -1]) assert.equal(parseDuration(bad), null, String(bad));
  });

  it('formats seconds for people', () => {
    assert.equal(formatDuration(7260), '2h 1m');
    assert.equal(formatDuration(45), '45s');
    assert.equal(formatDuration(0), '0s');
    assert.equal(formatDuration(90061), '1d 1h');
  });
});
