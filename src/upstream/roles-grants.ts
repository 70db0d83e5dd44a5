// The database floor: which privileges a per-session role gets, derived from an
// identity's effective policy and the real catalog. Pure: no I/O beyond the
// catalog callbacks, and the SQL it renders is quoted here.
import type { Privilege } from '../analysis/types.ts';
import type { EffectivePolicy } from '../policy/compile.ts';

export type TablePrivilege = 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE' | 'TRUNCATE';

export interface RoleGrants {
  /** USAGE for schemas holding a granted object; CREATE for schemas a ddl rule covers as a whole (`schema.*`). */
  schemas: { schema: string; privileges: ('USAGE' | 'CREATE')[] }[];
  relations: { schema: string; name: string; privileges: TablePrivilege[] }[];
  /** Sequences behind the column defaults of tables the role may INSERT into (the implicit nextval). */
  sequences: { schema: string; name: string }[];
  routines: { schema: string; name: string; signature: string }[];
}

export interface CatalogRelation {
  schema: string;
  name: string;
  /** 'table' | 'partitioned' | 'view' | 'matview' | 'foreign' | 'sequence' | … (analysis RelationKind) */
  kind: string;
  /** Views and materialized views: the relations their definition reads ("schema.name"). */
  dependsOn?: string[];
  /** Sequences used by this table's column defaults ("schema.name"). */
  defaultSequences?: string[];
}

export interface CatalogRoutine {
  schema: string;
  name: string;
  /** Argument types as Postgres prints them (`integer, text`), used in GRANT … ON ROUTINE name(signature). */
  signature: string;
  securityDefiner?: boolean;
  /** The extension the routine belongs to, if any (dblink, …): never granted by a glob. */
  extension?: string | null;
}

export interface GrantCatalog {
  listRelations(): Promise<CatalogRelation[]>;
  listRoutines(): Promise<CatalogRoutine[]>;
  /** All user schemas, so that `ddl: [s.*]` works on a schema without objects yet. */
  listSchemas?(): Promise<string[]>;
}

const tablePrivilege: Partial<Record<Privilege, TablePrivilege>> = {
  read: 'SELECT', insert: 'INSERT', update: 'UPDATE', delete: 'DELETE', truncate: 'TRUNCATE',
};

const tableKinds = new Set(['table', 'partitioned', 'view', 'matview', 'foreign']);
const viewKinds = new Set(['view', 'matview']);
/** Everyone may read these; a view over them needs nothing from the policy. */
const systemSchemas = new Set(['pg_catalog', 'information_schema']);

/**
 * Expands the allow and review rules of a policy against the catalog. Review
 * rules are included because an approved statement runs under the same role.
 * An object matched by any deny rule gets nothing; unlisted objects get nothing.
 * A view gets a privilege only if the relations it reads would get it too (a
 * view runs with its owner's rights, so it must not open a path the policy closes).
 */
