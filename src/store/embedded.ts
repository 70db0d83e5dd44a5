// The embedded store: reviews and grants in memory, every change appended to a journal under
// data_dir before the call resolves. One process per data_dir (a lock file enforces it).
import { Journal } from './journal.ts';
import {
  StoreError,
  type Grant,
  type GrantFilter,
  type GrantStatus,
  type Review,
  type ReviewFilter,
  type ReviewStatus,
  type Store,
  type StoreChange,
} from './types.ts';

const journalName = 'store.jsonl';

export interface EmbeddedStoreStats {
  reviews: number;
  grants: number;
  /** Journal lines replayed at open (before compaction). */
  replayedLines: number;
  droppedTornLine: boolean;
}

type Kind = StoreChange['kind'];

export class EmbeddedStore implements Store {
  private readonly reviews = new Map<string, Review>();
  private readonly grants = new Map<string, Grant>();
  private readonly listeners = new Set<(change: StoreChange) => void>();
  private closed = false;

  private constructor(
    private readonly journal: Journal,
    readonly stats: EmbeddedStoreStats,
  ) {}

  /** Opens (creating if needed) the store in `dir`: lock, replay, compact. */
  static async open(dir: string): Promise<EmbeddedStore> {
    const { journal, replay } = await Journal.open(dir, journalName);
    const stats: EmbeddedStoreStats = { reviews: 0, grants: 0, replayedLines: replay.lines, droppedTornLine: replay.droppedTornLine };
    const store = new EmbeddedStore(journal, stats);
    for (const record of replay.records) {
      if (record.k === 'review') store.reviews.set(record.v.id, record.v as Review);
      else if (record.k === 'grant') store.grants.set(record.v.id, record.v as Grant);
    }
    stats.reviews = store.reviews.size;
    stats.grants = store.grants.size;
    return store;
  }

  createReview(review: Review): Promise<void> {
    return this.create('review', this.reviews, review);
  }

  async getReview(id: string): Promise<Review | null> {
    this.checkOpen();
    return copy(this.reviews.get(id) ?? null);
  }

  async listReviews(filter: ReviewFilter = {}): Promise<Review[]> {
    this.checkOpen();
    return list(this.reviews, filter, (r) => r.createdAt);
  }

  updateReview(id: string, from: ReviewStatus, patch: Partial<Review>): Promise<Review | null> {
    return this.update('review', this.reviews, id, from, patch);
  }

  createGrant(grant: Grant): Promise<void> {
    return this.create('grant', this.grants, grant);
  }

  async getGrant(id: string): Promise<Grant | null> {
    this.checkOpen();
    return copy(this.grants.get(id) ?? null);
  }

  async listGrants(filter: GrantFilter = {}): Promise<Grant[]> {
    this.checkOpen();
    return list(this.grants, filter, (g) => g.requestedAt);
  }

  updateGrant(id: string, from: GrantStatus, patch: Partial<Grant>): Promise<Grant | null> {
    return this.update('grant', this.grants, id, from, patch);
  }

  onChange(listener: (change: StoreChange) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    await this.journal.close();
  }

  private async create<T extends { id: string }>(kind: Kind, map: Map<string, T>, value: T): Promise<void> {
    this.checkOpen();
    if (map.has(value.id)) throw new StoreError('duplicate', `${kind} ${value.id} already exists`);
    const stored = withoutUndefined(copy(value));
    map.set(value.id, stored);
    await this.persist(kind, stored);
  }

  /** The compare-and-set happens synchronously in memory, so concurrent callers are serialised. */
  private async update<T extends { id: string; status: S }, S extends string>(
    kind: Kind,
    map: Map<string, T>,
    id: string,
    from: S,
    patch: Partial<T>,
  ): Promise<T | null> {
    this.checkOpen();
    const current = map.get(id);
    if (!current || current.status !== from) return null;
    const next = withoutUndefined({ ...current, ...copy(patch), id } as T);
    map.set(id, next);
    await this.persist(kind, next);
    return copy(next);
  }

  private async persist(kind: Kind, value: { id: string }): Promise<void> {
    await this.journal.append({ k: kind, v: value });
    for (const listener of [...this.listeners]) {
      try {
        listener({ kind, id: value.id });
      } catch {
        // a listener's failure is its own; the change is already durable
      }
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new StoreError('closed', 'store is closed');
  }
}

function copy<T>(value: T): T {
  return value === null ? value : structuredClone(value);
}

/** As JSON would store it: a field set to undefined is absent (so a patch can clear a field). */
function withoutUndefined<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) if (value[key] === undefined) delete value[key];
  return value;
}

function list<T extends { id: string; status: string; identity: string }>(
  map: Map<string, T>,
  filter: { status?: string; identity?: string; limit?: number },
  time: (value: T) => string,
): T[] {
  const out: T[] = [];
  for (const value of map.values()) {
    if (filter.status !== undefined && value.status !== filter.status) continue;
    if (filter.identity !== undefined && value.identity !== filter.identity) continue;
    out.push(value);
  }
  out.sort((a, b) => cmp(time(b), time(a)) || cmp(b.id, a.id));
  const limited = filter.limit !== undefined ? out.slice(0, Math.max(0, filter.limit)) : out;
  return limited.map(copy);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
