// Which objects a metadata query can list. Catalogs with a row per user object
// (pg_class, pg_attribute, information_schema.tables, …) show denied tables as
// readily as allowed ones, so a read of one must be narrowed: by a name or an
// oid, a name pattern, or visibility through the search path, either directly
// or by an oid join to a narrowed catalog. What it is narrowed to is then
// checked against the deny rules (decide.ts); a read left unnarrowed could list
// every object.
import { constOf, inner, list, names, tag, type Node } from './ast.ts';
import { evalConst } from './const-fold.ts';
import type { PatternOp } from './types.ts';

/** Catalog relations that list user objects by name, by schema. */
const OBJECT_CATALOGS: Record<string, ReadonlySet<string>> = {
  pg_catalog: new Set([
    'pg_class', 'pg_namespace', 'pg_attribute', 'pg_attrdef', 'pg_index', 'pg_constraint', 'pg_trigger', 'pg_rewrite',
    'pg_policy', 'pg_inherits', 'pg_partitioned_table', 'pg_description', 'pg_sequence', 'pg_tables', 'pg_views',
    'pg_matviews', 'pg_indexes', 'pg_sequences', 'pg_policies', 'pg_rules', 'pg_stat_all_tables', 'pg_stat_user_tables',
    'pg_stat_sys_tables', 'pg_stat_xact_all_tables', 'pg_stat_xact_user_tables', 'pg_statio_all_tables',
    'pg_statio_user_tables', 'pg_stat_all_indexes', 'pg_stat_user_indexes', 'pg_statio_all_indexes',
    'pg_statio_user_indexes', 'pg_statio_all_sequences', 'pg_statio_user_sequences', 'pg_publication_rel',
    'pg_statistic_ext',
  ]),
  information_schema: new Set([
    'tables', 'columns', 'views', 'schemata', 'table_constraints', 'key_column_usage', 'constraint_column_usage',
    'constraint_table_usage', 'referential_constraints', 'check_constraints', 'table_privileges', 'column_privileges',
    'role_table_grants', 'role_column_grants', 'triggers', 'sequences', 'view_table_usage', 'view_column_usage',
    'column_udt_usage', 'column_domain_usage', 'column_options', 'element_types',
  ]),
};

/** Columns holding an object's oid, or the oid of the relation or schema a row belongs to. */
const OID_COLUMNS = new Set([
  'oid', 'relnamespace', 'attrelid', 'adrelid', 'indrelid', 'indexrelid', 'conrelid', 'connamespace', 'tgrelid',
  'ev_class', 'polrelid', 'inhrelid', 'inhparent', 'partrelid', 'objoid', 'seqrelid', 'relid', 'prrelid', 'stxrelid',
  'stxnamespace',
]);

/** Columns holding the oid of the relation a row belongs to. */
const RELATION_REFS = new Set([
  'attrelid', 'adrelid', 'indrelid', 'conrelid', 'tgrelid', 'ev_class', 'polrelid', 'inhrelid', 'inhparent', 'partrelid',
  'objoid', 'seqrelid', 'relid', 'prrelid', 'stxrelid',
]);

/** The prefix of pg_catalog tables' column names, which tells whose an unqualified column is. */
const COLUMN_PREFIX: Record<string, string> = {
  'pg_catalog.pg_class': 'rel', 'pg_catalog.pg_namespace': 'nsp', 'pg_catalog.pg_attribute': 'att', 'pg_catalog.pg_attrdef': 'ad',
  'pg_catalog.pg_index': 'ind', 'pg_catalog.pg_constraint': 'con', 'pg_catalog.pg_trigger': 'tg', 'pg_catalog.pg_rewrite': 'ev_',
  'pg_catalog.pg_policy': 'pol', 'pg_catalog.pg_inherits': 'inh', 'pg_catalog.pg_partitioned_table': 'part',
  'pg_catalog.pg_sequence': 'seq', 'pg_catalog.pg_publication_rel': 'pr', 'pg_catalog.pg_statistic_ext': 'stx',
};

/** Columns holding the name of the relation or schema a row belongs to. */
const NAME_COLUMNS = new Set([
  'relname', 'nspname', 'schemaname', 'tablename', 'viewname', 'matviewname', 'sequencename', 'indexrelname',
  'table_schema', 'table_name', 'schema_name', 'sequence_schema', 'sequence_name', 'view_schema', 'view_name',
  'constraint_schema', 'event_object_schema', 'event_object_table', 'trigger_schema', 'object_schema', 'object_name',
]);

