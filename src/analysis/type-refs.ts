// Type names that name a relation's row type. Casting to one reveals the
// relation's shape (`(NULL::s.t).*` lists its columns, `json_populate_record`
// fills them), so it counts as reading the relation: an identity that may
// not read billing.api_keys may not name its row type either. A cast to a
// reg* type names a catalog object by text, which makes the statement a
// metadata query (see statements.ts: its string constants are checked).
import { inner, names, type Node } from './ast.ts';
import type { Env } from './env.ts';
import { noteRead } from './relations.ts';
import { checkDatabase, relationAt, relationSearchOrder, SYSTEM_SCHEMAS } from './resolve.ts';

const REG_TYPES = new Set([
  'regclass', 'regtype', 'regproc', 'regprocedure', 'regoper', 'regoperator', 'regnamespace', 'regrole',
  'regconfig', 'regdictionary', 'regcollation',
]);

/** `typeName` is a TypeName's fields (TypeCast.typeName) or a wrapped TypeName node. */
export function typeReference(env: Env, typeName: unknown): void {
  if (typeName === null || typeof typeName !== 'object') return;
  const fields = 'TypeName' in typeName ? inner(typeName as Node) : (typeName as Record<string, unknown>);
  const parts = names(fields.names);
  if (parts.length === 0 || parts.length > 3) return;
  const name = parts[parts.length - 1];
  // reg* values name catalog objects ('s.t'::regclass): the statement is a metadata query.
  if (REG_TYPES.has(name) && (parts.length === 1 || parts[0] === 'pg_catalog')) {
    env.sink.readsCatalog = true;
    return;
  }
  if (parts.length === 3 && !checkDatabase(env, parts[0], parts.join('.'))) return;
  // Built-in types live in pg_catalog; a catalog's row type shows only catalog structure.
  const schemas = parts.length > 1 ? [parts[parts.length - 2]] : relationSearchOrder(env, name);
  for (const schema of schemas) {
    if (SYSTEM_SCHEMAS.has(schema)) continue;
    const rel = relationAt(env, schema, name);
    if (rel === undefined) return; // asked for; the analysis runs again with the answer
    if (rel === null) continue;
    noteRead(env, rel, schema === 'pg_temp' ? `pg_temp.${name}` : `${rel.schema}.${rel.name}`, 'type');
    return;
  }
}
