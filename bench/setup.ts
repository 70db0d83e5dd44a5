// The benchmark database: a throwaway cluster (test harness), a non-superuser
// owner role with a SCRAM password, pgbench tables and a `people` table with
// PII-looking columns for the large-result and masking workloads.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { startCluster, type Cluster } from '../test/harness/cluster.ts';
import { runOk } from '../test/harness/proc.ts';

export const DB = 'bench';
export const OWNER = 'bench_owner';
/** The large-result query: five columns, three of them masked for the `masked` identity. */
export const PEOPLE_COLUMNS = 'id, name, email, ssn, card';
export const SELECT_PEOPLE = `SELECT ${PEOPLE_COLUMNS} FROM people`;
export const COPY_PEOPLE = `COPY people (${PEOPLE_COLUMNS}) TO STDOUT`;

export interface BenchDb {
  cluster: Cluster;
  host: string;
  port: number;
  password: string;
  /** SCRAM verifier of the owner role, for pgbouncer's auth_file. */
  scramVerifier: string;
  versions: { server: string; pgbench: string };
}

export interface SetupOptions {
  rows: number;
  scale: number;
  /** postgresql.conf max_connections (idle workload through pgbouncer and the proxies). */
  maxConnections: number;
  log: (msg: string) => void;
}

export async function setupDatabase(o: SetupOptions): Promise<BenchDb> {
  const cluster = await startCluster({ settings: { max_connections: o.maxConnections, shared_buffers: "'256MB'" } });
  try {
    const password = randomBytes(18).toString('base64url');
    await cluster.query(`SET password_encryption = 'scram-sha-256'; CREATE ROLE ${OWNER} LOGIN PASSWORD '${password}'`);
    await cluster.query(`CREATE DATABASE ${DB} OWNER ${OWNER}`);
    const env = { ...process.env, PGPASSWORD: password, PGSSLMODE: 'disable' };
    const pgbench = path.join(cluster.binDir, 'pgbench');
    o.log(`pgbench -i -s ${o.scale} as ${OWNER}`);
    await runOk(pgbench, ['-i', '-q', '-s', String(o.scale), '-h', cluster.host, '-p', String(cluster.port), '-U', OWNER, DB], {
      env,
      timeoutMs: 600_000,
    });
    o.log(`people table: ${o.rows} rows`);
    const client = new pg.Client({ host: cluster.host, port: cluster.port, user: OWNER, password, database: DB });
    await client.connect();
    try {
      await client.query(`
        CREATE TABLE people (id int PRIMARY KEY, name text NOT NULL, email text NOT NULL, ssn text NOT NULL, card text NOT NULL);
        INSERT INTO people
          SELECT g,
                 'Person ' || md5(g::text)::varchar(12),
                 'user' || g || '@example' || (g % 97) || '.com',
                 lpad((g % 899 + 100)::text, 3, '0') || '-' || lpad((g % 99)::text, 2, '0') || '-' || lpad((g % 9999)::text, 4, '0'),
                 '4' || lpad(((g::bigint * 7919) % 1000000000000000)::text, 15, '0')
          FROM generate_series(1, ${Math.trunc(o.rows)}) g;`);
      await client.query('VACUUM ANALYZE people');
    } finally {
      await client.end();
    }
    const verifier = await cluster.query<{ rolpassword: string }>(`SELECT rolpassword FROM pg_authid WHERE rolname = '${OWNER}'`);
    const server = await cluster.query<{ server_version: string }>('SHOW server_version');
    const pgbenchVersion = (await runOk(pgbench, ['--version'])).stdout.toString().trim();
    return {
      cluster,
      host: cluster.host,
      port: cluster.port,
      password,
      scramVerifier: verifier.rows[0].rolpassword,
      versions: { server: server.rows[0].server_version, pgbench: pgbenchVersion },
    };
  } catch (e) {
    await cluster.stop();
    throw e;
  }
}
