// Plain values that describe what SQL does. Analysis describes; policy decides.

/** A fully qualified relation name, lower-cased as Postgres stores it: "schema.name". */
export type QualifiedName = string;

/** A source column: "schema.table.column". */
export type ColumnKey = string;

export type Privilege = 'read' | 'insert' | 'update' | 'delete' | 'truncate' | 'ddl' | 'execute' | 'admin';

/** One thing a statement does to one object. */
export interface Action {
  privilege: Privilege;
  /** "schema.name" of a relation or routine; for schema-level DDL "schema.*"; for global objects "*" */
  object: QualifiedName;
  /** Short human description of where in the statement this came from, e.g. "FROM clause", "view public.v", "CTE x". */
  via: string;
}

/** The `via` of the update action a FOR UPDATE/SHARE clause implies (a locking read needs UPDATE). */
export const ROW_LOCK_VIA = 'row lock';

/**
 * Facts that built-in guardrails act on. Analysis reports them; policy decides
 * whether they deny. `rule` names are stable (they appear in config `guardrails.lift`).
 */
export type GuardrailRule =
  | 'do-block'                 // DO
  | 'copy-file'                // COPY to/from server file
  | 'copy-program'             // COPY ... PROGRAM
  | 'server-file-function'     // pg_read_file, pg_ls_dir, lo_import, ...
  | 'large-object-write'       // lo_* write functions
  | 'out-of-band-connection'   // dblink*, postgres_fdw functions
  | 'sql-text-function'        // query_to_xml, ts_stat(text), ...: execute SQL passed as text
  | 'session-authorization'    // SET ROLE, RESET ROLE, SET SESSION AUTHORIZATION, DISCARD ALL, RESET ALL
  | 'security-setting'         // SET/RESET of a security-relevant parameter; set_config()
  | 'privilege-change'         // GRANT, REVOKE, ALTER DEFAULT PRIVILEGES, CREATE/ALTER/DROP ROLE, ALTER ROLE/DATABASE SET
  | 'server-admin'             // ALTER SYSTEM, LOAD, CHECKPOINT, CREATE/ALTER/DROP EXTENSION
  | 'side-effect-function'     // pg_terminate_backend, pg_sleep, advisory locks, nextval/setval, pg_notify, volatile builtins not on the safe list
  | 'listen-notify'            // LISTEN, NOTIFY, UNLISTEN
  | 'data-catalog'             // pg_stats, pg_statistic, pg_stats_ext(_exprs), pg_authid, pg_stat_activity.query, ...
  | 'unfiltered-write'         // UPDATE/DELETE without WHERE or with constant-true WHERE; MERGE ON true
  | 'drop'                     // DROP of anything, ALTER TABLE ... DROP COLUMN
  | 'truncate'                 // TRUNCATE
  | 'security-definer'         // calling or creating a SECURITY DEFINER routine
  | 'locking-read'             // SELECT ... FOR UPDATE/SHARE, LOCK TABLE
  | 'function-call'            // call of a message-level FunctionCall ('F'); never produced by SQL analysis
  | 'unanalysable';            // something analysis could not follow (opaque function body, unknown statement)

export interface GuardrailHit {
  rule: GuardrailRule;
  /** What triggered it, e.g. "pg_read_file()", "SET search_path". */
  detail: string;
  /** For 'unfiltered-write': the relation written. */
  object?: QualifiedName;
}

/** How a source column is used outside plain output. */
export type ColumnUseContext =
  | 'predicate'   // WHERE, JOIN ON, HAVING, FILTER, CASE WHEN condition, LIKE ... anywhere a value decides rows or branches
  | 'order'       // ORDER BY, window ORDER BY, ordered-set aggregate WITHIN GROUP
  | 'group'       // GROUP BY, DISTINCT, DISTINCT ON, window PARTITION BY
  | 'expression'  // argument of a function, operator, cast, aggregate (other than the exempt forms) in an output
  | 'whole-row'   // a whole-row reference (c, c.*) used inside an expression or as a value
  | 'write'       // value written into a table (INSERT ... SELECT col, UPDATE SET x = col)
  | 'fallible'    // operand of an operation that can fail on some values (arithmetic, casts, most functions): an error oracle
  | 'presence';   // exempt: col IS [NOT] NULL, count(col): reveals presence only

