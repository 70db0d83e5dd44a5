// An in-memory CatalogSnapshot modelled on ../shared/corpus/fixture.sql (database "corpus"), for tests.
// Views carry pg_get_viewdef() text as PostgreSQL 15 prints it under search_path = pg_catalog.
import type { CatalogRequest, CatalogSnapshot, ColumnInfo, FunctionInfo, PatternOp, RelationInfo, RelationKind } from './types.ts';

const TEXT = 25, INT4 = 23, INT8 = 20, NUMERIC = 1700, DATE = 1082, BOOL = 16, TIMESTAMPTZ = 1184, NAME = 19, OID = 26,
  FLOAT4 = 700, ANYARRAY = 2277, INT2 = 21, FLOAT8 = 701;

let nextOid = 20000;

function cols(spec: string): ColumnInfo[] {
  const types: Record<string, number> = {
    text: TEXT, int: INT4, bigint: INT8, numeric: NUMERIC, date: DATE, bool: BOOL, tstz: TIMESTAMPTZ, name: NAME,
    oid: OID, float4: FLOAT4, anyarray: ANYARRAY, int2: INT2, float8: FLOAT8,
  };
  return spec.trim().split(/\s*,\s*/).map((c, i) => {
    const [name, type, constraint] = c.split(/\s+/);
    return { name, attnum: i + 1, typeOid: types[type] ?? TEXT, ...(constraint === 'notnull' ? { notNull: true } : {}) };
  });
}

function rel(schema: string, name: string, kind: RelationKind, columns: string, extra: Partial<RelationInfo> = {}): RelationInfo {
  return { oid: nextOid++, schema, name, kind, columns: cols(columns), ...extra };
}

const CUSTOMER_COLS = 'id int notnull, full_name text notnull, email text notnull, ssn text notnull, card_number text notnull, phone text notnull, notes text, region text notnull, created_at date notnull';
const INVOICE_COLS = 'id bigint, invoice_number text, customer_id int, order_id int, amount_cents int, currency text, issued_on date, due_on date, paid bool';