/** Built-ins that keep only objects visible through the search path. */
const VISIBILITY_FUNCTIONS = new Set(['pg_table_is_visible']);

const PATTERN_OPS: Record<string, PatternOp> = { '~~': 'like', '~~*': 'ilike', '~': 'regex', '~*': 'iregex' };

export interface NamePattern {
  op: PatternOp;
  pattern: string;
  /** A relation-name pattern ANDed with a schema-name condition: only its matches in these schemas are read. */
  withinSchemas?: string[];
}

export interface CatalogScope {
  /** Names the reads are narrowed to, computed where needed ('bill' || 'ing'), lower-cased. */
  names: string[];
  /** Name patterns the reads are narrowed to (resolved against the catalog by the caller). */
  patterns: NamePattern[];
  /** Oids the reads are narrowed to. */
  oids: number[];
  /** Some read is narrowed to what the search path shows. */
  visible: boolean;
  /** The first object catalog read without a narrowing condition, e.g. "pg_catalog.pg_class". */
  unnarrowed?: string;
}

interface Entry {
  ref: string;
  catalog: string;
  /** Narrowed by a name, pattern or oid. */
  narrowed: boolean;
  /** Narrowed by visibility through the search path (weaker: counts only without a name). */
  visible: boolean;
  parent: Entry;
}

/** What the object-catalog reads in a statement tree are narrowed to. */
export function catalogScope(tree: Node): CatalogScope {
  const scope: CatalogScope = { names: [], patterns: [], oids: [], visible: false };
  // outer: the object catalogs of enclosing levels, which a correlated subquery can join to.
  const visit = (x: unknown, outer: Entry[]): void => {
    if (Array.isArray(x)) { for (const i of x) visit(i, outer); return; }
    if (x === null || typeof x !== 'object') return;
    const o = x as Node;
    const t = tag(o);
    if (t === 'SelectStmt') { visitSelect(o.SelectStmt as Node, outer); return; }
    let level: Entry[] = [];
    if (t === 'UpdateStmt') level = judgeLevel(scope, list(o.UpdateStmt.fromClause), o.UpdateStmt.whereClause, outer);
    else if (t === 'DeleteStmt') level = judgeLevel(scope, list(o.DeleteStmt.usingClause), o.DeleteStmt.whereClause, outer);
    const within = level.length > 0 ? [...level, ...outer] : outer;
    for (const k in o) visit(o[k], within);
  };
  // The branches of UNION / INTERSECT / EXCEPT are SelectStmt fields without the wrapper, and levels of their own.
  const visitSelect = (v: Node, outer: Entry[]): void => {
    const level = judgeLevel(scope, list(v.fromClause), v.whereClause, outer);
    const within = level.length > 0 ? [...level, ...outer] : outer;
    for (const k in v) {
      if ((k === 'larg' || k === 'rarg') && v[k]) visitSelect(v[k] as Node, outer);
      else visit(v[k], within);
    }
  };
  visit(tree, []);
  return scope;
}

/** One query level: its object-catalog FROM items must each be narrowed by its WHERE or join conditions. */
function judgeLevel(scope: CatalogScope, from: Node[], where: Node | undefined, outer: Entry[]): Entry[] {
  const entries: Entry[] = [];
  const conditions: Node[] = [];
  const outerJoinConditions: Node[] = [];
  for (const item of from) collectFrom(item, entries, conditions, outerJoinConditions);
  if (entries.length === 0) return entries;
  if (where) conditions.push(where);
  const conjuncts = conditions.flatMap(splitAnd);
  const relationPatterns: { pattern: NamePattern; entry: Entry }[] = [];
  for (const c of conjuncts) {
    const link = oidJoin(c, entries, outer);
    if (link) { union(link[0], link[1]); continue; }
    if (isVisibilityTest(c, entries)) { root(isVisibilityTest(c, entries)!).visible = true; continue; }
    const before = scope.patterns.length;
    for (const e of narrowedBy(scope, c, entries)) root(e).narrowed = true;
    const entry = relationNamePatternEntry(c, entries);
    if (entry && scope.patterns.length === before + 1) relationPatterns.push({ pattern: scope.patterns[before], entry });
  }
  for (const { pattern, entry } of relationPatterns) {
    const schemas = schemaNamesOf(conjuncts, entries, entry);
    if (schemas.length > 0) pattern.withinSchemas = schemas;
  }
  // An outer join's ON keeps every row of its preserved side: it ties rows, but narrows nothing.
  const outerConjuncts = outerJoinConditions.flatMap(splitAnd);
  for (const c of outerConjuncts) {
    const link = oidJoin(c, entries, outer);
    if (link) union(link[0], link[1]);
  }
  for (const [a, b] of nameJoins([...conjuncts, ...outerConjuncts], entries)) union(a, b);
  for (const e of entries) {
    const r = root(e);
    if (r.narrowed) continue;
    // psql's \d name pairs a name pattern with visibility; visibility alone stands for the search path's schemas.
    if (r.visible) scope.visible = true;
    else scope.unnarrowed ??= e.catalog;
  }
  return entries;
}

