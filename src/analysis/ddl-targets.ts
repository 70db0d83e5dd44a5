// Object names of DDL statements, qualified the way Postgres would resolve or create them.
import { inner, list, names, sval, tag, type Node } from './ast.ts';
import { addAction, unanalysable, type Env } from './env.ts';
import { checkDatabase, creationSchema, resolveFunctions, resolveRelation } from './resolve.ts';

export function ddl(env: Env, object: string, via: string): void {
  addAction(env, 'ddl', object, via);
  env.sink.changesCatalog = true;
}

/** A relation created by this statement: "schema.name" (temp ones in pg_temp, recorded in createsTemp). */
export function createdRelation(env: Env, rv: Node): string {
  const name = String(rv.relname ?? '');
  if (!checkDatabase(env, rv.catalogname as string | undefined, name)) return '*';
  const temp = rv.relpersistence === 't' || rv.schemaname === 'pg_temp';
  if (temp) {
    if (!env.sink.createsTemp.includes(name)) env.sink.createsTemp.push(name);
    return `pg_temp.${name}`;
  }
  return `${(rv.schemaname as string | undefined) ?? creationSchema(env)}.${name}`;
}

/** An existing relation named by parts; missing_ok targets need not exist. */
export function existingRelation(env: Env, parts: string[], missingOk: boolean): string {
  const name = parts[parts.length - 1] ?? '';
  if (parts.length > 3 || (parts.length === 3 && !checkDatabase(env, parts[0], parts.join('.')))) return '*';
  const schema = parts.length >= 2 ? parts[parts.length - 2] : undefined;
  const r = resolveRelation(env, schema, name);
  if (r.status === 'found') return r.key;
  if (r.status === 'absent' && !missingOk) unanalysable(env, `relation ${r.name} does not exist`);
  return `${schema ?? creationSchema(env)}.${name}`;
}

export function rangeVarParts(rv: Node): string[] {
  return [rv.catalogname, rv.schemaname, rv.relname].filter((x): x is string => typeof x === 'string');
}

export function existingRangeVar(env: Env, rv: Node | undefined, missingOk: boolean): string {
  if (!rv) return '*';
  return existingRelation(env, rangeVarParts(rv), missingOk);
}

/** A routine named by parts (ObjectWithArgs objname). */
export function existingRoutine(env: Env, parts: string[], missingOk: boolean): string {
  const r = resolveFunctions(env, parts);
  if (r.status === 'found') return `${r.fns[0].schema}.${r.fns[0].name}`;
  if (r.status === 'absent' && !missingOk) unanalysable(env, `function ${r.name} does not exist`);
  return qualified(env, parts);
}

/** Any other schema object: as written, or in the creation schema. */
export function qualified(env: Env, parts: string[]): string {
  if (parts.length >= 2) return parts.slice(-2).join('.');
  return `${creationSchema(env)}.${parts[0] ?? ''}`;
}

const RELATION_TYPES = new Set([
  'OBJECT_TABLE', 'OBJECT_VIEW', 'OBJECT_MATVIEW', 'OBJECT_INDEX', 'OBJECT_SEQUENCE', 'OBJECT_FOREIGN_TABLE',
]);
const ROUTINE_TYPES = new Set(['OBJECT_FUNCTION', 'OBJECT_PROCEDURE', 'OBJECT_ROUTINE', 'OBJECT_AGGREGATE']);
const ON_TABLE_TYPES = new Set(['OBJECT_TRIGGER', 'OBJECT_POLICY', 'OBJECT_RULE', 'OBJECT_TABCONSTRAINT', 'OBJECT_COLUMN']);

/** The object a DROP / COMMENT / ALTER ... names, by object type. */
export function objectTarget(env: Env, objtype: string, obj: Node | undefined, missingOk: boolean): string {
  if (!obj) return '*';
  const t = tag(obj);
  const v = inner(obj);
  if (ROUTINE_TYPES.has(objtype) && t === 'ObjectWithArgs') return existingRoutine(env, names(v.objname), missingOk);
  if (objtype === 'OBJECT_SCHEMA') return `${sval(obj) ?? '?'}.*`;
  if (t === 'TypeName') return qualified(env, names(v.names));
  const parts = t === 'List' ? names(v.items) : t === 'String' ? [sval(obj) ?? ''] : [];
  if (RELATION_TYPES.has(objtype)) return existingRelation(env, parts, missingOk);
  if (ON_TABLE_TYPES.has(objtype)) {
    const tableParts = parts.slice(0, -1);
    return tableParts.length > 0 ? existingRelation(env, tableParts, missingOk) : '*';
  }
  if (parts.length === 0) return '*';
  if (objtype === 'OBJECT_EXTENSION' || objtype === 'OBJECT_DATABASE' || objtype === 'OBJECT_ROLE'
    || objtype === 'OBJECT_TABLESPACE' || objtype === 'OBJECT_LANGUAGE' || objtype === 'OBJECT_FDW'
    || objtype === 'OBJECT_FOREIGN_SERVER' || objtype === 'OBJECT_EVENT_TRIGGER' || objtype === 'OBJECT_PUBLICATION'
    || objtype === 'OBJECT_SUBSCRIPTION' || objtype === 'OBJECT_ACCESS_METHOD') return '*';
  return qualified(env, parts);
}

