// A fingerprint of everything a corpus case could change, taken directly as
// superuser: data (row count + md5 of ordered rows per table), sequences,
// catalog objects, maintenance counters, cluster-wide state (roles, settings,
// databases, postgresql.auto.conf) and the canary directory on the server host.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Cluster } from '../harness/cluster.ts';

export const CORPUS_DB = 'corpus';
export const CANARY_DIR = '/tmp/corpus/canary';
const SCHEMAS = "('public', 'analytics', 'billing')";
/** Namespaces of user objects: everything but the system and per-session temp schemas. */
const USER_NS = "n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%'";

/** Flat key → value maps; a key names what it covers, e.g. `rows public.orders`. */
export interface Fingerprint {
  db: Record<string, string>;
  cluster: Record<string, string>;
  canary: Record<string, string>;
}

/** `count=N md5=…` of a list of rows, so a diff says how much changed. */
function digest(expr: string, from: string, order = expr): string {
  return `(SELECT 'count=' || count(*) || ' md5=' || md5(coalesce(string_agg(${expr}, E'\\n' ORDER BY ${order}), '')) ${from})`;
}

const CATALOG_QUERIES: Record<string, string> = {
  namespaces: digest("format('%s %s', n.nspname, n.nspacl)", `FROM pg_namespace n WHERE ${USER_NS}`),
  relations: digest(
    "format('%s.%s %s owner=%s acl=%s pages=%s tuples=%s', n.nspname, c.relname, c.relkind, c.relowner::regrole, c.relacl, c.relpages, c.reltuples)",
    `FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${USER_NS}`,
  ),
  columns: digest(
    "format('%s.%s.%s %s %s %s', n.nspname, c.relname, a.attname, a.atttypid::regtype, a.attnotnull, a.attacl)",
    `FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE ${USER_NS} AND a.attnum > 0 AND NOT a.attisdropped`,
  ),
  routines: digest(
    "format('%s secdef=%s acl=%s src=%s', p.oid::regprocedure, p.prosecdef, p.proacl, md5(coalesce(p.prosrc, '')))",
    `FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE ${USER_NS}`,
  ),
  constraints: digest("format('%s %s %s', conrelid::regclass, conname, contype)", 'FROM pg_constraint WHERE oid >= 16384'),
  triggers: digest("format('%s %s %s', tgrelid::regclass, tgname, tgenabled)", 'FROM pg_trigger WHERE oid >= 16384'),
  rules: digest("format('%s %s %s', ev_class::regclass, rulename, ev_enabled)", 'FROM pg_rewrite WHERE oid >= 16384'),
  policies: digest("format('%s %s', polrelid::regclass, polname)", 'FROM pg_policy'),
  comments: digest("format('%s %s %s %s', classoid, objoid, objsubid, description)", 'FROM pg_description WHERE objoid >= 16384'),
  extensions: digest("format('%s %s', extname, extversion)", 'FROM pg_extension'),
  statistics_objects: digest('stxname::text', 'FROM pg_statistic_ext'),
  default_acls: digest('defaclacl::text', 'FROM pg_default_acl'),
  large_objects: digest('oid::text', 'FROM pg_largeobject_metadata'),
  maintenance: digest(
    "format('%s.%s vacuum=%s analyze=%s', schemaname, relname, vacuum_count, analyze_count)",
    `FROM pg_stat_all_tables WHERE schemaname IN ${SCHEMAS}`,
  ),
  advisory_locks: digest("format('%s %s %s', classid, objid, objsubid)", "FROM pg_locks WHERE locktype = 'advisory'"),
  prepared_xacts: digest('gid', 'FROM pg_prepared_xacts'),
};

const CLUSTER_QUERIES: Record<string, string> = {
  roles: digest(
    "format('%s super=%s login=%s createrole=%s createdb=%s bypassrls=%s', rolname, rolsuper, rolcanlogin, rolcreaterole, rolcreatedb, rolbypassrls)",
    'FROM pg_roles',
  ),
  role_memberships: digest("format('%s in %s', member::regrole, roleid::regrole)", 'FROM pg_auth_members'),
  role_settings: digest("format('%s %s %s', setdatabase, setrole, setconfig)", 'FROM pg_db_role_setting'),
  databases: digest("format('%s %s', datname, datacl)", 'FROM pg_database'),
  auto_conf: "(SELECT md5(pg_read_file('postgresql.auto.conf')))",
};

async function tableNames(cluster: Cluster): Promise<string[]> {
  const r = await cluster.query<{ name: string }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS name
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE ${USER_NS} AND c.relkind IN ('r', 'm')
      ORDER BY 1`,
    CORPUS_DB,
  );
  return r.rows.map((x) => x.name);
}

function literal(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

async function keyed(cluster: Cluster, db: string, parts: Record<string, string>): Promise<Record<string, string>> {
  const sql = Object.entries(parts)
    .map(([k, expr]) => `SELECT ${literal(k)} AS k, ${expr}::text AS v`)
    .join('\nUNION ALL ');
  const r = await cluster.query<{ k: string; v: string | null }>(sql, db);
  return Object.fromEntries(r.rows.map((x) => [x.k, x.v ?? 'null']));
}

/** Files under the canary dir as `path → size`. */
export function canaryFiles(dir = CANARY_DIR): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[`file ${path.relative(dir, p)}`] = `size=${statSync(p).size}`;
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

export async function takeFingerprint(cluster: Cluster): Promise<Fingerprint> {
  const tables = await tableNames(cluster);
  const dbParts: Record<string, string> = {};
  for (const t of tables) dbParts[`rows ${t}`] = digest('t::text', `FROM ONLY ${t} t`);
  const seq = await cluster.query<{ k: string; v: string }>(
    `SELECT format('sequence %I.%I', schemaname, sequencename) AS k, coalesce(last_value::text, 'unused') AS v
       FROM pg_sequences`,
    CORPUS_DB,
  );
  for (const [k, q] of Object.entries(CATALOG_QUERIES)) dbParts[`catalog ${k}`] = q;
  const db = await keyed(cluster, CORPUS_DB, dbParts);
  for (const r of seq.rows) db[r.k] = r.v;
  const clusterState = await keyed(cluster, 'postgres', CLUSTER_QUERIES);
  return { db, cluster: clusterState, canary: canaryFiles() };
}

/** Human-readable differences, e.g. `rows public.orders: count=900 md5=… → count=899 md5=…`. */
export function diffFingerprints(before: Fingerprint, after: Fingerprint): string[] {
  const out: string[] = [];
  for (const part of ['db', 'cluster', 'canary'] as const) {
    const a = before[part];
    const b = after[part];
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (a[k] !== b[k]) out.push(`${k}: ${a[k] ?? '(absent)'} → ${b[k] ?? '(absent)'}`);
    }
  }
  return out;
}
