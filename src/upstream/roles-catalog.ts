// Catalog reads for ephemeral roles: what exists to grant on (GrantCatalog over a
// live connection) and whether the admin role is fit to create session roles.
import type pg from 'pg';
import { quoteIdent as quoteName, type CatalogRelation, type CatalogRoutine, type GrantCatalog, type RoleGrants } from './roles-grants.ts';

export type Queryable = pg.ClientBase | pg.Pool;

const relationKinds: Record<string, string> = { r: 'table', p: 'partitioned', v: 'view', m: 'matview', f: 'foreign', S: 'sequence' };

const userSchemas = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'`;

const relationsSql = `
SELECT n.nspname AS schema, c.relname AS name, c.relkind AS kind,
  CASE WHEN c.relkind IN ('v', 'm') THEN (
    SELECT coalesce(json_agg(DISTINCT dn.nspname || '.' || dc.relname), '[]')
    FROM pg_catalog.pg_rewrite rw
    JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = rw.oid
                               AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid <> c.oid
    JOIN pg_catalog.pg_class dc ON dc.oid = d.refobjid
    JOIN pg_catalog.pg_namespace dn ON dn.oid = dc.relnamespace
    WHERE rw.ev_class = c.oid) END AS "dependsOn",
  (SELECT coalesce(json_agg(DISTINCT sn.nspname || '.' || s.relname), '[]')
   FROM pg_catalog.pg_attrdef ad
   JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_attrdef'::regclass AND d.objid = ad.oid
                              AND d.refclassid = 'pg_catalog.pg_class'::regclass
   JOIN pg_catalog.pg_class s ON s.oid = d.refobjid AND s.relkind = 'S'
   JOIN pg_catalog.pg_namespace sn ON sn.oid = s.relnamespace
   WHERE ad.adrelid = c.oid) AS "defaultSequences"
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND ${userSchemas}`;

const routinesSql = `
SELECT n.nspname AS schema, p.proname AS name, pg_catalog.oidvectortypes(p.proargtypes) AS signature,
  p.prosecdef AS "securityDefiner",
  (SELECT e.extname FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid
   WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid
     AND d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.deptype = 'e' LIMIT 1) AS extension
FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE ${userSchemas}`;

/** A GrantCatalog read from the database that db is connected to. */
export function pgGrantCatalog(db: Queryable): GrantCatalog {
  return {
    async listRelations() {
      const res = await db.query<CatalogRelation>(relationsSql);
      return res.rows.map((r) => ({ ...r, kind: relationKinds[r.kind] ?? 'other', dependsOn: r.dependsOn ?? undefined }));
    },
    async listRoutines() {
      return (await db.query<CatalogRoutine>(routinesSql)).rows;
    },
    async listSchemas() {
      const res = await db.query<{ schema: string }>(`SELECT n.nspname AS schema FROM pg_catalog.pg_namespace n WHERE ${userSchemas}`);
      return res.rows.map((r) => r.schema);
    },
  };
}

const riskyMemberships = ['pg_read_server_files', 'pg_write_server_files', 'pg_execute_server_program', 'pg_read_all_data', 'pg_write_all_data', 'pg_signal_backend'];

/**
 * Problems with the role that creates session roles (the upstream url's role),
 * as sentences for `scopegate check`. Empty: fit for `roles: ephemeral`. With
 * `needed`, also lists the privileges it cannot pass on (no grant option).
 */
