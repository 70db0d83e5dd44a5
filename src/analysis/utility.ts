// Utility statements: DDL, maintenance, privileges, server administration, session commands.
import { inner, list, names, tag, type Node } from './ast.ts';
import { addAction, addGuardrail, type Env } from './env.ts';
import { createdRelation, ddl, existingRangeVar, objectTarget, qualified } from './ddl-targets.ts';
import { lockTargets } from './relations.ts';
import { resolveRangeVar } from './resolve.ts';
import { createFunction, ddlExpressions, createTable, referencedRelations } from './ddl-bodies.ts';
import type { StatementKind } from './types.ts';

const PRIVILEGE_STMTS = new Set([
  'GrantStmt', 'GrantRoleStmt', 'AlterDefaultPrivilegesStmt', 'CreateRoleStmt', 'AlterRoleStmt', 'AlterRoleSetStmt',
  'DropRoleStmt', 'AlterDatabaseSetStmt', 'ReassignOwnedStmt', 'DropOwnedStmt', 'AlterOwnerStmt',
]);

const SERVER_ADMIN_STMTS = new Set([
  'AlterSystemStmt', 'LoadStmt', 'CheckPointStmt', 'CreateExtensionStmt', 'AlterExtensionStmt',
  'AlterExtensionContentsStmt', 'CreateTableSpaceStmt', 'DropTableSpaceStmt', 'AlterTableSpaceOptionsStmt',
  'AlterTableMoveAllStmt', 'CreateEventTrigStmt', 'AlterEventTrigStmt', 'CreatePLangStmt', 'CreateFdwStmt',
  'AlterFdwStmt', 'CreateForeignServerStmt', 'AlterForeignServerStmt', 'CreateUserMappingStmt',
  'AlterUserMappingStmt', 'DropUserMappingStmt', 'ImportForeignSchemaStmt', 'CreatePublicationStmt',
  'AlterPublicationStmt', 'CreateSubscriptionStmt', 'AlterSubscriptionStmt', 'DropSubscriptionStmt',
  'CreatedbStmt', 'DropdbStmt', 'AlterDatabaseStmt', 'AlterDatabaseRefreshCollStmt', 'CreateAmStmt',
  'CreateCastStmt', 'CreateTransformStmt', 'SecLabelStmt', 'AlterSystemStmt',
]);

/** Other schema-object DDL whose object is found from its name fields. */
const NAMED_DDL: Record<string, string> = {
  DefineStmt: 'defnames', CreateEnumStmt: 'typeName', CreateRangeStmt: 'typeName', AlterEnumStmt: 'typeName',
  CreateDomainStmt: 'domainname', AlterDomainStmt: 'typeName', CreateConversionStmt: 'conversion_name',
  CreateOpClassStmt: 'opclassname', CreateOpFamilyStmt: 'opfamilyname', AlterOpFamilyStmt: 'opfamilyname',
  AlterTSDictionaryStmt: 'dictname', AlterTSConfigurationStmt: 'cfgname', AlterCollationStmt: 'collname',
  CreateStatsStmt: 'defnames', AlterStatsStmt: 'defnames',
};

