// Durable state shared by approvals and audit. One interface, several engines
// (embedded under data_dir; Postgres for several replicas).

export type ReviewStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'withdrawn' | 'consumed';

export interface Review {
  id: string;
  status: ReviewStatus;
  identity: string;
  groups: string[];
  upstream: string;
  session: string;
  sql: string;
  /** Bound parameters as text (null = SQL NULL), when known (extended protocol). */
  params: (string | null)[] | null;
  /** Why the policy asked for review: rule sentences. */
  reasons: string[];
  mode: 'hold' | 'async';
  /** Groups whose members may decide this review (empty: the config's approvals.approver_groups). */
  approverGroups: string[];
  /** Async mode: seconds an approval stays consumable after it is given. */
  asyncTtlS?: number;
  createdAt: string;
  expiresAt: string;
  decidedAt?: string;
  decidedBy?: string;
  reason?: string;
}

export interface GrantScope {
  privilege: 'read' | 'insert' | 'update' | 'delete' | 'truncate' | 'ddl' | 'execute' | 'admin';
  objects: string[];
}

export type GrantStatus = 'requested' | 'active' | 'denied' | 'expired' | 'revoked';

export interface Grant {
  id: string;
  status: GrantStatus;
  identity: string;
  upstream: string | null;
  scopes: GrantScope[];
  durationS: number;
  justification: string;
  requestedAt: string;
  decidedAt?: string;
  decidedBy?: string;
  reason?: string;
  /** Set when active. */
  expiresAt?: string;
}

export interface StoreChange {
  kind: 'review' | 'grant';
  id: string;
}

export interface ReviewFilter {
  status?: ReviewStatus;
  identity?: string;
  limit?: number;
}

export interface GrantFilter {
  status?: GrantStatus;
  identity?: string;
  limit?: number;
}

/**
 * Every implementation passes `storeContract` (contract.ts). Values handed in and out are copies:
 * mutating a returned object never changes the store. A patch never changes `id`; a patch field
 * set to undefined clears that field.
 */
export interface Store {
  /** Rejects with StoreError 'duplicate' when the id exists. */
  createReview(review: Review): Promise<void>;
  getReview(id: string): Promise<Review | null>;
  /** Newest first (createdAt, then id, descending); `limit` caps the count. */
  listReviews(filter?: ReviewFilter): Promise<Review[]>;
  /** Compare-and-set: updates only if the current status is `from`; returns the new value or null. */
  updateReview(id: string, from: ReviewStatus, patch: Partial<Review>): Promise<Review | null>;

  /** Rejects with StoreError 'duplicate' when the id exists. */
  createGrant(grant: Grant): Promise<void>;
  getGrant(id: string): Promise<Grant | null>;
  /** Newest first (requestedAt, then id, descending); `limit` caps the count. */
  listGrants(filter?: GrantFilter): Promise<Grant[]>;
  /** Compare-and-set, as updateReview. */
  updateGrant(id: string, from: GrantStatus, patch: Partial<Grant>): Promise<Grant | null>;

  /** Notified on every change, by this process or (for shared stores) another replica. */
  onChange(listener: (change: StoreChange) => void): () => void;
  close(): Promise<void>;
}

export type StoreErrorCode = 'duplicate' | 'closed' | 'locked' | 'corrupt' | 'io' | 'unsupported';

export class StoreError extends Error {
  constructor(readonly code: StoreErrorCode, message: string) {
    super(message);
    this.name = 'StoreError';
  }
}