export const FIXTURE_RELATIONS: RelationInfo[] = [
  rel('public', 'customers', 'table', CUSTOMER_COLS, { children: ['public.customers_legacy'] }),
  rel('public', 'customers_legacy', 'table', `${CUSTOMER_COLS}, migrated_from text`),
  rel('public', 'orders', 'table', 'id int notnull, customer_id int notnull, order_date date notnull, status text notnull, amount numeric notnull, sku text notnull'),
  rel('public', 'customers_id_seq', 'sequence', 'last_value bigint, log_cnt bigint, is_called bool'),
  rel('public', 'orders_id_seq', 'sequence', 'last_value bigint, log_cnt bigint, is_called bool'),
  rel('public', 'orders_customer_idx', 'index', 'customer_id int'),
  rel('public', 'orders_date_idx', 'index', 'order_date date'),
  rel('public', 'customer_contacts', 'view', 'id int, full_name text, email text, phone text, region text', {
    definition: ` SELECT customers.id,
    customers.full_name,
    customers.email,
    customers.phone,
    customers.region
   FROM public.customers;`,
  }),
  rel('public', 'customer_export', 'view', 'id int, name text, tax_id text, payment_ref text, contact text', {
    definition: ` SELECT customers.id,
    customers.full_name AS name,
    customers.ssn AS tax_id,
    customers.card_number AS payment_ref,
    customers.email AS contact
   FROM public.customers;`,
  }),
  rel('public', 'order_billing', 'view', 'order_id int, customer_id int, amount numeric, invoice_number text, amount_cents int, paid bool', {
    definition: ` SELECT o.id AS order_id,
    o.customer_id,
    o.amount,
    i.invoice_number,
    i.amount_cents,
    i.paid
   FROM (public.orders o
     JOIN billing.invoices i ON ((i.order_id = o.id)));`,
  }),
  rel('analytics', 'daily_stats', 'table', 'day date, orders_count int, revenue numeric, new_customers int, avg_order_value numeric'),
  rel('analytics', 'quality_flags', 'table',
    'id bigint, table_name text, row_ref text, column_name text, issue text, severity text, created_at tstz, created_by text, resolved bool'),
  rel('analytics', 'quality_flags_id_seq', 'sequence', 'last_value bigint, log_cnt bigint, is_called bool'),
  rel('analytics', 'customer_ltv', 'matview', 'customer_id int, contact_email text, region text, orders bigint, lifetime_value numeric', {
    definition: ` SELECT c.id AS customer_id,
    c.email AS contact_email,
    c.region,
    count(o.id) AS orders,
    COALESCE(sum(o.amount), (0)::numeric) AS lifetime_value
   FROM (ONLY public.customers c
     LEFT JOIN public.orders o ON ((o.customer_id = c.id)))
  GROUP BY c.id, c.email, c.region;`,
  }),
  rel('billing', 'invoices', 'partitioned', INVOICE_COLS, {
    children: ['billing.invoices_2023', 'billing.invoices_2024', 'billing.invoices_2025'],
  }),
  rel('billing', 'invoices_2023', 'table', INVOICE_COLS),
  rel('billing', 'invoices_2024', 'table', INVOICE_COLS),
  rel('billing', 'invoices_2025', 'table', INVOICE_COLS),
  rel('billing', 'api_keys', 'table', 'id int, customer_id int, label text, key_prefix text, secret text, created_at tstz, revoked bool'),
  // system catalogs (never expanded by the analyser)
  rel('pg_catalog', 'pg_class', 'table', 'oid oid, relname name, relnamespace oid, reltype oid, relowner oid, relkind text, reltuples float4, relpages int'),
  rel('pg_catalog', 'pg_namespace', 'table', 'oid oid, nspname name, nspowner oid, nspacl text'),
  rel('pg_catalog', 'pg_attribute', 'table', 'attrelid oid, attname name, atttypid oid, attnum int2, attnotnull bool, attisdropped bool'),
  rel('pg_catalog', 'pg_tables', 'view', 'schemaname name, tablename name, tableowner name, tablespace name, hasindexes bool, hasrules bool, hastriggers bool, rowsecurity bool'),
  rel('pg_catalog', 'pg_statistic', 'table', 'starelid oid, staattnum int2, stainherit bool, stanullfrac float4, stavalues1 anyarray'),
  rel('pg_catalog', 'pg_stats', 'view',
    'schemaname name, tablename name, attname name, inherited bool, null_frac float4, avg_width int, n_distinct float4, most_common_vals anyarray, most_common_freqs text, histogram_bounds anyarray, correlation float4'),
  rel('pg_catalog', 'pg_stat_activity', 'view',
    'datid oid, datname name, pid int, leader_pid int, usesysid oid, usename name, application_name text, client_addr text, backend_start tstz, xact_start tstz, query_start tstz, state_change tstz, wait_event_type text, wait_event text, state text, backend_xid text, backend_xmin text, query_id bigint, query text, backend_type text'),
  rel('pg_catalog', 'pg_hba_file_rules', 'view', 'rule_number int, file_name text, line_number int, type text, database text, user_name text, address text'),
  rel('pg_catalog', 'pg_roles', 'view', 'rolname name, rolsuper bool, rolcanlogin bool, oid oid'),
  rel('pg_catalog', 'pg_authid', 'table', 'oid oid, rolname name, rolsuper bool, rolpassword text'),
  rel('information_schema', 'tables', 'view',
    'table_catalog name, table_schema name, table_name name, table_type text, self_referencing_column_name name, reference_generation text, user_defined_type_catalog name, user_defined_type_schema name, user_defined_type_name name, is_insertable_into text, is_typed text, commit_action text'),
  rel('information_schema', 'columns', 'view',
    'table_catalog name, table_schema name, table_name name, column_name name, ordinal_position int, column_default text, is_nullable text, data_type text'),
];

type Vol = FunctionInfo['volatility'];

function builtin(name: string, volatility: Vol, kind: FunctionInfo['kind'] = 'function', returnsSet = false, outputColumns?: string[]): FunctionInfo {
  const f: FunctionInfo = {
    oid: nextOid++, schema: 'pg_catalog', name, kind, volatility, securityDefiner: false, language: 'internal',
    body: null, returnsSet,
  };
  if (outputColumns) f.outputColumns = outputColumns;
  return f;
}

const I: Vol = 'immutable', S: Vol = 'stable', V: Vol = 'volatile';

