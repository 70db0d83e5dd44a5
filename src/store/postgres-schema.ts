// The Postgres store's schema: versioned migrations in scopegate.schema_migrations, applied in one
// transaction under an advisory lock, so replicas that start together never race. Migrations are
// additive (new tables, columns, indexes), so a replica of an older version keeps working after a
// newer one migrated the database; a version this build does not know is reported, not refused.
import type pg from 'pg';

export const SCHEMA = 'scopegate';
/** NOTIFY channel for review and grant changes. */
export const CHANGE_CHANNEL = 'scopegate_store_changes';
/** Key of the transaction-scoped advisory lock that serialises migrations ("scopegat" in ASCII). */
const MIGRATION_LOCK = '8314611865584361844';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'reviews and grants',
    // The whole value is kept as JSONB (`doc`); the columns beside it are what lists filter and
    // sort on. Times are the ISO strings the service writes, compared byte-wise (COLLATE "C") like
    // the embedded store does. changed_at (the database's clock) lets a listener that lost its
    // connection find what changed meanwhile.
    sql: `
      CREATE TABLE ${SCHEMA}.reviews (
        id text COLLATE "C" PRIMARY KEY,
        status text NOT NULL,
        identity text NOT NULL,
        created_at text COLLATE "C" NOT NULL,
        doc jsonb NOT NULL,
        changed_at timestamptz NOT NULL DEFAULT clock_timestamp()
      );
      CREATE INDEX reviews_order ON ${SCHEMA}.reviews (created_at DESC, id DESC);
      CREATE INDEX reviews_status ON ${SCHEMA}.reviews (status, created_at DESC, id DESC);
      CREATE INDEX reviews_identity ON ${SCHEMA}.reviews (identity, created_at DESC, id DESC);
      CREATE INDEX reviews_changed ON ${SCHEMA}.reviews (changed_at);
      CREATE TABLE ${SCHEMA}.grants (
        id text COLLATE "C" PRIMARY KEY,
        status text NOT NULL,
        identity text NOT NULL,
        requested_at text COLLATE "C" NOT NULL,
        doc jsonb NOT NULL,
        changed_at timestamptz NOT NULL DEFAULT clock_timestamp()
      );
      CREATE INDEX grants_order ON ${SCHEMA}.grants (requested_at DESC, id DESC);
      CREATE INDEX grants_status ON ${SCHEMA}.grants (status, requested_at DESC, id DESC);
      CREATE INDEX grants_identity ON ${SCHEMA}.grants (identity, requested_at DESC, id DESC);
      CREATE INDEX grants_changed ON ${SCHEMA}.grants (changed_at);
    `,
  },
  {
    version: 2,
    name: 'audit events',
    // One row per audit record. `line` is the record exactly as sealed (its hash covers those
    // bytes; JSONB does not keep key order, so it cannot be re-serialised from `event`). Each
    // writing process seals its own chain (`chain`); `id` is the order rows were written in.
    sql: `
      CREATE TABLE ${SCHEMA}.audit_events (
        id bigserial PRIMARY KEY,
        chain text NOT NULL,
        seq bigint NOT NULL,
        at timestamptz,
        type text NOT NULL,
        session text,
        identity text,
        upstream text,
        verdict text,
        event jsonb NOT NULL,
        line text NOT NULL,
        hash text NOT NULL,
        prev text NOT NULL,
        written_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (chain, seq)
      );
      CREATE INDEX audit_events_at ON ${SCHEMA}.audit_events (at);
      CREATE INDEX audit_events_session ON ${SCHEMA}.audit_events (session) WHERE session IS NOT NULL;
      CREATE INDEX audit_events_identity ON ${SCHEMA}.audit_events (identity, at);
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

export interface MigrationResult {
  /** Versions this call applied (empty when the schema was up to date). */
  applied: number[];
  /** The highest version in the database afterwards. */
  version: number;
  /** The database holds versions this build does not know (a newer replica migrated it). */
  newer: boolean;
}

/** Brings the schema up to date (idempotent; safe to run from several processes at once). */
export async function migrate(pool: pg.Pool): Promise<MigrationResult> {
  const known = new Set(MIGRATIONS.map((m) => m.version));
  // Fast path without the lock: nothing to do when every migration is recorded.
  const seen = await appliedVersions(pool);
  if (seen && MIGRATIONS.every((m) => seen.has(m.version))) return result([], seen, known);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`);
    const exists = await client.query(`SELECT 1 FROM pg_namespace WHERE nspname = $1`, [SCHEMA]);
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${SCHEMA}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${SCHEMA}.schema_migrations (version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const rows = await client.query<{ version: number }>(`SELECT version FROM ${SCHEMA}.schema_migrations`);
    const have = new Set(rows.rows.map((r) => r.version));
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (have.has(m.version)) continue;
      await client.query(m.sql);
      await client.query(`INSERT INTO ${SCHEMA}.schema_migrations (version, name) VALUES ($1, $2)`, [m.version, m.name]);
      have.add(m.version);
      applied.push(m.version);
    }
    await client.query('COMMIT');
    return result(applied, have, known);
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

async function appliedVersions(pool: pg.Pool): Promise<Set<number> | null> {
  const table = await pool.query<{ t: string | null }>(`SELECT to_regclass('${SCHEMA}.schema_migrations')::text AS t`);
  if (!table.rows[0]?.t) return null;
  const rows = await pool.query<{ version: number }>(`SELECT version FROM ${SCHEMA}.schema_migrations`);
  return new Set(rows.rows.map((r) => r.version));
}

function result(applied: number[], have: Set<number>, known: Set<number>): MigrationResult {
  const versions = [...have];
  return { applied, version: versions.length ? Math.max(...versions) : 0, newer: versions.some((v) => !known.has(v)) };
}