export interface ColumnUse {
  column: ColumnKey;
  context: ColumnUseContext;
}

/** Lineage of one output column of a result. */
export interface OutputColumn {
  /** Column name as Postgres would label it (alias, column name, or function name). */
  name: string;
  /** Every source column the value derives from (through views, subqueries, CTEs, set operations). */
  sources: ColumnKey[];
  /** True when the value is an unmodified copy of (one of) its sources: maskable with that column's strategy. */
  direct: boolean;
}

export type StatementKind =
  | 'select' | 'insert' | 'update' | 'delete' | 'merge' | 'copy-out' | 'copy-in'
  | 'transaction' | 'set' | 'show' | 'prepare' | 'execute' | 'deallocate'
  | 'declare' | 'fetch' | 'close-cursor' | 'explain' | 'call' | 'ddl' | 'maintenance'
  | 'lock' | 'listen' | 'discard' | 'utility' | 'other';

export interface StatementAnalysis {
  kind: StatementKind;
  /** Parser node name, e.g. "SelectStmt". */
  node: string;
  /** The statement's own text (slice of the query string). */
  sql: string;
  actions: Action[];
  guardrails: GuardrailHit[];
  /** Result columns with lineage; null when the statement returns no rows or the shape is unknown. */
  output: OutputColumn[] | null;
  /** Every use of a source column outside plain output (for masking oracles). */
  uses: ColumnUse[];
  /** For PREPARE and DECLARE: the inner statement, analysed. */
  inner?: StatementAnalysis;
  /** PREPARE name / EXECUTE name / DEALLOCATE name ('*' = ALL) / DECLARE name / FETCH-MOVE-CLOSE name ('*' = CLOSE ALL). */
  name?: string;
  /** DECLARE ... BINARY CURSOR. */
  binaryCursor?: boolean;
  /** COPY options when kind is copy-out / copy-in. */
  copy?: { format: 'text' | 'csv' | 'binary'; delimiter: string; null: string; header: boolean; quote: string; escape: string };
  /** Temp relations this statement creates (so later unqualified names resolve to pg_temp first). */
  createsTemp?: string[];
  /** True if the statement changes the catalog (DDL): catalog caches must be invalidated after it runs. */
  changesCatalog?: boolean;
  /**
   * When the statement is a metadata query: every string constant in it and every object its
   * catalog reads are narrowed to (computed names, pattern and oid matches, search-path schemas),
   * lower-cased (e.g. 'billing', 'billing.api_keys'), so policy can refuse metadata queries about
   * objects outside the identity's scope.
   */
  catalogNames?: string[];
  /** The analysis read a literal's value (see literalReads in ast.ts): it holds for this text only. */
  readsLiterals?: boolean;
  /**
   * A catalog that lists user objects, read without narrowing it to names (e.g.
   * "pg_catalog.pg_class"), or a narrowing the gateway could not resolve: the query may list every object.
   */
  catalogUnnarrowed?: string;
  /** Transaction control detail, for kind 'transaction'. */
  transaction?: 'begin' | 'commit' | 'rollback' | 'savepoint' | 'release' | 'rollback-to' | 'prepare-transaction' | 'commit-prepared' | 'rollback-prepared';
}

export interface QueryAnalysis {
  statements: StatementAnalysis[];
}

// ---- catalog facts the analyser needs (supplied by upstream/catalog, looked up lazily) ----

export type RelationKind = 'table' | 'partitioned' | 'view' | 'matview' | 'foreign' | 'sequence' | 'index' | 'composite' | 'other';

