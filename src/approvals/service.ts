// Reviews: a statement the policy sends for review is recorded as pending, waited on (hold mode)
// or re-sent after approval (async mode), and decided once by an approver. Grants: see grants.ts.
import type { Identity } from '../policy/types.ts';
import type { Review, ReviewFilter, ReviewStatus, Store, StoreChange } from '../store/types.ts';
import { checkMayDecide } from './access.ts';
import { GrantBook, type GrantRequest } from './grants.ts';
import { newId as randomId, type IdKind } from './ids.ts';
import { iso, notPending, outcomeOf, sameParams, timeoutReason } from './outcome.ts';
import {
  ApprovalError,
  systemClock,
  type ApprovalEvent,
  type Clock,
  type Grant,
  type ReviewNotifier,
  type ReviewOutcome,
  type ReviewSettings,
  type TimerHandle,
} from './types.ts';

export interface ApprovalServiceOptions {
  store: Store;
  /** The config's `approvals:` section. */
  approvals: { approver_groups: string[]; async_ttl_s: number; max_grant_s: number };
  /** Upstream names grants may name; unchecked when absent. */
  upstreams?: string[];
  clock?: Clock;
  newId?: (kind: IdKind) => string;
  notifier?: ReviewNotifier;
  onEvent?: (event: ApprovalEvent) => void;
  /** How often expired reviews and grants are marked in the store (default 5 s). */
  sweepIntervalMs?: number;
}

export interface ReviewRequest {
  identity: Identity;
  upstream: string;
  session: string;
  sql: string;
  params: (string | null)[] | null;
  reasons: string[];
  settings: ReviewSettings;
}

export interface ConsumeRequest {
  /** The identity, or its name. */
  identity: Identity | string;
  upstream: string;
  sql: string;
  params: (string | null)[] | null;
}

type Waiter = (review: Review) => void;

export class ApprovalService {
  readonly grants: GrantBook;
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly newId: (kind: IdKind) => string;
  private readonly waiters = new Map<string, Set<Waiter>>();
  private unsubscribe: (() => void) | null = null;
  private sweepTimer: TimerHandle | null = null;
  private closed = false;

  constructor(private readonly opts: ApprovalServiceOptions) {
    this.store = opts.store;
    this.clock = opts.clock ?? systemClock;
    this.newId = opts.newId ?? randomId;
    this.grants = new GrantBook({ ...opts, clock: this.clock, newId: this.newId, emit: (e) => this.emit(e) });
  }

  /** Loads the active grants, follows store changes and starts the expiry sweep. */
  async start(): Promise<void> {
    this.unsubscribe = this.store.onChange((change) => this.onStoreChange(change));
    await this.grants.load();
    this.armSweep();
  }