/** Facts of a utility statement; undefined when the node is not one this module knows. */
export function utilityStatement(env: Env, t: string, v: Node, sql: string): StatementKind | undefined {
  if (PRIVILEGE_STMTS.has(t)) {
    addAction(env, 'admin', '*', t.replace(/Stmt$/, ''));
    addGuardrail(env, 'privilege-change', t.replace(/Stmt$/, ''));
    if (t === 'DropRoleStmt' || t === 'DropOwnedStmt') addGuardrail(env, 'drop', t.replace(/Stmt$/, ''));
    if (t === 'AlterOwnerStmt') ddl(env, v.relation ? existingRangeVar(env, v.relation as Node, false) : objectTarget(env, String(v.objectType), v.object as Node, false), 'ALTER OWNER');
    env.sink.changesCatalog = true;
    return 'ddl';
  }
  if (SERVER_ADMIN_STMTS.has(t)) {
    addGuardrail(env, 'server-admin', t.replace(/Stmt$/, ''));
    if (t !== 'CheckPointStmt' && t !== 'LoadStmt' && t !== 'AlterSystemStmt') ddl(env, '*', t.replace(/Stmt$/, ''));
    return t === 'CheckPointStmt' || t === 'LoadStmt' || t === 'AlterSystemStmt' ? 'utility' : 'ddl';
  }
  switch (t) {
    case 'DoStmt': addGuardrail(env, 'do-block', 'DO block'); return 'utility';
    case 'ListenStmt': case 'NotifyStmt': case 'UnlistenStmt':
      addGuardrail(env, 'listen-notify', t.replace(/Stmt$/, '').toUpperCase()); return 'listen';
    case 'DiscardStmt': addGuardrail(env, 'session-authorization', `DISCARD ${String(v.target ?? '').replace('DISCARD_', '')}`); return 'discard';
    case 'ConstraintsSetStmt': return 'set';
    case 'LockStmt':
      for (const rv of list(v.relations)) {
        const r = resolveRangeVar(env, inner(rv));
        if (r.status === 'found') for (const k of lockTargets(env, r.rel, r.key)) addAction(env, 'update', k, 'LOCK');
        else addAction(env, 'update', existingRangeVar(env, inner(rv), false), 'LOCK');
      }
      return 'lock';
    case 'TruncateStmt':
      for (const rv of list(v.relations)) {
        const key = existingRangeVar(env, inner(rv), false);
        addAction(env, 'truncate', key, 'TRUNCATE');
        addGuardrail(env, 'truncate', `TRUNCATE ${key}`);
      }
      return 'utility';
    case 'VacuumStmt': {
      const rels = list(v.rels);
      const what = v.is_vacuumcmd ? 'VACUUM' : 'ANALYZE';
      if (rels.length === 0) addAction(env, 'ddl', '*', what);
      for (const r of rels) addAction(env, 'ddl', existingRangeVar(env, inner(r).relation as Node, false), what);
      return 'maintenance';
    }
    case 'ReindexStmt':
      addAction(env, 'ddl', v.relation ? existingRangeVar(env, v.relation as Node, false) : v.name ? `${String(v.name)}.*` : '*', 'REINDEX');
      return 'maintenance';
    case 'ClusterStmt':
      addAction(env, 'ddl', v.relation ? existingRangeVar(env, v.relation as Node, false) : '*', 'CLUSTER');
      return 'maintenance';
    case 'RefreshMatViewStmt':
      addAction(env, 'ddl', existingRangeVar(env, v.relation as Node, false), 'REFRESH MATERIALIZED VIEW');
      return 'maintenance';
    case 'CreateStmt': case 'CreateForeignTableStmt': createTable(env, t === 'CreateStmt' ? v : ((v.base as Node | undefined) ?? {})); return 'ddl';
    case 'CreateFunctionStmt': createFunction(env, v, sql); return 'ddl';
    case 'AlterFunctionStmt': {
      const obj = objectTarget(env, String(v.objtype ?? 'OBJECT_FUNCTION'), v.func as Node, false);
      ddl(env, obj, 'ALTER FUNCTION');
      for (const a of list(v.actions)) {
        const d = inner(a);
        if (d.defname === 'security' && (d.arg === undefined || inner(d.arg as Node).boolval)) addGuardrail(env, 'security-definer', `ALTER FUNCTION ${obj} SECURITY DEFINER`);
      }
      return 'ddl';
    }
    case 'IndexStmt':
      ddl(env, existingRangeVar(env, v.relation as Node, false), 'CREATE INDEX');
      ddlExpressions(env, [...list(v.indexParams).map((p) => inner(p).expr as Node), v.whereClause as Node]);
      return 'ddl';
    case 'AlterTableStmt': return alterTable(env, v);
    case 'RenameStmt': {
      const rt = String(v.renameType ?? '');
      if (rt === 'OBJECT_ROLE') { addAction(env, 'admin', '*', 'RENAME ROLE'); addGuardrail(env, 'privilege-change', 'ALTER ROLE RENAME'); return 'ddl'; }
      if (rt === 'OBJECT_DATABASE') { addGuardrail(env, 'server-admin', 'ALTER DATABASE RENAME'); ddl(env, '*', 'RENAME'); return 'ddl'; }
      if (rt === 'OBJECT_SCHEMA') { ddl(env, `${String(v.subname)}.*`, 'RENAME'); ddl(env, `${String(v.newname)}.*`, 'RENAME'); return 'ddl'; }
      ddl(env, v.relation ? existingRangeVar(env, v.relation as Node, Boolean(v.missing_ok)) : objectTarget(env, rt, v.object as Node, Boolean(v.missing_ok)), 'RENAME');
      return 'ddl';
    }
    case 'CommentStmt': ddl(env, objectTarget(env, String(v.objtype), v.object as Node, false), 'COMMENT'); return 'ddl';
    case 'DropStmt': {
      const type = String(v.removeType ?? '');
      if (type === 'OBJECT_EXTENSION') addGuardrail(env, 'server-admin', 'DROP EXTENSION');
      for (const o of list(v.objects)) {
        const obj = objectTarget(env, type, o, Boolean(v.missing_ok));
        ddl(env, obj, 'DROP');
        addGuardrail(env, 'drop', `DROP ${type.replace('OBJECT_', '')} ${obj}`);
      }
      return 'ddl';
    }
    case 'CreateSchemaStmt': {
      const name = (v.schemaname as string | undefined) ?? String(inner(v.authrole ?? {}).rolename ?? '?');
      ddl(env, `${name}.*`, 'CREATE SCHEMA');
      return 'ddl';
    }
    case 'CreateSeqStmt': ddl(env, createdRelation(env, v.sequence as Node), 'CREATE SEQUENCE'); return 'ddl';
    case 'AlterSeqStmt': ddl(env, existingRangeVar(env, v.sequence as Node, Boolean(v.missing_ok)), 'ALTER SEQUENCE'); return 'ddl';
    case 'CompositeTypeStmt': ddl(env, createdRelation(env, v.typevar as Node), 'CREATE TYPE'); return 'ddl';
    case 'CreateTrigStmt': case 'CreatePolicyStmt': case 'AlterPolicyStmt': case 'RuleStmt':
      return onTable(env, t, v);
    case 'AlterObjectSchemaStmt':
      ddl(env, v.relation ? existingRangeVar(env, v.relation as Node, Boolean(v.missing_ok)) : objectTarget(env, String(v.objectType), v.object as Node, Boolean(v.missing_ok)), 'SET SCHEMA');
      ddl(env, `${String(v.newschema)}.*`, 'SET SCHEMA');
      return 'ddl';
    default: break;
  }
  if (NAMED_DDL[t]) {
    const field = v[NAMED_DDL[t]];
    const parts = Array.isArray(field) ? names(field) : typeof field === 'string' ? [field] : [];
    ddl(env, parts.length > 0 ? qualified(env, parts) : '*', t.replace(/Stmt$/, ''));
    if (t === 'CreateStatsStmt') for (const r of list(v.relations)) if (tag(r) === 'RangeVar') ddl(env, existingRangeVar(env, inner(r), false), 'CREATE STATISTICS');
    return 'ddl';
  }
  return undefined;
}

