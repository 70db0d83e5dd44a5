// Time-boxed grants: an identity asks for extra scopes for a while, an approver approves, and the
// grant is in force until it expires or is revoked. The active ones are cached in memory so the
// session can ask synchronously; the cache follows store changes and the clock.
import { privilegeNames } from '../config/schema.ts';
import type { Identity } from '../policy/types.ts';
import type { GrantFilter, GrantScope, GrantStatus, Store } from '../store/types.ts';
import { checkMayDecide, isApprover } from './access.ts';
import type { IdKind } from './ids.ts';
import { iso } from './outcome.ts';
import { ApprovalError, type ApprovalEvent, type Clock, type Grant } from './types.ts';

export interface GrantRequest {
  identity: Identity;
  /** null: every upstream. */
  upstream: string | null;
  scopes: GrantScope[];
  durationS: number;
  justification: string;
}

export interface GrantBookOptions {
  store: Store;
  approvals: { approver_groups: string[]; max_grant_s: number };
  upstreams?: string[];
  clock: Clock;
  newId: (kind: IdKind) => string;
  emit: (event: ApprovalEvent) => void;
}

const objectPattern = /^[A-Za-z0-9_$*.\-"]+$/;
const NO_GRANTS: readonly Grant[] = Object.freeze([]);

export class GrantBook {
  /** Active grants by id (frozen values); an entry past its expiresAt is ignored and swept later. */
  private readonly cache = new Map<string, Grant>();
  /** Latest refresh per id, so a slow store read cannot overwrite a newer one. */
  private readonly refreshes = new Map<string, number>();
  private refreshSeq = 0;

  constructor(private readonly opts: GrantBookOptions) {}

  async load(): Promise<void> {
    for (const grant of await this.opts.store.listGrants({ status: 'active' })) this.remember(grant);
  }

  async request(req: GrantRequest): Promise<Grant> {
    const scopes = validScopes(req.scopes);
    if (!Number.isInteger(req.durationS) || req.durationS <= 0) throw invalid('duration must be a positive number of seconds');
    const justification = req.justification?.trim() ?? '';
    if (!justification) throw invalid('a justification is required');
    if (justification.length > 2000) throw invalid('the justification is longer than 2000 characters');
    if (req.upstream !== null && this.opts.upstreams && !this.opts.upstreams.includes(req.upstream)) {
      throw invalid(`no upstream named "${req.upstream}"`);
    }
    const now = this.opts.clock.now();
    const grant: Grant = {
      id: this.opts.newId('gr'),
      status: 'requested',
      identity: req.identity.name,
      upstream: req.upstream,
      scopes,
      durationS: Math.min(req.durationS, this.opts.approvals.max_grant_s),
      justification,
      requestedAt: iso(now),
    };
    await this.opts.store.createGrant(grant);
    this.opts.emit({
      type: 'grant_requested', id: grant.id, identity: grant.identity, upstream: grant.upstream, scopes: grant.scopes,
      durationS: grant.durationS, justification: grant.justification, at: grant.requestedAt,
    });
    return grant;
  }

  async decide(id: string, approver: Identity, decision: 'approve' | 'deny', reason?: string): Promise<Grant> {
    const grant = await this.getOrThrow(id);
    if (grant.status !== 'requested') throw notRequested(grant);
    checkMayDecide(approver, grant.identity, this.opts.approvals.approver_groups, decision, 'grant');
    const now = this.opts.clock.now();
    const patch: Partial<Grant> =
      decision === 'approve'
        ? { status: 'active', decidedAt: iso(now), decidedBy: approver.name, expiresAt: iso(now + grant.durationS * 1000) }
        : { status: 'denied', decidedAt: iso(now), decidedBy: approver.name };
    if (reason) patch.reason = reason;
    return this.transition(grant, 'requested', patch, approver.name);
  }

  /** An approver may revoke any grant; the holder may give up (revoke) their own. */
  async revoke(id: string, by: Identity, reason?: string): Promise<Grant> {
    const grant = await this.getOrThrow(id);
    if (grant.status !== 'active' && grant.status !== 'requested') throw notRequested(grant);
    if (by.name !== grant.identity && !isApprover(by, this.opts.approvals.approver_groups)) {
      throw new ApprovalError('forbidden', `${by.name} may not revoke ${grant.identity}'s grant ${grant.id}`);
    }
    const patch: Partial<Grant> = { status: 'revoked', decidedAt: iso(this.opts.clock.now()), decidedBy: by.name };
    if (reason) patch.reason = reason;
    return this.transition(grant, grant.status, patch, by.name);
  }

  /** Grants in force now for `identity` on `upstream` (a grant for every upstream included). */
  active(identity: string, upstream: string): readonly Grant[] {
    // Asked for every statement: with no grant cached, no list is built.
    if (this.cache.size === 0) return NO_GRANTS;
    const now = this.opts.clock.now();
    const out: Grant[] = [];
    for (const grant of this.cache.values()) {
      if (grant.identity !== identity) continue;
      if (grant.upstream !== null && grant.upstream !== upstream) continue;
      if (!grant.expiresAt || Date.parse(grant.expiresAt) <= now) continue;
      out.push(grant);
    }
    return out;
  }

  /** Marks cached grants past their expiry as expired in the store. */
  async sweep(): Promise<void> {
    const now = this.opts.clock.now();
    for (const grant of [...this.cache.values()]) {
      if (grant.expiresAt && Date.parse(grant.expiresAt) <= now) {
        await this.transition(grant, 'active', { status: 'expired', reason: 'the grant ran out' }, 'scopegate').catch(() => undefined);
      }
    }
  }

  /** A store change for grant `id` (from any replica): refresh the cache entry. */
  changed(id: string): void {
    const seq = ++this.refreshSeq;
    this.refreshes.set(id, seq);
    void this.opts.store.getGrant(id).then(
      (grant) => {
        if (this.refreshes.get(id) !== seq) return;
        this.refreshes.delete(id);
        if (grant) this.remember(grant);
      },
      () => this.refreshes.delete(id),
    );
  }

  get(id: string): Promise<Grant | null> {
    return this.opts.store.getGrant(id);
  }

  list(filter?: GrantFilter): Promise<Grant[]> {
    return this.opts.store.listGrants(filter);
  }

  private async transition(grant: Grant, from: GrantStatus, patch: Partial<Grant>, by: string): Promise<Grant> {
    const updated = await this.opts.store.updateGrant(grant.id, from, patch);
    if (!updated) throw notRequested((await this.opts.store.getGrant(grant.id)) ?? grant);
    this.remember(updated);
    const status = updated.status as 'active' | 'denied' | 'revoked' | 'expired';
    this.opts.emit({
      type: 'grant_decided', id: updated.id, identity: updated.identity, upstream: updated.upstream, status, by,
      ...(updated.reason ? { reason: updated.reason } : {}), ...(status === 'active' ? { expiresAt: updated.expiresAt } : {}), at: iso(this.opts.clock.now()),
    });
    return updated;
  }

  private remember(grant: Grant): void {
    if (grant.status === 'active') this.cache.set(grant.id, deepFreeze(structuredClone(grant)));
    else this.cache.delete(grant.id);
  }

  private async getOrThrow(id: string): Promise<Grant> {
    const grant = await this.opts.store.getGrant(id);
    if (!grant) throw new ApprovalError('not-found', `no grant ${id}`);
    return grant;
  }
}

function validScopes(scopes: GrantScope[]): GrantScope[] {
  if (!Array.isArray(scopes) || scopes.length === 0) throw invalid('at least one scope is needed, e.g. { privilege: read, objects: [public.orders] }');
  return scopes.map((s) => {
    if (!(privilegeNames as readonly string[]).includes(s?.privilege)) throw invalid(`unknown privilege "${String(s?.privilege)}" (one of ${privilegeNames.join(', ')})`);
    if (!Array.isArray(s.objects) || s.objects.length === 0) throw invalid(`scope ${s.privilege} needs objects, e.g. public.orders or analytics.*`);
    for (const o of s.objects) {
      if (typeof o !== 'string' || !objectPattern.test(o)) throw invalid(`"${String(o)}" is not schema.table with * globs`);
    }
    return { privilege: s.privilege, objects: [...s.objects] };
  });
}

function invalid(message: string): ApprovalError {
  return new ApprovalError('invalid', message);
}

function notRequested(grant: Grant): ApprovalError {
  const by = grant.decidedBy ? ` by ${grant.decidedBy}` : '';
  return new ApprovalError('not-pending', `grant ${grant.id} is already ${grant.status}${by}`);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