/** pg_table_is_visible(c.oid): the entry it keeps to the search path. */
function isVisibilityTest(c: Node, entries: Entry[]): Entry | undefined {
  if (tag(c) !== 'FuncCall') return undefined;
  const v = inner(c);
  const args = list(v.args);
  if (!VISIBILITY_FUNCTIONS.has(names(v.funcname).pop() ?? '') || args.length !== 1) return undefined;
  const col = columnOf(args[0], entries);
  return col?.column === 'oid' ? col.entry : undefined;
}

function collectFrom(item: Node, entries: Entry[], conditions: Node[], outerJoinConditions: Node[] = []): void {
  const t = tag(item);
  const v = inner(item);
  if (t === 'JoinExpr') {
    collectFrom(v.larg as Node, entries, conditions, outerJoinConditions);
    collectFrom(v.rarg as Node, entries, conditions, outerJoinConditions);
    const innerJoin = v.jointype === undefined || v.jointype === 'JOIN_INNER';
    if (v.quals) (innerJoin ? conditions : outerJoinConditions).push(v.quals as Node);
    return;
  }
  if (t !== 'RangeVar') return;
  const catalog = objectCatalog(v.schemaname as string | undefined, String(v.relname ?? ''));
  if (!catalog) return;
  const e = { ref: String(v.alias?.aliasname ?? v.relname), catalog, narrowed: false, visible: false } as Entry;
  e.parent = e;
  entries.push(e);
}

function objectCatalog(schema: string | undefined, name: string): string | undefined {
  // Unqualified names: pg_catalog is searched first; information_schema only when qualified.
  const s = schema ?? 'pg_catalog';
  return OBJECT_CATALOGS[s]?.has(name) ? `${s}.${name}` : undefined;
}

function splitAnd(n: Node): Node[] {
  if (tag(n) === 'BoolExpr' && inner(n).boolop === 'AND_EXPR') return list(inner(n).args).flatMap(splitAnd);
  const pairs = rowEqualityPairs(n);
  if (pairs) return pairs.flatMap(splitAnd);
  return [n];
}

/** `(a, b) = (x, y)` is `a = x AND b = y`: the pairwise equalities, or undefined for any other condition. */
function rowEqualityPairs(n: Node): Node[] | undefined {
  const v = inner(n);
  if (tag(n) !== 'A_Expr' || v.kind !== 'AEXPR_OP' || operator(v) !== '=') return undefined;
  const l = v.lexpr as Node | undefined, r = v.rexpr as Node | undefined;
  if (!l || !r || tag(l) !== 'RowExpr' || tag(r) !== 'RowExpr') return undefined;
  const ls = list(inner(l).args), rs = list(inner(r).args);
  if (ls.length === 0 || ls.length !== rs.length) return undefined;
  return ls.map((lexpr, i) => ({ A_Expr: { kind: 'AEXPR_OP', name: v.name, lexpr, rexpr: rs[i] } }));
}

function root(e: Entry): Entry {
  while (e.parent !== e) e = e.parent;
  return e;
}

function union(a: Entry, b: Entry): void {
  const ra = root(a), rb = root(b);
  if (ra === rb) return;
  rb.parent = ra;
  ra.narrowed ||= rb.narrowed;
  ra.visible ||= rb.visible;
}

/**
 * `a.oid = b.attrelid`, `d.adrelid = a.attrelid`: rows of one catalog tied to the
 * objects of the other (here or in an enclosing level). Two references to a
 * schema (`c.relnamespace = c2.relnamespace`) are no tie: they widen a narrowed
 * table to its whole schema.
 */