function onTable(env: Env, t: string, v: Node): StatementKind {
  const rv = (v.relation ?? v.table) as Node | undefined;
  ddl(env, existingRangeVar(env, rv, false), t.replace(/Stmt$/, ''));
  if (t === 'CreateTrigStmt') ddlExpressions(env, [{ FuncCall: { funcname: v.funcname, args: [] } }]);
  if (t === 'CreatePolicyStmt' || t === 'AlterPolicyStmt') ddlExpressions(env, [v.qual as Node, v.with_check as Node]);
  return 'ddl';
}

const DROPPING_SUBCMDS = new Set(['AT_DropColumn', 'AT_DropConstraint']);

function alterTable(env: Env, v: Node): StatementKind {
  const key = existingRangeVar(env, v.relation as Node, Boolean(v.missing_ok));
  ddl(env, key, 'ALTER TABLE');
  for (const c of list(v.cmds)) {
    const cmd = inner(c);
    const sub = String(cmd.subtype ?? '');
    if (DROPPING_SUBCMDS.has(sub)) addGuardrail(env, 'drop', `ALTER TABLE ${key} ${sub === 'AT_DropColumn' ? 'DROP COLUMN' : 'DROP CONSTRAINT'} ${String(cmd.name ?? '')}`);
    if (sub === 'AT_ChangeOwner') { addAction(env, 'admin', '*', 'ALTER TABLE OWNER'); addGuardrail(env, 'privilege-change', `ALTER TABLE ${key} OWNER TO`); }
    const def = cmd.def as Node | undefined;
    if (!def) continue;
    const dt = tag(def);
    if (dt === 'ColumnDef' || dt === 'Constraint') referencedRelations(env, [def]);
    if (dt === 'ColumnDef') ddlExpressions(env, [inner(def).raw_default as Node, ...list(inner(def).constraints).map((k) => inner(k).raw_expr as Node)]);
    else if (dt === 'Constraint') ddlExpressions(env, [inner(def).raw_expr as Node]);
    else if (dt === 'PartitionCmd') ddl(env, existingRangeVar(env, inner(def).name as Node, false), 'ALTER TABLE PARTITION');
    else if (dt === 'RangeVar') ddl(env, existingRangeVar(env, inner(def), false), 'ALTER TABLE INHERIT');
    else if (sub === 'AT_ColumnDefault' || sub === 'AT_CookedColumnDefault') ddlExpressions(env, [def]);
  }
  return 'ddl';
}