export const FIXTURE_FUNCTIONS: FunctionInfo[] = [
  ...['count', 'sum', 'avg', 'min', 'max', 'string_agg', 'array_agg', 'stddev', 'percentile_disc'].map((n) => builtin(n, I, 'aggregate')),
  builtin('jsonb_agg', S, 'aggregate'),
  ...['upper', 'lower', 'md5', 'sha256', 'encode', 'convert_from', 'substr', 'reverse', 'length', 'round', 'string_to_array',
    'repeat', 'array_length', 'split_part', 'lpad'].map((n) => builtin(n, I)),
  ...['convert_to', 'jsonb_build_object', 'to_jsonb', 'row_to_json', 'date_trunc', 'now', 'to_tsvector', 'version',
    'current_database', 'pg_get_serial_sequence', 'format', 'has_table_privilege', 'obj_description', 'to_regclass'].map((n) => builtin(n, S)),
  builtin('jsonb_to_recordset', S, 'function', true),
  builtin('generate_series', I, 'function', true),
  builtin('pg_show_all_file_settings', V, 'function', true),
  builtin('unnest', I, 'function', true),
  builtin('pg_stat_get_activity', S, 'function', true, ['datid', 'pid', 'usesysid', 'application_name', 'state', 'query']),
  builtin('ts_stat', V, 'function', true, ['word', 'ndoc', 'nentry']),
  builtin('query_to_xml', S),
  ...['random', 'pg_sleep', 'pg_read_file', 'pg_read_binary_file', 'lo_import', 'set_config', 'nextval', 'setval',
    'pg_terminate_backend', 'pg_cancel_backend', 'pg_notify', 'pg_advisory_lock', 'setseed', 'clock_timestamp',
    'txid_current', 'pg_total_relation_size', 'pg_is_in_recovery'].map((n) => builtin(n, V)),
  builtin('rank', I, 'window'),
  {
    oid: nextOid++, schema: 'public', name: 'customer_billing_profile', kind: 'function', volatility: 'stable',
    securityDefiner: true, language: 'sql', returnsSet: true,
    outputColumns: ['invoice_number', 'amount_cents', 'issued_on', 'paid', 'card_on_file'],
    body: `
    SELECT i.invoice_number, i.amount_cents, i.issued_on, i.paid, c.card_number
    FROM billing.invoices i
    JOIN public.customers c ON c.id = i.customer_id
    WHERE i.customer_id = p_customer_id
    ORDER BY i.issued_on
`,
  },
  {
    oid: nextOid++, schema: 'public', name: 'touch_customer', kind: 'function', volatility: 'volatile',
    securityDefiner: false, language: 'plpgsql', returnsSet: false,
    body: `
BEGIN
    UPDATE public.customers SET notes = coalesce(notes, '') || ' [touched]' WHERE id = p_id;
    RETURN 'ok';
END `,
  },
  {
    oid: nextOid++, schema: 'public', name: 'archive_orders', kind: 'procedure', volatility: 'volatile',
    securityDefiner: false, language: 'plpgsql', returnsSet: false,
    body: `
BEGIN
    DELETE FROM public.orders WHERE order_date < p_before;
END `,
  },
  {
    oid: nextOid++, schema: 'analytics', name: 'refresh_daily_stats', kind: 'function', volatility: 'volatile',
    securityDefiner: false, language: 'plpgsql', returnsSet: false,
    body: `
DECLARE n integer;
BEGIN
    DELETE FROM analytics.daily_stats;
    INSERT INTO analytics.daily_stats (day, orders_count, revenue, new_customers, avg_order_value)
    SELECT order_date, count(*), sum(amount), 0, round(avg(amount), 2)
    FROM public.orders GROUP BY order_date;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END `,
  },
  ...['dblink', 'dblink_exec', 'dblink_connect', 'dblink_send_query'].map((name): FunctionInfo => ({
    oid: nextOid++, schema: 'public', name, kind: 'function', volatility: 'volatile', securityDefiner: false,
    language: 'c', body: null, returnsSet: name === 'dblink',
  })),
];

export interface FixtureOptions {
  searchPath?: string[];
  /** Temp relations of the session (schema pg_temp). */
  temp?: RelationInfo[];
  extraRelations?: RelationInfo[];
  extraFunctions?: FunctionInfo[];
}