function oidJoin(c: Node, entries: Entry[], outer: Entry[]): [Entry, Entry] | undefined {
  const v = inner(c);
  if (tag(c) !== 'A_Expr' || v.kind !== 'AEXPR_OP' || operator(v) !== '=') return undefined;
  const l = columnOf(v.lexpr as Node, entries, outer), r = columnOf(v.rexpr as Node, entries, outer);
  if (!l || !r || l.entry === r.entry) return undefined;
  const tied = l.column === 'oid' || r.column === 'oid' || (RELATION_REFS.has(l.column) && RELATION_REFS.has(r.column));
  return tied ? [l.entry, r.entry] : undefined;
}

/** Name columns that, compared pairwise, identify the same object within the same schema. */
const SCHEMA_KEY_COLUMNS = new Set(['table_schema', 'constraint_schema']);
const OBJECT_KEY_COLUMNS = new Set(['table_name', 'constraint_name']);
/** information_schema views whose rows are each about one relation (not also a view, domain or referenced table). */
const ONE_OBJECT_VIEWS = new Set([
  'tables', 'columns', 'views', 'table_constraints', 'key_column_usage', 'table_privileges', 'column_privileges',
  'role_table_grants', 'role_column_grants', 'column_options',
].map((v) => `information_schema.${v}`));

/**
 * `tc.table_schema = kcu.table_schema AND tc.constraint_name = kcu.constraint_name`: information_schema
 * rows tied by schema and object name are about the same objects, as an oid join ties catalog rows.
 * The schema alone is no tie: it widens a narrowed table to its whole schema. Views whose rows also
 * name a second object (view_table_usage, constraint_column_usage) are no tie either: that object
 * may live in another schema.
 */
function nameJoins(conjuncts: Node[], entries: Entry[]): [Entry, Entry][] {
  const shared = new Map<string, { a: Entry; b: Entry; columns: Set<string> }>();
  for (const c of conjuncts) {
    const v = inner(c);
    if (tag(c) !== 'A_Expr' || v.kind !== 'AEXPR_OP' || operator(v) !== '=') continue;
    const l = columnOf(v.lexpr as Node, entries), r = columnOf(v.rexpr as Node, entries);
    if (!l || !r || l.entry === r.entry || l.column !== r.column) continue;
    if (!ONE_OBJECT_VIEWS.has(l.entry.catalog) || !ONE_OBJECT_VIEWS.has(r.entry.catalog)) continue;
    const [a, b] = entries.indexOf(l.entry) < entries.indexOf(r.entry) ? [l.entry, r.entry] : [r.entry, l.entry];
    const key = `${entries.indexOf(a)}:${entries.indexOf(b)}`;
    const pair = shared.get(key) ?? { a, b, columns: new Set<string>() };
    pair.columns.add(l.column);
    shared.set(key, pair);
  }
  return [...shared.values()]
    .filter((p) => [...p.columns].some((x) => SCHEMA_KEY_COLUMNS.has(x)) && [...p.columns].some((x) => OBJECT_KEY_COLUMNS.has(x)))
    .map((p) => [p.a, p.b]);
}

const RELATION_NAME_COLUMNS = new Set(['relname', 'tablename', 'table_name', 'viewname', 'matviewname', 'sequencename']);
const SCHEMA_NAME_COLUMNS = new Set(['nspname', 'schemaname', 'table_schema']);

/** `c.relname LIKE '%'`: the entry whose relation names a pattern condition matches. */
function relationNamePatternEntry(c: Node, entries: Entry[]): Entry | undefined {
  const v = inner(c);
  if (tag(c) !== 'A_Expr' || !PATTERN_OPS[operator(v)]) return undefined;
  if (!['AEXPR_OP', 'AEXPR_LIKE', 'AEXPR_ILIKE'].includes(String(v.kind))) return undefined;
  const col = columnOf(v.lexpr as Node, entries);
  return col && RELATION_NAME_COLUMNS.has(col.column) ? col.entry : undefined;
}

/**
 * The schemas a level's conditions keep the rows of `target` to (`n.nspname = 'analytics'` with
 * `c.relnamespace = n.oid`, `table_schema IN (…)`, a LIKE without wildcards); [] when they do not.
 * Only the entry itself and a pg_namespace joined to it by relnamespace count: other ties (inheritance,
 * statistics objects) may cross schemas.
 */