  /** Stops timers and listeners; statements still held are released as expired. */
  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe?.();
    if (this.sweepTimer !== null) this.clock.clearTimeout(this.sweepTimer);
    await Promise.all([...this.waiters.keys()].map((id) => this.finishAs(id, 'expired', 'gateway shutting down', 'scopegate')));
  }

  async request(req: ReviewRequest): Promise<Review> {
    const now = this.clock.now();
    const { settings } = req;
    const review: Review = {
      id: this.newId('rv'),
      status: 'pending',
      identity: req.identity.name,
      groups: [...req.identity.groups],
      upstream: req.upstream,
      session: req.session,
      sql: req.sql,
      params: req.params ? [...req.params] : null,
      reasons: [...req.reasons],
      mode: settings.mode,
      approverGroups: [...settings.approverGroups],
      ...(settings.mode === 'async' ? { asyncTtlS: settings.asyncTtlS } : {}),
      createdAt: iso(now),
      expiresAt: iso(now + settings.timeoutS * 1000),
    };
    await this.store.createReview(review);
    this.emit({
      type: 'review_requested', id: review.id, identity: review.identity, upstream: review.upstream, session: review.session,
      sql: review.sql, reasons: review.reasons, mode: review.mode, expiresAt: review.expiresAt, at: review.createdAt,
    });
    try {
      this.opts.notifier?.notify(review, settings);
    } catch {
      // notifying is best effort and never fails the request
    }
    return review;
  }

  /**
   * Resolves when the review is decided (here or by another replica), times out, or `signal`
   * aborts (withdrawn). If a decision races the abort, the stored outcome wins: a caller whose
   * signal aborted must not run the statement whatever the outcome.
   */
  async wait(id: string, signal?: AbortSignal): Promise<ReviewOutcome> {
    const first = await this.getOrThrow(id);
    if (first.status !== 'pending') return outcomeOf(first);
    return new Promise<ReviewOutcome>((resolve) => {
      let timer: TimerHandle | null = null;
      const waiters = this.waiters.get(id) ?? new Set<Waiter>();
      this.waiters.set(id, waiters);
      const onAbort = (): void => {
        const reason = typeof signal?.reason === 'string' ? signal.reason : 'client cancelled or disconnected';
        void this.finishAs(id, 'withdrawn', reason, first.identity);
      };
      const settle: Waiter = (review) => {
        if (timer !== null) this.clock.clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        waiters.delete(settle);
        if (waiters.size === 0 && this.waiters.get(id) === waiters) this.waiters.delete(id);
        resolve(outcomeOf(review));
      };
      waiters.add(settle);
      const expiresAt = Date.parse(first.expiresAt);
      const arm = (): void => {
        timer = this.clock.setTimeout(() => {
          if (this.clock.now() < expiresAt) return arm();
          void this.finishAs(id, 'expired', timeoutReason(first), 'scopegate');
        }, expiresAt - this.clock.now());
      };
      arm();
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
      if (this.closed) void this.finishAs(id, 'expired', 'gateway shutting down', 'scopegate');
      else void this.recheck(id); // a decision may have landed before we subscribed
    });
  }

  /** Approve or deny a pending review, once. */
  async decide(id: string, approver: Identity, decision: 'approve' | 'deny', reason?: string): Promise<Review> {
    const review = await this.getOrThrow(id);
    if (review.status !== 'pending') throw notPending(review);
    const groups = review.approverGroups.length > 0 ? review.approverGroups : this.opts.approvals.approver_groups;
    checkMayDecide(approver, review.identity, groups, decision, 'statement');
    if (this.clock.now() >= Date.parse(review.expiresAt)) {
      const expired = await this.finishAs(id, 'expired', timeoutReason(review), 'scopegate');
      throw notPending(expired ?? review);
    }
    const status = decision === 'approve' ? 'approved' : 'denied';
    const at = iso(this.clock.now());
    const patch: Partial<Review> = { status, decidedAt: at, decidedBy: approver.name, ...(reason ? { reason } : {}) };
    const updated = await this.store.updateReview(id, 'pending', patch);
    if (!updated) throw notPending((await this.store.getReview(id)) ?? review);
    this.emit({ type: 'review_decided', id, identity: updated.identity, upstream: updated.upstream, status, by: approver.name, ...(reason ? { reason } : {}), at });
    this.notifyWaiters(updated);
    return updated;
  }

  /** Async mode: the approval of exactly this statement, marked consumed; null when there is none (or it was used). */
  async consumeApproved(req: ConsumeRequest): Promise<Review | null> {
    const now = this.clock.now();
    const name = typeof req.identity === 'string' ? req.identity : req.identity.name;
    const candidates = (await this.store.listReviews({ status: 'approved', identity: name }))
      .filter((r) => r.mode === 'async' && r.upstream === req.upstream && r.sql === req.sql && sameParams(r.params, req.params))
      .filter((r) => r.decidedAt !== undefined && Date.parse(r.decidedAt) + (r.asyncTtlS ?? this.opts.approvals.async_ttl_s) * 1000 > now)
      .reverse(); // oldest approval first
    for (const candidate of candidates) {
      const at = iso(now);
      const consumed = await this.store.updateReview(candidate.id, 'approved', { status: 'consumed' });
      if (!consumed) continue; // another session used it first
      this.emit({ type: 'review_decided', id: consumed.id, identity: consumed.identity, upstream: consumed.upstream, status: 'consumed', by: name, at });
      return consumed;
    }
    return null;
  }

  /** At start: held (hold-mode) reviews left pending by a previous run can never run; mark them expired. */
  async expirePending(reason = 'gateway restarted while the statement was held'): Promise<number> {
    let count = 0;
    for (const review of await this.store.listReviews({ status: 'pending' })) {
      if (review.mode !== 'hold') continue;
      if (await this.finishAs(review.id, 'expired', reason, 'scopegate')) count++;
    }
    return count;
  }

  getReview(id: string): Promise<Review | null> {
    return this.store.getReview(id);
  }

  listReviews(filter?: ReviewFilter): Promise<Review[]> {
    return this.store.listReviews(filter);
  }

  requestGrant(req: GrantRequest): Promise<Grant> {
    return this.grants.request(req);
  }

  decideGrant(id: string, approver: Identity, decision: 'approve' | 'deny', reason?: string): Promise<Grant> {
    return this.grants.decide(id, approver, decision, reason);
  }

  revokeGrant(id: string, by: Identity, reason?: string): Promise<Grant> {
    return this.grants.revoke(id, by, reason);
  }

  /** Synchronous: the grants in force now for this identity on this upstream. */
  activeGrants(identity: string, upstream: string): readonly Grant[] {
    return this.grants.active(identity, upstream);
  }

  /** Marks overdue pending reviews and grants as expired (also run periodically after start()). */
  async sweep(): Promise<void> {
    const now = this.clock.now();
    for (const review of await this.store.listReviews({ status: 'pending' })) {
      if (Date.parse(review.expiresAt) <= now) await this.finishAs(review.id, 'expired', timeoutReason(review), 'scopegate');
    }
    await this.grants.sweep();
  }

  private armSweep(): void {
    if (this.closed) return;
    this.sweepTimer = this.clock.setTimeout(() => {
      this.sweep()
        .catch(() => undefined)
        .finally(() => this.armSweep());
    }, this.opts.sweepIntervalMs ?? 5000);
  }

  /** Moves a pending review to a final status; returns the stored review either way (null if unknown). */
  private async finishAs(id: string, status: 'expired' | 'withdrawn', reason: string, by: string): Promise<Review | null> {
    const at = iso(this.clock.now());
    let review = await this.store.updateReview(id, 'pending', { status, reason, decidedAt: at, decidedBy: by });
    if (review) this.emit({ type: 'review_decided', id, identity: review.identity, upstream: review.upstream, status, by, reason, at });
    else review = await this.store.getReview(id);
    if (review) this.notifyWaiters(review);
    return review;
  }

  private onStoreChange(change: StoreChange): void {
    if (change.kind === 'grant') this.grants.changed(change.id);
    else if (this.waiters.has(change.id)) void this.recheck(change.id);
  }

  private async recheck(id: string): Promise<void> {
    const review = await this.store.getReview(id).catch(() => null);
    if (review) this.notifyWaiters(review);
  }

  private notifyWaiters(review: Review): void {
    if (review.status === 'pending') return;
    for (const settle of [...(this.waiters.get(review.id) ?? [])]) settle(review);
  }

  private async getOrThrow(id: string): Promise<Review> {
    const review = await this.store.getReview(id);
    if (!review) throw new ApprovalError('not-found', `no review ${id}`);
    return review;
  }

  private emit(event: ApprovalEvent): void {
    try {
      this.opts.onEvent?.(event);
    } catch {
      // the audit sink reports its own failures
    }
  }
}

export type { ReviewStatus };
