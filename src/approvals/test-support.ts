// Test fixtures: a service over a throwaway embedded store, driven by a fake clock.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Identity } from '../policy/types.ts';
import { EmbeddedStore } from '../store/embedded.ts';
import type { Review } from '../store/types.ts';
import { ApprovalService, type ApprovalServiceOptions, type ReviewRequest } from './service.ts';
import { FakeClock } from './test-clock.ts';
import type { ApprovalEvent, ReviewSettings } from './types.ts';

export const reporter: Identity = { name: 'reporter', groups: ['reporting'], method: 'token' };
export const dana: Identity = { name: 'dana', groups: ['dba'], method: 'token' };
export const sam: Identity = { name: 'sam', groups: ['security'], method: 'token' };
/** An approver who also runs statements: can decide others' reviews, never their own. */
export const dora: Identity = { name: 'dora', groups: ['dba', 'reporting'], method: 'token' };

export const holdSettings: ReviewSettings = { mode: 'hold', timeoutS: 300, asyncTtlS: 900, approverGroups: [], webhooks: [] };
export const asyncSettings: ReviewSettings = { ...holdSettings, mode: 'async' };

export function reviewRequest(overrides: Partial<ReviewRequest> = {}): ReviewRequest {
  return {
    identity: reporter,
    upstream: 'corpus',
    session: 's1',
    sql: 'UPDATE analytics.quality_flags SET ok = $1 WHERE id = $2',
    params: ['true', '7'],
    reasons: ['policy "reporting": review update analytics.quality_flags'],
    settings: holdSettings,
    ...overrides,
  };
}

export interface Fixture {
  service: ApprovalService;
  store: EmbeddedStore;
  clock: FakeClock;
  events: ApprovalEvent[];
  notified: Review[];
  dir: string;
  /** Another service over the same store (as another process would be with a shared store). */
  sibling(): Promise<ApprovalService>;
  close(): Promise<void>;
}

export async function fixture(options: Partial<ApprovalServiceOptions> = {}): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'scopegate-approvals-'));
  const store = await EmbeddedStore.open(dir);
  const clock = new FakeClock();
  const events: ApprovalEvent[] = [];
  const notified: Review[] = [];
  const services: ApprovalService[] = [];
  const make = async (): Promise<ApprovalService> => {
    const s = new ApprovalService({
      store,
      approvals: { approver_groups: ['dba'], async_ttl_s: 900, max_grant_s: 8 * 3600 },
      clock,
      notifier: { notify: (review) => notified.push(review) },
      onEvent: (e) => events.push(e),
      ...options,
    });
    await s.start();
    services.push(s);
    return s;
  };
  const service = await make();
  return {
    service,
    store,
    clock,
    events,
    notified,
    dir,
    sibling: make,
    async close() {
      for (const s of services) await s.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