export async function checkAdminRole(db: Queryable, needed?: RoleGrants): Promise<string[]> {
  const warnings: string[] = [];
  const { rows } = await db.query<{
    name: string; rolsuper: boolean; rolcreaterole: boolean; rolbypassrls: boolean; rolreplication: boolean; version: number; risky: string[]; connect: boolean;
  }>(
    `SELECT r.rolname AS name, r.rolsuper, r.rolcreaterole, r.rolbypassrls, r.rolreplication,
       current_setting('server_version_num')::int AS version,
       has_database_privilege('public', current_database(), 'CONNECT') AS connect,
       ARRAY(SELECT b.rolname::text FROM pg_catalog.pg_roles b
             WHERE b.rolname = ANY($1::text[]) AND pg_catalog.pg_has_role(r.oid, b.oid, 'MEMBER')) AS risky
     FROM pg_catalog.pg_roles r WHERE r.rolname = current_user`,
    [riskyMemberships],
  );
  const r = rows[0];
  if (!r) return ['cannot read the attributes of the current role'];
  if (r.rolsuper) warnings.push(`role ${r.name} is a superuser: use a role with CREATEROLE and without SUPERUSER, so that the database floor is real`);
  if (!r.rolcreaterole) warnings.push(`role ${r.name} lacks CREATEROLE: it cannot create per-session roles (ALTER ROLE ${r.name} CREATEROLE)`);
  if (r.rolbypassrls) warnings.push(`role ${r.name} has BYPASSRLS: not needed for ephemeral roles`);
  if (r.rolreplication) warnings.push(`role ${r.name} has REPLICATION: not needed for ephemeral roles`);
  if (r.risky.length > 0) warnings.push(`role ${r.name} is a member of ${r.risky.join(', ')}: not needed, and it widens what a compromised gateway can do`);
  if (r.rolcreaterole && !r.rolsuper && r.version < 160000) {
    warnings.push(`PostgreSQL ${Math.floor(r.version / 10000)} lets a CREATEROLE role grant itself any non-superuser role, including pg_execute_server_program: treat ${r.name} as highly privileged, or upgrade to PostgreSQL 16+`);
  }
  if (!r.connect) warnings.push('PUBLIC has no CONNECT on this database: session roles get it from the admin role, which needs it WITH GRANT OPTION');
  if (needed) warnings.push(...(await missingGrantOptions(db, needed)));
  return warnings;
}

async function missingGrantOptions(db: Queryable, g: RoleGrants): Promise<string[]> {
  type Check = [kind: string, schema: string, name: string, signature: string, privilege: string];
  const checks: Check[] = [
    ...g.schemas.flatMap((s) => s.privileges.map((p): Check => ['schema', s.schema, '', '', p])),
    ...g.relations.flatMap((r) => r.privileges.map((p): Check => ['table', r.schema, r.name, '', p])),
    ...g.sequences.map((s): Check => ['sequence', s.schema, s.name, '', 'USAGE']),
    ...g.routines.map((r): Check => ['routine', r.schema, r.name, r.signature, 'EXECUTE']),
  ];
  if (checks.length === 0) return [];
  // By OID, not by name: a name lookup would itself fail without USAGE on the schema.
  const { rows } = await db.query<{ kind: string; schema: string; name: string; signature: string; privilege: string }>(
    `SELECT c.* FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS c(kind, schema, name, signature, privilege)
     WHERE NOT coalesce(CASE c.kind
       WHEN 'schema' THEN (SELECT has_schema_privilege(n.oid, c.privilege || ' WITH GRANT OPTION')
                           FROM pg_catalog.pg_namespace n WHERE n.nspname = c.schema)
       WHEN 'routine' THEN (SELECT bool_and(has_function_privilege(p.oid, c.privilege || ' WITH GRANT OPTION'))
                            FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
                            WHERE n.nspname = c.schema AND p.proname = c.name AND pg_catalog.oidvectortypes(p.proargtypes) = c.signature)
       WHEN 'sequence' THEN (SELECT has_sequence_privilege(r.oid, c.privilege || ' WITH GRANT OPTION')
                             FROM pg_catalog.pg_class r JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace
                             WHERE n.nspname = c.schema AND r.relname = c.name)
       ELSE (SELECT has_table_privilege(r.oid, c.privilege || ' WITH GRANT OPTION')
             FROM pg_catalog.pg_class r JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace
             WHERE n.nspname = c.schema AND r.relname = c.name) END, false)`,
    [0, 1, 2, 3, 4].map((i) => checks.map((c) => c[i])),
  );
  return rows.map((x) => {
    const object = x.kind === 'schema' ? quoteName(x.schema) : `${quoteName(x.schema)}.${quoteName(x.name)}${x.kind === 'routine' ? `(${x.signature})` : ''}`;
    return `cannot grant ${x.privilege} on ${x.kind} ${object}: the admin role needs it WITH GRANT OPTION (or to own it)`;
  });
}