function schemaNamesOf(conjuncts: Node[], entries: Entry[], target: Entry): string[] {
  const holders = new Set([target, ...namespacesOf(conjuncts, entries, target)]);
  const out: string[] = [];
  for (const c of conjuncts) {
    const v = inner(c);
    if (tag(c) !== 'A_Expr') continue;
    const col = columnOf(v.lexpr as Node, entries);
    if (!col || !holders.has(col.entry) || !SCHEMA_NAME_COLUMNS.has(col.column)) continue;
    const op = operator(v);
    const values = v.kind === 'AEXPR_IN' && op === '=' ? list(inner(v.rexpr as Node).items)
      : v.kind === 'AEXPR_OP_ANY' && op === '=' ? arrayItems(v.rexpr as Node)
        : (v.kind === 'AEXPR_OP' && op === '=') || ((v.kind === 'AEXPR_LIKE' || v.kind === 'AEXPR_OP') && op === '~~') ? [v.rexpr as Node] : [];
    for (const x of values) {
      const value = evalConst(foldConcat(unwrap(x)));
      if (typeof value === 'string' && (op !== '~~' || !/[%_\\]/.test(value))) out.push(value);
    }
  }
  return out;
}

/** pg_namespace entries tied to a pg_class entry by `c.relnamespace = n.oid`. */
function namespacesOf(conjuncts: Node[], entries: Entry[], target: Entry): Entry[] {
  if (target.catalog !== 'pg_catalog.pg_class') return [];
  const out: Entry[] = [];
  for (const c of conjuncts) {
    const v = inner(c);
    if (tag(c) !== 'A_Expr' || v.kind !== 'AEXPR_OP' || operator(v) !== '=') continue;
    const l = columnOf(v.lexpr as Node, entries), r = columnOf(v.rexpr as Node, entries);
    if (!l || !r) continue;
    for (const [a, b] of [[l, r], [r, l]]) {
      if (a.entry === target && a.column === 'relnamespace' && b.entry.catalog === 'pg_catalog.pg_namespace' && b.column === 'oid') out.push(b.entry);
    }
  }
  return out;
}

/** The entries a condition narrows, recording what it narrows them to. */
function narrowedBy(scope: CatalogScope, c: Node, entries: Entry[]): Entry[] {
  const t = tag(c);
  const v = inner(c);
  if (t === 'BoolExpr' && v.boolop === 'OR_EXPR') {
    // Every branch must narrow the same entry.
    const branches = list(v.args).map((b) => narrowedBy(scope, b, entries));
    return branches[0]?.filter((e) => branches.every((b) => b.includes(e))) ?? [];
  }
  if (t === 'SubLink' && v.subLinkType === 'ANY_SUBLINK' && (names(v.operName).pop() ?? '=') === '=') {
    // x IN (SELECT oid FROM pg_namespace WHERE …): narrowed to what the subquery is narrowed to.
    const col = columnOf(v.testexpr as Node | undefined, entries);
    return col && isNarrowingColumn(col.column) && readsObjectCatalog(v.subselect as Node) ? [col.entry] : [];
  }
  if (t !== 'A_Expr') return [];
  const col = columnOf(v.lexpr as Node, entries) ?? columnOf(v.rexpr as Node, entries);
  if (!col || !isNarrowingColumn(col.column)) return [];
  const other = (columnOf(v.lexpr as Node, entries) ? v.rexpr : v.lexpr) as Node | undefined;
  if (!other) return [];
  const op = operator(v);
  switch (v.kind) {
    case 'AEXPR_OP':
      if (op === '=') return recordValues(scope, col.column, [other]) ? [col.entry] : [];
      if (PATTERN_OPS[op] && col.column !== 'oid') return recordPattern(scope, PATTERN_OPS[op], other) ? [col.entry] : [];
      return [];
    case 'AEXPR_LIKE': case 'AEXPR_ILIKE':
      return PATTERN_OPS[op] && recordPattern(scope, PATTERN_OPS[op], other) ? [col.entry] : [];
    case 'AEXPR_SIMILAR': {
      // x SIMILAR TO p parses as x ~ similar_to_escape(p); an ESCAPE clause is not followed.
      const args = tag(other) === 'FuncCall' ? list(inner(other).args) : [];
      return op === '~' && args.length === 1 && recordPattern(scope, 'similar', args[0]) ? [col.entry] : [];
    }
    case 'AEXPR_IN':
      return op === '=' && recordValues(scope, col.column, list(inner(other).items)) ? [col.entry] : [];
    case 'AEXPR_OP_ANY':
      return op === '=' && recordValues(scope, col.column, arrayItems(other)) ? [col.entry] : [];
    default:
      return [];
  }
}

