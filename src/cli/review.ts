// `scopegate review list|show|approve|deny`: the admin API's reviews, for people at a terminal.
import { parseArgs } from 'node:util';
import { callApi, connectionOptions, resolveConnection, runAdminAction, type Connection } from '../admin/client.ts';
import { formatDuration } from '../approvals/duration.ts';
import type { Review } from '../store/types.ts';

const usage = `usage:
  scopegate review list [--status pending|approved|denied|expired|withdrawn|consumed|all] [--json]
  scopegate review show ID [--json]
  scopegate review approve ID [--reason TEXT]
  scopegate review deny ID [--reason TEXT]
options: --admin URL (or SCOPEGATE_ADMIN_URL, or --config FILE), --token TOKEN (or SCOPEGATE_TOKEN)`;

export async function reviewCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: { ...connectionOptions, status: { type: 'string' }, reason: { type: 'string' }, json: { type: 'boolean' } },
    });
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage}`);
    return 64;
  }
  const { values, positionals } = parsed;
  const [sub, id, ...extra] = positionals;
  const needsId = sub === 'show' || sub === 'approve' || sub === 'deny';
  if (!sub || !['list', 'show', 'approve', 'deny'].includes(sub) || (needsId && !id) || (!needsId && id) || extra.length > 0) {
    console.error(usage);
    return 64;
  }
  return runAdminAction(async () => {
    const conn = resolveConnection(values);
    switch (sub) {
      case 'list':
        return list(conn, values.status ?? 'pending', values.json ?? false);
      case 'show':
        return show(conn, id, values.json ?? false);
      default:
        return decide(conn, id, sub as 'approve' | 'deny', values.reason);
    }
  });
}

async function list(conn: Connection, status: string, json: boolean): Promise<number> {
  const { reviews } = await callApi<{ reviews: Review[] }>(conn, 'GET', `/api/reviews?status=${encodeURIComponent(status)}`);
  if (json) {
    console.log(JSON.stringify(reviews, null, 2));
    return 0;
  }
  if (reviews.length === 0) {
    console.log(status === 'all' ? 'no reviews' : `no ${status} reviews`);
    return 0;
  }
  const rows = reviews.map((r) => [r.id, r.status, r.identity, r.upstream, when(r), oneLine(r.sql, 60)]);
  printTable(['ID', 'STATUS', 'IDENTITY', 'UPSTREAM', 'WHEN', 'SQL'], rows);
  return 0;
}

async function show(conn: Connection, id: string, json: boolean): Promise<number> {
  const { review } = await callApi<{ review: Review }>(conn, 'GET', `/api/reviews/${encodeURIComponent(id)}`);
  if (json) {
    console.log(JSON.stringify(review, null, 2));
    return 0;
  }
  console.log(describeReview(review));
  return 0;
}

async function decide(conn: Connection, id: string, decision: 'approve' | 'deny', reason?: string): Promise<number> {
  const { review } = await callApi<{ review: Review }>(conn, 'POST', `/api/reviews/${encodeURIComponent(id)}/${decision}`, reason ? { reason } : {});
  const verb = decision === 'approve' ? 'approved' : 'denied';
  console.log(`${verb} ${review.id}: ${review.identity}'s statement on ${review.upstream}${review.reason ? ` (${review.reason})` : ''}`);
  return 0;
}

export function describeReview(r: Review, now = Date.now()): string {
  const lines = [
    `review ${r.id}: ${r.status.toUpperCase()}`,
    `  identity:  ${r.identity}${r.groups.length ? ` (groups: ${r.groups.join(', ')})` : ''}`,
    `  upstream:  ${r.upstream}   session: ${r.session}   mode: ${r.mode}`,
    `  requested: ${r.createdAt}`,
  ];
  if (r.status === 'pending') lines.push(`  expires:   ${r.expiresAt} (${relative(Date.parse(r.expiresAt) - now)})`);
  else if (r.decidedAt) lines.push(`  decided:   ${r.decidedAt}${r.decidedBy ? ` by ${r.decidedBy}` : ''}${r.reason ? `: ${r.reason}` : ''}`);
  lines.push('  why review:', ...(r.reasons.length ? r.reasons.map((x) => `    - ${x}`) : ['    - (no reason recorded)']));
  lines.push('  sql:', ...r.sql.trim().split('\n').map((l) => `    ${l}`));
  if (r.params) {
    lines.push(r.params.length ? '  parameters:' : '  parameters: none');
    r.params.forEach((p, i) => lines.push(`    $${i + 1} = ${p === null ? 'NULL' : quote(p)}`));
  }
  if (r.status === 'pending') {
    lines.push('  decide:', `    scopegate review approve ${r.id} [--reason TEXT]`, `    scopegate review deny ${r.id} --reason TEXT`);
  }
  return lines.join('\n');
}

function when(r: Review): string {
  if (r.status === 'pending') return relative(Date.parse(r.expiresAt) - Date.now());
  return r.decidedBy ? `by ${r.decidedBy}` : r.createdAt.slice(0, 16).replace('T', ' ');
}

function relative(ms: number): string {
  return ms > 0 ? `in ${formatDuration(ms / 1000)}` : `${formatDuration(-ms / 1000)} ago`;
}

function quote(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

export function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  console.log(line(header));
  for (const row of rows) console.log(line(row));
}
