// Reading the audit back: search, sessions, one session's timeline.
// A source yields records oldest first; the file source reads a rotation set
// in order (the store source will implement the same interface).
import { readLines, resolveAuditFiles } from './files.ts';
import type { AuditEventType, AuditRecord, Verdict } from './types.ts';

export interface AuditQuery {
  identity?: string;
  upstream?: string;
  /** Statements only. */
  verdict?: Verdict;
  /** Epoch ms, inclusive. */
  since?: number;
  /** Epoch ms, exclusive. */
  until?: number;
  /** Case-insensitive substring of the SQL, reasons, reason or error. */
  text?: string;
  session?: string;
  types?: AuditEventType[];
  /** A hint sources may use to skip lines cheaply: a record matches only if its text contains one of these. */
  anyText?: string[];
}

export interface AuditSource {
  /** Matching records, oldest first. Lines that are not records (damage) are skipped; `audit verify` reports them. */
  records(query?: AuditQuery): AsyncIterable<AuditRecord>;
}

export class FileAuditSource implements AuditSource {
  readonly files: string[];

  /** A directory, a live file (with its rotated siblings) or an explicit list of files, oldest first. */
  constructor(input: string | readonly string[]) {
    this.files = typeof input === 'string' ? resolveAuditFiles(input) : [...input];
  }

  async *records(query: AuditQuery = {}): AsyncGenerator<AuditRecord> {
    const needles = query.anyText ?? (query.session ? [query.session] : null);
    for await (const l of readLines(this.files)) {
      if (needles && !needles.some((n) => l.text.includes(n))) continue; // cheap pre-filter before parsing
      let r: AuditRecord;
      try {
        r = JSON.parse(l.text) as AuditRecord;
      } catch {
        continue;
      }
      if (r && typeof r === 'object' && typeof r.type === 'string' && matches(r, query)) yield r;
    }
  }
}

export function matches(r: AuditRecord, q: AuditQuery): boolean {
  if (q.types && !q.types.includes(r.type)) return false;
  if (q.session && !('session' in r && r.session === q.session)) return false;
  if (q.identity !== undefined && identityOf(r) !== q.identity) return false;
  if (q.upstream !== undefined && upstreamOf(r) !== q.upstream) return false;
  if (q.verdict && !(r.type === 'statement' && r.verdict === q.verdict)) return false;
  if (q.since !== undefined || q.until !== undefined) {
    const t = Date.parse(r.at);
    if (q.since !== undefined && !(t >= q.since)) return false;
    if (q.until !== undefined && !(t < q.until)) return false;
  }
  if (q.text) {
    const needle = q.text.toLowerCase();
    const hay = [
      'sql' in r ? r.sql : undefined,
      'reasons' in r ? r.reasons?.join('\n') : undefined,
      'reason' in r ? r.reason : undefined,
      'error' in r ? r.error : undefined,
    ];
    if (!hay.some((h) => typeof h === 'string' && h.toLowerCase().includes(needle))) return false;
  }
  return true;
}

export function identityOf(r: AuditRecord): string | undefined {
  if ('identity' in r) return r.identity;
  if (r.type === 'auth_failed') return r.user;
  return undefined;
}

export function upstreamOf(r: AuditRecord): string | undefined {
  if ('upstream' in r) return r.upstream ?? undefined;
  if (r.type === 'auth_failed') return r.database;
  return undefined;
}

export interface SessionSummary {
  session: string;
  identity: string;
  upstream: string;
  groups?: string[];
  client?: string;
  tls?: boolean;
  method?: string;
  /** session_start time, or the first event seen when the start was rotated away. */
  start: string;
  startSeen: boolean;
  end?: string;
  endReason?: string;
  statements: number;
  denials: number;
  reviews: number;
}

export async function listSessions(source: AuditSource, filter: { identity?: string; upstream?: string; since?: number; until?: number } = {}): Promise<SessionSummary[]> {
  const sessions = new Map<string, SessionSummary>();
  for await (const r of source.records({ types: ['session_start', 'session_end', 'statement'], identity: filter.identity, upstream: filter.upstream })) {
    fold(sessions, r);
  }
  return [...sessions.values()].filter((s) => {
    const start = Date.parse(s.start);
    const end = s.end ? Date.parse(s.end) : Infinity;
    return (filter.since === undefined || end >= filter.since) && (filter.until === undefined || start < filter.until);
  });
}

function fold(sessions: Map<string, SessionSummary>, r: AuditRecord): void {
  if (r.type !== 'session_start' && r.type !== 'session_end' && r.type !== 'statement') return;
  let s = sessions.get(r.session);
  if (!s) {
    s = { session: r.session, identity: r.identity, upstream: r.upstream, start: r.at, startSeen: false, statements: 0, denials: 0, reviews: 0 };
    sessions.set(r.session, s);
  }
  if (r.type === 'session_start') {
    Object.assign(s, { groups: r.groups, client: r.client, tls: r.tls, method: r.method, start: r.at, startSeen: true });
  } else if (r.type === 'session_end') {
    s.end = r.at;
    s.endReason = r.reason;
  } else {
    s.statements++;
    if (r.verdict === 'deny') s.denials++;
    if (r.verdict === 'review') s.reviews++;
  }
}

export interface TimelineEntry {
  /** ms from the session start to when this happened (statements: when they started, i.e. at − durationMs). */
  offsetMs: number;
  record: AuditRecord;
}

export interface Timeline {
  summary: SessionSummary;
  entries: TimelineEntry[];
}

/** One session's events in order; `id` may be a unique prefix of the session id. */
export async function sessionTimeline(source: AuditSource, id: string): Promise<Timeline | null> {
  const records: AuditRecord[] = [];
  const ids = new Set<string>();
  const reviews = new Set<string>();
  for await (const r of source.records({ anyText: [id, '"type":"review_decided"'] })) {
    const session = 'session' in r ? r.session : undefined;
    if (session?.startsWith(id)) {
      ids.add(session);
      records.push(r);
      if (r.type === 'review_requested') reviews.add(r.id);
    } else if (r.type === 'review_decided' && reviews.has(r.id)) {
      records.push(r);
    }
  }
  if (ids.size === 0) return null;
  if (ids.size > 1) throw new Error(`session id prefix "${id}" is ambiguous: ${[...ids].slice(0, 5).join(', ')}`);
  const sessions = new Map<string, SessionSummary>();
  for (const r of records) fold(sessions, r);
  const summary = [...sessions.values()][0];
  const start = Date.parse(summary.start);
  const entries = records.map((record) => {
    const at = Date.parse(record.at) - (record.type === 'statement' ? (record.durationMs ?? 0) : 0);
    return { offsetMs: at - start, record };
  });
  return { summary, entries };
}

/** ISO time, or a duration back from now: 90s, 30m, 1h, 2d. */
export function parseTime(text: string, now: number): number {
  const rel = /^(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(text.trim());
  if (rel) return now - Number(rel[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 's' | 'm' | 'h' | 'd'];
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new Error(`cannot read "${text}" as a time: use ISO 8601 (2024-05-01T12:00:00Z) or a duration (90s, 30m, 1h, 2d)`);
  return t;
}
