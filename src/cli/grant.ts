// `scopegate grant request|list|show|approve|deny|revoke`: time-boxed grants through the admin API.
import { parseArgs } from 'node:util';
import { callApi, connectionOptions, resolveConnection, runAdminAction, type Connection } from '../admin/client.ts';
import { formatDuration, parseDuration } from '../approvals/duration.ts';
import { privilegeNames } from '../config/schema.ts';
import type { Grant, GrantScope } from '../store/types.ts';
import { oneLine, printTable } from './review.ts';

const usage = `usage:
  scopegate grant request --privilege read[,insert…] --objects a.b,c.* --duration 2h --reason TEXT [--db UPSTREAM]
  scopegate grant list [--status requested|active|denied|expired|revoked|all] [--json]
  scopegate grant show ID [--json]
  scopegate grant approve ID [--reason TEXT]
  scopegate grant deny ID [--reason TEXT]
  scopegate grant revoke ID [--reason TEXT]
options: --admin URL (or SCOPEGATE_ADMIN_URL, or --config FILE), --token TOKEN (or SCOPEGATE_TOKEN)`;

const actions = ['approve', 'deny', 'revoke'] as const;

export async function grantCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        ...connectionOptions,
        privilege: { type: 'string' },
        objects: { type: 'string' },
        duration: { type: 'string' },
        reason: { type: 'string' },
        db: { type: 'string' },
        status: { type: 'string' },
        json: { type: 'boolean' },
      },
    });
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage}`);
    return 64;
  }
  const { values, positionals } = parsed;
  const [sub, id, ...extra] = positionals;
  const needsId = sub === 'show' || (actions as readonly string[]).includes(sub ?? '');
  if (!sub || !['request', 'list', 'show', ...actions].includes(sub) || (needsId && !id) || (!needsId && id) || extra.length > 0) {
    console.error(usage);
    return 64;
  }
  let request: { upstream: string | null; scopes: GrantScope[]; duration: number; justification: string } | undefined;
  if (sub === 'request') {
    const problem = checkRequest(values);
    if (typeof problem === 'string') {
      console.error(`scopegate: ${problem}\n${usage}`);
      return 64;
    }
    request = problem;
  }
  return runAdminAction(async () => {
    const conn = resolveConnection(values);
    if (request) return requestGrant(conn, request);
    if (sub === 'list') return list(conn, values.status ?? 'all', values.json ?? false);
    if (sub === 'show') return show(conn, id, values.json ?? false);
    return act(conn, id, sub as (typeof actions)[number], values.reason);
  });
}

function checkRequest(v: { privilege?: string; objects?: string; duration?: string; reason?: string; db?: string }) {
  if (!v.privilege || !v.objects || !v.duration || !v.reason) return 'grant request needs --privilege, --objects, --duration and --reason';
  const privileges = split(v.privilege);
  const unknown = privileges.find((p) => !(privilegeNames as readonly string[]).includes(p));
  if (unknown) return `unknown privilege "${unknown}" (one of ${privilegeNames.join(', ')})`;
  const duration = parseDuration(v.duration);
  if (duration === null) return `--duration "${v.duration}" is not a duration such as 2h, 30m or 3600`;
  const objects = split(v.objects);
  if (objects.length === 0) return '--objects needs schema.table names, e.g. public.orders,analytics.*';
  const scopes = privileges.map((privilege) => ({ privilege, objects }) as GrantScope);
  return { upstream: v.db ?? null, scopes, duration, justification: v.reason };
}

async function requestGrant(conn: Connection, body: { upstream: string | null; scopes: GrantScope[]; duration: number; justification: string }): Promise<number> {
  const { grant } = await callApi<{ grant: Grant }>(conn, 'POST', '/api/grants', body);
  console.log(`requested ${grant.id}: ${scopesText(grant)} on ${grant.upstream ?? 'every upstream'} for ${formatDuration(grant.durationS)}`);
  console.log(`an approver can run: scopegate grant approve ${grant.id}`);
  return 0;
}

async function list(conn: Connection, status: string, json: boolean): Promise<number> {
  const { grants } = await callApi<{ grants: Grant[] }>(conn, 'GET', `/api/grants?status=${encodeURIComponent(status)}`);
  if (json) {
    console.log(JSON.stringify(grants, null, 2));
    return 0;
  }
  if (grants.length === 0) {
    console.log(status === 'all' ? 'no grants' : `no ${status} grants`);
    return 0;
  }
  const rows = grants.map((g) => [g.id, g.status, g.identity, g.upstream ?? '*', until(g), oneLine(scopesText(g), 60)]);
  printTable(['ID', 'STATUS', 'IDENTITY', 'UPSTREAM', 'WHEN', 'SCOPES'], rows);
  return 0;
}

async function show(conn: Connection, id: string, json: boolean): Promise<number> {
  const { grant: g } = await callApi<{ grant: Grant }>(conn, 'GET', `/api/grants/${encodeURIComponent(id)}`);
  if (json) {
    console.log(JSON.stringify(g, null, 2));
    return 0;
  }
  const lines = [
    `grant ${g.id}: ${g.status.toUpperCase()}`,
    `  identity:      ${g.identity}`,
    `  upstream:      ${g.upstream ?? 'every upstream'}`,
    `  scopes:        ${scopesText(g)}`,
    `  duration:      ${formatDuration(g.durationS)}`,
    `  justification: ${g.justification}`,
    `  requested:     ${g.requestedAt}`,
  ];
  if (g.decidedAt) lines.push(`  decided:       ${g.decidedAt}${g.decidedBy ? ` by ${g.decidedBy}` : ''}${g.reason ? `: ${g.reason}` : ''}`);
  if (g.expiresAt) lines.push(`  expires:       ${g.expiresAt} (${until(g)})`);
  if (g.status === 'requested') lines.push('  decide:', `    scopegate grant approve ${g.id}`, `    scopegate grant deny ${g.id} --reason TEXT`);
  console.log(lines.join('\n'));
  return 0;
}

async function act(conn: Connection, id: string, action: (typeof actions)[number], reason?: string): Promise<number> {
  const { grant } = await callApi<{ grant: Grant }>(conn, 'POST', `/api/grants/${encodeURIComponent(id)}/${action}`, reason ? { reason } : {});
  const verb = { approve: 'approved', deny: 'denied', revoke: 'revoked' }[action];
  const tail = grant.status === 'active' && grant.expiresAt ? `, in force until ${grant.expiresAt}` : '';
  console.log(`${verb} ${grant.id}: ${grant.identity}: ${scopesText(grant)} on ${grant.upstream ?? 'every upstream'}${tail}`);
  return 0;
}

function scopesText(g: Grant): string {
  return g.scopes.map((s) => `${s.privilege} ${s.objects.join(', ')}`).join('; ');
}

function until(g: Grant): string {
  if (g.status !== 'active' || !g.expiresAt) return g.decidedBy ? `by ${g.decidedBy}` : g.requestedAt.slice(0, 16).replace('T', ' ');
  const ms = Date.parse(g.expiresAt) - Date.now();
  return ms > 0 ? `${formatDuration(ms / 1000)} left` : 'ended';
}

function split(list: string): string[] {
  return list.split(',').map((s) => s.trim()).filter(Boolean);
}