export interface ColumnInfo {
  name: string;
  attnum: number;
  typeOid: number;
  /** Declared NOT NULL (pg_attribute.attnotnull): `col IS NOT NULL` holds on every row. */
  notNull?: boolean;
}

export interface RelationInfo {
  oid: number;
  schema: string;
  name: string;
  kind: RelationKind;
  columns: ColumnInfo[];
  /** For views and matviews: pg_get_viewdef() text. */
  definition?: string;
  /** Inheritance children and partitions (all levels), "schema.name". A read of the parent reads these too. */
  children?: QualifiedName[];
}

export interface FunctionInfo {
  oid: number;
  schema: string;
  name: string;
  kind: 'function' | 'procedure' | 'aggregate' | 'window';
  volatility: 'immutable' | 'stable' | 'volatile';
  securityDefiner: boolean;
  language: string;
  /** prosrc for sql/plpgsql routines; null for internal/C. */
  body: string | null;
  returnsSet: boolean;
  /** Output column names for set-returning / record functions (proargnames with OUT/TABLE modes), if any. */
  outputColumns?: string[];
}

/**
 * A synchronous view of the catalog. Lookups return undefined when the fact is
 * not loaded yet (analysis then reports it in `missing` and is re-run after the
 * caller fetched it), and null when the object does not exist.
 */
export interface CatalogSnapshot {
  /** Effective search path, first to last, already including implicit pg_catalog / pg_temp positions. */
  searchPath: string[];
  relation(schema: string, name: string): RelationInfo | null | undefined;
  functions(schema: string, name: string): FunctionInfo[] | null | undefined;
  /** The schemas that hold a relation of this name ([] when none). */
  schemasOf(name: string): string[] | undefined;
  /** User schemas and schema.relation names matching a pattern; null when the pattern could not be evaluated. */
  objectsMatching(op: PatternOp, pattern: string): string[] | null | undefined;
  /** The user schema or schema.relation with this oid ([] when none). */
  objectsWithOid(oid: number): string[] | undefined;
}

/** Name patterns a metadata query can filter by: LIKE, ILIKE, SIMILAR TO, ~ and ~*. */
export type PatternOp = 'like' | 'ilike' | 'similar' | 'regex' | 'iregex';

export type CatalogRequest =
  | { type: 'relation'; schema: string; name: string }
  | { type: 'functions'; schema: string; name: string }
  /** Which schemas hold a relation named `name` (schema is '*'). */
  | { type: 'relname'; schema: '*'; name: string }
  /** Which user objects match a name pattern (schema holds the operator, name the pattern). */
  | { type: 'matching'; schema: PatternOp; name: string }
  /** Which user object has an oid (name holds it in decimal). */
  | { type: 'oid'; schema: '*'; name: string };

export type AnalysisResult =
  | { ok: true; analysis: QueryAnalysis }
  | { ok: false; missing: CatalogRequest[] }
  | { ok: false; error: AnalysisError };

export interface AnalysisError {
  /** SQLSTATE: 42601 syntax error, 54001 too complex, 22021 invalid byte, 0A000 unsupported, 42501 refused. */
  code: string;
  message: string;
  position?: number;
}

// ---- additions for the analysis API ----

/** What the session knows that the catalog does not. */
export interface AnalysisContext {
  /** Current database name, for three-part names db.schema.table. */
  database: string;
  /** Temp tables this session created (unqualified names resolve to pg_temp first). */
  tempRelations: ReadonlySet<string>;
}

/** One statement of a parsed query string. */
export interface ParsedStatement {
  /** Parser node name, e.g. "SelectStmt". */
  node: string;
  /** The statement's own text (slice of the query string). */
  sql: string;
  /** The raw parse tree of this statement (opaque outside analysis/). */
  readonly tree: unknown;
}

/** A parsed query string (cached by exact text: the same text gives the same object). */
export interface ParsedQuery {
  sql: string;
  statements: readonly ParsedStatement[];
}
