// `scopegate audit verify|search`: check the hash chain, find events.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfigFile } from '../config/load.ts';
import { FileAuditSource, parseTime, type AuditQuery, type AuditSource } from '../audit/reader.ts';
import { StoreAuditSource, verifyStoreChains } from '../audit/store-source.ts';
import { resolveAuditFiles } from '../audit/files.ts';
import { verifyChain } from '../audit/verify.ts';
import type { AuditEventType, AuditRecord, Verdict } from '../audit/types.ts';

export const sourceOptions = {
  config: { type: 'string', short: 'c' },
  file: { type: 'string', short: 'f' },
  store: { type: 'string' },
} as const;

const usage = `usage:
  scopegate audit verify [--config FILE | --file PATH | --store URL]
  scopegate audit search [--config FILE | --file PATH | --store URL] [--identity X] [--upstream X] [--verdict allow|deny|review]
                         [--since ISO|1h] [--until ISO|10m] [--text SUBSTRING] [--session ID] [--type TYPE] [--limit N] [--json]
PATH is the live audit file (its rotated siblings are read too), a directory, or one file.
URL is the postgres:// store (password from the URL or SCOPEGATE_STORE_PASSWORD); with --config, the
store is read when the config has audit.store: true and a postgres:// store.`;

/** The audit files, oldest first: --file, else audit.file from --config (default scopegate.yaml). */
export function auditFiles(values: { config?: string; file?: string }): string[] {
  if (values.file) return resolveAuditFiles(values.file);
  const { config, baseDir } = loadConfigFile(values.config ?? 'scopegate.yaml');
  if (!config.audit.file) throw new Error('the config has no audit.file: pass --file PATH');
  return resolveAuditFiles(resolve(baseDir, config.audit.file));
}

/** Where to read: --store URL, --file PATH, else the config's store (audit.store: true) or its audit.file. */
export function auditSource(values: { config?: string; file?: string; store?: string }): AuditSource & { close(): Promise<void> } {
  let url = values.store;
  if (!url && !values.file) {
    const { config } = loadConfigFile(values.config ?? 'scopegate.yaml');
    if (config.audit.store && /^postgres(ql)?:\/\//i.test(config.store)) url = config.store;
  }
  if (url) return new StoreAuditSource({ url });
  const files = new FileAuditSource(auditFiles(values));
  return Object.assign(files, { close: async () => undefined });
}

export async function auditCommand(args: string[], now = Date.now()): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'verify') return verify(rest);
  if (sub === 'search') return search(rest, now);
  console.error(usage);
  return 64;
}

async function verify(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: sourceOptions });
  const source = auditSource(values);
  if (source instanceof StoreAuditSource) return verifyStore(source);
  const result = await verifyChain(auditFiles(values));
  const span = result.first && result.last ? ` (seq ${result.first.seq}–${result.last.seq}, last hash ${result.last.hash})` : '';
  const files = `${result.files.length} file${result.files.length === 1 ? '' : 's'}`;
  const bad = result.firstBad;
  if (!bad) {
    console.log(`audit chain ok: ${result.events} events in ${files}${span}`);
    return 0;
  }
  if (bad.problem === 'truncated') {
    console.log(`audit chain ok: ${result.events} events in ${files}${span}`);
    console.error(`warning: ${bad.file}:${bad.line}: truncated — ${bad.detail}`);
    return 0;
  }
  console.log(`audit chain BROKEN at ${bad.file}:${bad.line}: ${bad.problem} — ${bad.detail}`);
  console.log(`${result.events} events verified before it${span}`);
  return 1;
}