function isNarrowingColumn(column: string): boolean {
  return OID_COLUMNS.has(column) || NAME_COLUMNS.has(column);
}

function operator(v: Node): string {
  return names(v.name).pop() ?? '';
}

/** A column of one of the level's object catalogs, or a qualified one of an enclosing level's (through casts and COLLATE). */
function columnOf(n: Node | undefined, entries: Entry[], outer: Entry[] = []): { entry: Entry; column: string } | undefined {
  n = unwrap(n);
  if (!n || tag(n) !== 'ColumnRef') return undefined;
  const fields = names(inner(n).fields);
  const column = fields.at(-1);
  if (!column || fields.length !== list(inner(n).fields).length) return undefined;
  if (fields.length >= 2) {
    const ref = fields[fields.length - 2];
    const entry = entries.find((e) => e.ref === ref) ?? outer.find((e) => e.ref === ref);
    return entry ? { entry, column } : undefined;
  }
  // An unqualified column: the level's only object catalog, or the one whose column prefix it has.
  // (Other FROM items could own it too: then Postgres reports it ambiguous.)
  if (entries.length === 1) return { entry: entries[0], column };
  const owners = entries.filter((e) => COLUMN_PREFIX[e.catalog] && column.startsWith(COLUMN_PREFIX[e.catalog]));
  return owners.length === 1 ? { entry: owners[0], column } : undefined;
}

function unwrap(n: Node | undefined): Node | undefined {
  while (n && (tag(n) === 'TypeCast' || tag(n) === 'CollateClause')) n = inner(n).arg as Node | undefined;
  return n;
}

/**
 * Values compared with a name or oid column. True when every one is known: a
 * constant (folded), or a subquery over object catalogs (its own reads are
 * judged where it stands).
 */
function recordValues(scope: CatalogScope, column: string, values: Node[]): boolean {
  if (values.length === 0) return false;
  for (const raw of values) {
    const n = unwrap(raw);
    if (n && tag(n) === 'SubLink' && readsObjectCatalog(inner(n).subselect as Node | undefined)) continue;
    const value = evalConst(foldConcat(n));
    if (typeof value === 'number' && OID_COLUMNS.has(column)) { scope.oids.push(value); continue; }
    if (typeof value !== 'string') return false;
    if (OID_COLUMNS.has(column) && /^\d+$/.test(value.trim())) scope.oids.push(Number(value.trim()));
    else scope.names.push(value.toLowerCase());
  }
  return true;
}

function readsObjectCatalog(select: Node | undefined): boolean {
  if (!select || tag(select) !== 'SelectStmt') return false;
  const entries: Entry[] = [];
  for (const item of list(inner(select).fromClause)) collectFrom(item, entries, []);
  return entries.length > 0;
}

function recordPattern(scope: CatalogScope, op: PatternOp, n: Node | undefined): boolean {
  const value = evalConst(foldConcat(unwrap(n)));
  if (typeof value !== 'string') return false;
  scope.patterns.push({ op, pattern: value });
  return true;
}

/** `'bill' || 'ing'` as one constant, so a computed name is checked like a written one. */
function foldConcat(n: Node | undefined): Node | undefined {
  if (!n || tag(n) !== 'A_Expr') return n;
  const v = inner(n);
  if (v.kind !== 'AEXPR_OP' || operator(v) !== '||') return n;
  const l = evalConst(foldConcat(unwrap(v.lexpr as Node))), r = evalConst(foldConcat(unwrap(v.rexpr as Node)));
  if (l === undefined || r === undefined || l === null || r === null) return n;
  return { A_Const: { sval: { sval: `${String(l)}${String(r)}` } } };
}

/** Elements of `ANY('{a,b}')` or `ANY(ARRAY['a','b'])`; [] when not constant. */
function arrayItems(n: Node): Node[] {
  const u = unwrap(n);
  if (!u) return [];
  if (tag(u) === 'A_ArrayExpr') return list(inner(u).elements);
  if (tag(u) !== 'A_Const') return [];
  const c = constOf(inner(u));
  if (c.type !== 'string') return [];
  const m = /^\{(.*)\}$/s.exec(c.value.trim());
  if (!m) return [];
  // Quoted elements, escapes and nesting are not taken apart: then the read counts as unnarrowed.
  if (/["\\{}]/.test(m[1])) return [];
  return m[1].split(',').map((s) => ({ A_Const: { sval: { sval: s.trim() } } }));
}