/** The full fixture catalog: every lookup answered (null = does not exist). */
export function fixtureCatalog(opts: FixtureOptions = {}): CatalogSnapshot {
  const rels = new Map<string, RelationInfo>();
  for (const r of [...FIXTURE_RELATIONS, ...(opts.extraRelations ?? [])]) rels.set(`${r.schema}.${r.name}`, r);
  for (const r of opts.temp ?? []) rels.set(`pg_temp.${r.name}`, r);
  const fns = new Map<string, FunctionInfo[]>();
  for (const f of [...FIXTURE_FUNCTIONS, ...(opts.extraFunctions ?? [])]) {
    const k = `${f.schema}.${f.name}`;
    fns.set(k, [...(fns.get(k) ?? []), f]);
  }
  const user = [...rels.values()].filter((r) => !['pg_catalog', 'information_schema', 'pg_temp'].includes(r.schema));
  return {
    searchPath: opts.searchPath ?? ['pg_catalog', 'public'],
    relation: (schema, name) => rels.get(`${schema}.${name}`) ?? null,
    functions: (schema, name) => fns.get(`${schema}.${name}`) ?? null,
    schemasOf: (name) => user.filter((r) => r.name === name).map((r) => r.schema),
    objectsMatching: (op, pattern) => {
      const re = patternRegExp(op, pattern);
      if (!re) return null;
      const schemas = [...new Set(user.map((r) => r.schema))].filter((s) => re.test(s));
      return [...schemas, ...user.filter((r) => re.test(r.name)).map((r) => `${r.schema}.${r.name}`)];
    },
    objectsWithOid: (oid) => user.filter((r) => r.oid === oid).map((r) => `${r.schema}.${r.name}`),
  };
}

/** Enough of PostgreSQL's pattern languages for the fixture's names. */
function patternRegExp(op: PatternOp, pattern: string): RegExp | null {
  try {
    if (op === 'regex') return new RegExp(pattern);
    if (op === 'iregex') return new RegExp(pattern, 'i');
    let re = '';
    for (let i = 0; i < pattern.length; i++) {
      const c = pattern[i];
      if (c === '\\' && i + 1 < pattern.length) re += escapeRegExp(pattern[++i]);
      else if (c === '%') re += '.*';
      else if (c === '_') re += '.';
      else if (op === 'similar' && '|*+?()[]{}'.includes(c)) re += c;
      else re += escapeRegExp(c);
    }
    return new RegExp(`^(?:${re})$`, op === 'ilike' ? 'i' : '');
  } catch {
    return null;
  }
}

function escapeRegExp(c: string): string {
  return /[.*+?^${}()|[\]\\]/.test(c) ? `\\${c}` : c;
}

/** A snapshot that starts empty and answers only what was loaded (the missing/re-run protocol). */
export function lazyCatalog(full: CatalogSnapshot): CatalogSnapshot & { load(reqs: CatalogRequest[]): void; loaded: number } {
  const rels = new Map<string, RelationInfo | null>();
  const fns = new Map<string, FunctionInfo[] | null>();
  const relnames = new Map<string, string[]>();
  const matches = new Map<string, string[] | null>();
  const oids = new Map<number, string[]>();
  const snap = {
    searchPath: full.searchPath,
    loaded: 0,
    relation: (schema: string, name: string) => rels.get(`${schema}.${name}`),
    functions: (schema: string, name: string) => fns.get(`${schema}.${name}`),
    schemasOf: (name: string) => relnames.get(name),
    objectsMatching: (op: PatternOp, pattern: string) => matches.get(`${op}:${pattern}`),
    objectsWithOid: (oid: number) => oids.get(oid),
    load(reqs: CatalogRequest[]): void {
      for (const r of reqs) {
        snap.loaded++;
        if (r.type === 'relation') rels.set(`${r.schema}.${r.name}`, full.relation(r.schema, r.name) ?? null);
        else if (r.type === 'relname') relnames.set(r.name, full.schemasOf(r.name) ?? []);
        else if (r.type === 'matching') matches.set(`${r.schema}:${r.name}`, full.objectsMatching(r.schema, r.name) ?? null);
        else if (r.type === 'oid') oids.set(Number(r.name), full.objectsWithOid(Number(r.name)) ?? []);
        else fns.set(`${r.schema}.${r.name}`, full.functions(r.schema, r.name) ?? null);
      }
    },
  };
  return snap;
}