async function search(args: string[], now: number): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...sourceOptions,
      identity: { type: 'string' }, upstream: { type: 'string' }, verdict: { type: 'string' },
      since: { type: 'string' }, until: { type: 'string' }, text: { type: 'string' }, session: { type: 'string' },
      type: { type: 'string', multiple: true }, limit: { type: 'string' }, json: { type: 'boolean' },
    },
  });
  if (values.verdict && !['allow', 'deny', 'review'].includes(values.verdict)) throw new Error('--verdict must be allow, deny or review');
  const query: AuditQuery = {
    identity: values.identity,
    upstream: values.upstream,
    verdict: values.verdict as Verdict | undefined,
    since: values.since ? parseTime(values.since, now) : undefined,
    until: values.until ? parseTime(values.until, now) : undefined,
    text: values.text,
    session: values.session,
    types: values.type as AuditEventType[] | undefined,
  };
  const limit = values.limit ? Number(values.limit) : Infinity;
  let count = 0;
  const source = auditSource(values);
  try {
    for await (const r of source.records(query)) {
      console.log(values.json ? JSON.stringify(r) : describe(r));
      if (++count >= limit) break;
    }
  } finally {
    await source.close();
  }
  if (!values.json) console.error(`${count} event${count === 1 ? '' : 's'}`);
  return 0;
}

async function verifyStore(source: StoreAuditSource): Promise<number> {
  try {
    const chains = await verifyStoreChains(source);
    const bad = chains.filter((c) => c.bad);
    const events = chains.reduce((n, c) => n + c.events, 0);
    for (const c of bad) console.log(`audit chain BROKEN in ${c.chain} at seq ${c.bad!.seq}: ${c.bad!.problem} — ${c.bad!.detail}`);
    console.log(`audit store ${source.target.display}: ${events} events in ${chains.length} chain${chains.length === 1 ? '' : 's'}, ${bad.length} broken`);
    return bad.length ? 1 : 0;
  } finally {
    await source.close();
  }
}

/** One line for a record: time, type, who, what. */
export function describe(r: AuditRecord): string {
  const who = 'identity' in r ? `${r.identity}${'upstream' in r && r.upstream ? `@${r.upstream}` : ''}` : '';
  const session = 'session' in r && r.session ? ` [${r.session.slice(0, 8)}]` : '';
  return `${r.at}  ${r.type.padEnd(16)} ${who}${session}  ${summary(r)}`.trimEnd();
}

export function summary(r: AuditRecord): string {
  switch (r.type) {
    case 'statement':
      return [statementOutcome(r), oneLine(r.sql), r.reasons?.length ? `— ${r.reasons.join('; ')}` : ''].filter(Boolean).join('  ');
    case 'session_start':
      return `from ${r.client} (${r.tls ? 'tls' : 'no tls'}, ${r.method}; groups: ${r.groups.join(', ') || 'none'})`;
    case 'session_end':
      return `${r.reason} after ${(r.durationMs / 1000).toFixed(1)}s, ${r.statements} statements`;
    case 'auth_failed':
      return `${r.user}@${r.database} from ${r.client}: ${r.reason}`;
    case 'review_requested':
      return `review ${r.id} (${r.mode}, until ${r.expiresAt}): ${oneLine(r.sql)}`;
    case 'review_decided':
      return `review ${r.id} ${r.status} by ${r.by}${r.reason ? `: ${r.reason}` : ''}`;
    case 'grant_requested':
      return `grant ${r.id}: ${r.scopes.map((s) => `${s.privilege} ${s.objects.join(',')}`).join('; ')} for ${r.durationS}s — ${r.justification}`;
    case 'grant_decided':
      return `grant ${r.id} ${r.status} by ${r.by}${r.expiresAt ? ` until ${r.expiresAt}` : ''}`;
    case 'policy_reloaded':
      return r.ok ? `${r.source} → ${r.version?.slice(0, 12) ?? '?'} (${r.policies ?? '?'} policies)` : `${r.source} rejected: ${r.error}`;
    case 'audit_recovered':
      return `${r.problem}${r.file ? ` ${r.file}` : ''}${r.bytes ? ` (${r.bytes} bytes)` : ''}${r.error ? `: ${r.error}` : ''}${r.dropped ? `, ${r.dropped} dropped` : ''}`;
  }
}

export function statementOutcome(r: Extract<AuditRecord, { type: 'statement' }>): string {
  const verdict = r.verdict.toUpperCase();
  if (r.error) return `${verdict} ERROR ${r.error}`;
  if (r.tag) return `${verdict} ${r.tag}`;
  return verdict;
}

export function oneLine(sql: string, max = 160): string {
  const s = sql.replace(/\s+/g, ' ').trim();
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}