export async function deriveGrants(policy: EffectivePolicy, catalog: GrantCatalog): Promise<RoleGrants> {
  const [relations, routines, allSchemas] = await Promise.all([catalog.listRelations(), catalog.listRoutines(), catalog.listSchemas?.() ?? []]);
  const denied = (object: string): boolean => policy.rules.some((r) => r.decision === 'deny' && r.matches(object));
  const wants = (privilege: Privilege, object: string): boolean =>
    policy.rules.some((r) => r.decision !== 'deny' && r.privilege === privilege && r.matches(object));
  const lifted = (g: 'truncate' | 'security-definer'): boolean => policy.liftedGuardrails.has(g);

  const byName = new Map(relations.map((r) => [`${r.schema}.${r.name}`, r]));
  const direct = new Map<string, Set<TablePrivilege>>();
  for (const rel of relations) {
    const object = `${rel.schema}.${rel.name}`;
    if (!tableKinds.has(rel.kind) || denied(object)) continue;
    const privileges = new Set<TablePrivilege>();
    for (const [p, sqlPrivilege] of Object.entries(tablePrivilege) as [Privilege, TablePrivilege][]) {
      if (rel.kind === 'matview' && p !== 'read') continue;
      if (p === 'truncate' && !lifted('truncate')) continue; // the truncate guardrail holds unless lifted
      if (wants(p, object)) privileges.add(sqlPrivilege);
    }
    if (privileges.size > 0) direct.set(object, privileges);
  }

  // Views: every relation they read must carry the privilege as well (SELECT for reads; the same privilege for writes).
  const memo = new Map<string, boolean>();
  const has = (object: string, privilege: TablePrivilege, seen: Set<string>): boolean => {
    const key = `${object}\0${privilege}`;
    const known = memo.get(key);
    if (known !== undefined) return known;
    if (seen.has(object)) return false; // a cycle cannot be proven safe
    const rel = byName.get(object);
    let ok = direct.get(object)?.has(privilege) ?? false;
    if (ok && rel && viewKinds.has(rel.kind)) {
      const next = new Set(seen).add(object);
      ok = (rel.dependsOn ?? []).every((dep) => {
        if (systemSchemas.has(dep.split('.')[0])) return true;
        const d = byName.get(dep);
        if (d?.kind === 'sequence') return !denied(dep);
        return has(dep, 'SELECT', next) && (privilege === 'SELECT' || rel.kind === 'matview' || has(dep, privilege, next));
      });
    }
    memo.set(key, ok);
    return ok;
  };

  const grants: RoleGrants = { schemas: [], relations: [], sequences: [], routines: [] };
  const usage = new Set<string>();
  const sequences = new Set<string>();
  for (const [object, privileges] of direct) {
    const rel = byName.get(object)!;
    const granted = [...privileges].filter((p) => has(object, p, new Set()));
    if (granted.length === 0) continue;
    grants.relations.push({ schema: rel.schema, name: rel.name, privileges: granted });
    usage.add(rel.schema);
    if (granted.includes('INSERT')) for (const s of rel.defaultSequences ?? []) if (!denied(s)) sequences.add(s);
  }
  for (const s of [...sequences].sort()) {
    const seq = byName.get(s);
    if (!seq) continue;
    grants.sequences.push({ schema: seq.schema, name: seq.name });
    usage.add(seq.schema);
  }

  for (const r of routines) {
    const object = `${r.schema}.${r.name}`;
    if (r.extension || denied(object) || !wants('execute', object)) continue;
    if (r.securityDefiner && !lifted('security-definer')) continue;
    grants.routines.push({ schema: r.schema, name: r.name, signature: r.signature });
    usage.add(r.schema);
  }

  // CREATE only where a ddl rule covers the whole schema: ownership of existing objects cannot be granted anyway.
  const schemas = new Set([...allSchemas, ...relations.map((r) => r.schema), ...routines.map((r) => r.schema)]);
  const create = new Set([...schemas].filter((s) => !systemSchemas.has(s) && wants('ddl', `${s}.*`) && !denied(`${s}.*`)));
  for (const schema of [...new Set([...usage, ...create])].sort()) {
    grants.schemas.push({ schema, privileges: create.has(schema) ? ['USAGE', 'CREATE'] : ['USAGE'] });
  }
  grants.relations.sort((a, b) => `${a.schema}.${a.name}`.localeCompare(`${b.schema}.${b.name}`));
  return grants;
}

export function quoteIdent(name: string): string {
  if (name.includes('\0')) throw new Error('identifier contains a NUL byte');
  return `"${name.replaceAll('"', '""')}"`;
}

/** A string literal that reads the same whatever standard_conforming_strings says. */
export function quoteLiteral(value: string): string {
  if (value.includes('\0')) throw new Error('literal contains a NUL byte');
  const body = value.replaceAll("'", "''");
  return value.includes('\\') ? `E'${body.replaceAll('\\', '\\\\')}'` : `'${body}'`;
}

const qualified = (schema: string, name: string): string => `${quoteIdent(schema)}.${quoteIdent(name)}`;

/** The GRANT statements for a role, grouped so that objects with the same privileges share one statement. */
export function grantStatements(role: string, grants: RoleGrants): string[] {
  const to = quoteIdent(role);
  const out: string[] = [];
  const group = <T>(items: T[], key: (t: T) => string, name: (t: T) => string, render: (k: string, names: string) => string): void => {
    const groups = new Map<string, string[]>();
    for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), name(item)]);
    for (const [k, names] of groups) out.push(render(k, names.join(', ')));
  };
  group(grants.schemas, (s) => s.privileges.join(', '), (s) => quoteIdent(s.schema), (k, n) => `GRANT ${k} ON SCHEMA ${n} TO ${to}`);
  group(grants.relations, (r) => r.privileges.join(', '), (r) => qualified(r.schema, r.name), (k, n) => `GRANT ${k} ON TABLE ${n} TO ${to}`);
  if (grants.sequences.length > 0) out.push(`GRANT USAGE ON SEQUENCE ${grants.sequences.map((s) => qualified(s.schema, s.name)).join(', ')} TO ${to}`);
  for (const r of grants.routines) {
    // The signature is Postgres's own rendering (format_type quotes every name that needs it).
    out.push(`GRANT EXECUTE ON ROUTINE ${qualified(r.schema, r.name)}(${r.signature}) TO ${to}`);
  }
  return out;
}
