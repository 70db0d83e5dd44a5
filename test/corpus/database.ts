// The corpus database on the test cluster: a template loaded once from
// fixture.sql, a non-superuser upstream role for the gateway, and a cheap
// reset (`CREATE DATABASE corpus TEMPLATE corpus_template`) between cases.
import { randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { Cluster } from '../harness/cluster.ts';
import { CANARY_DIR, CORPUS_DB, diffFingerprints, takeFingerprint, type Fingerprint } from './fingerprint.ts';

export const TEMPLATE_DB = 'corpus_template';
/** The gateway's upstream role: a login role without superuser, with the union of what the identities need. */
export const GW_ROLE = 'scopegate_gw';

const GRANTS = `
GRANT USAGE ON SCHEMA public, analytics, billing TO ${GW_ROLE};
GRANT ALL ON ALL TABLES IN SCHEMA public, analytics, billing TO ${GW_ROLE};
GRANT ALL ON ALL SEQUENCES IN SCHEMA public, analytics, billing TO ${GW_ROLE};
GRANT EXECUTE ON ALL ROUTINES IN SCHEMA public, analytics, billing TO ${GW_ROLE};
GRANT CREATE ON SCHEMA public TO ${GW_ROLE};
`;

function quoteIdent(s: string): string {
  return `"${s.replaceAll('"', '""')}"`;
}

function quoteLiteral(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

/** Creates the canary dir, writable by the OS user that runs the server. */
export function prepareCanaryDir(): void {
  mkdirSync(CANARY_DIR, { recursive: true });
  if (process.getuid?.() === 0) {
    const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    if (id.status === 0 && gid.status === 0) chownSync(CANARY_DIR, Number(id.stdout), Number(gid.stdout));
  }
  clearCanaryDir();
}

export function clearCanaryDir(): void {
  for (const e of readdirSync(CANARY_DIR)) rmSync(path.join(CANARY_DIR, e), { recursive: true, force: true });
}

export class CorpusDatabase {
  /** Set when the live `corpus` database may differ from the template. */
  dirty = true;
  private baselineFp: Fingerprint | undefined;
  private baselineRoles = new Set<string>();
  private baselineDbs = new Set<string>();

  private constructor(
    readonly cluster: Cluster,
    /** The password of GW_ROLE (give it to the gateway through password_env). */
    readonly gatewayPassword: string,
  ) {}

  /** Loads fixture.sql into the template database and creates the gateway's role. */
  static async setup(cluster: Cluster, fixturePath: string): Promise<CorpusDatabase> {
    const password = randomBytes(18).toString('base64url');
    await cluster.query(`DROP DATABASE IF EXISTS ${CORPUS_DB} WITH (FORCE)`);
    await cluster.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DB} WITH (FORCE)`);
    await cluster.query(`DROP ROLE IF EXISTS ${GW_ROLE}`);
    await cluster.query(`CREATE ROLE ${GW_ROLE} LOGIN PASSWORD ${quoteLiteral(password)}`);
    await cluster.query(`CREATE DATABASE ${TEMPLATE_DB}`);
    const r = await cluster.psql('-d', TEMPLATE_DB, '-q', '-v', 'ON_ERROR_STOP=1', '-f', fixturePath);
    if (r.code !== 0) throw new Error(`fixture.sql failed:\n${r.stdout}\n${r.stderr}`);
    if (/dblink not available/.test(r.stderr.toString())) throw new Error(`dblink is missing: install postgresql-contrib\n${r.stderr}`);
    await cluster.query(GRANTS, TEMPLATE_DB);
    await cluster.disconnect(TEMPLATE_DB);
    prepareCanaryDir();
    const db = new CorpusDatabase(cluster, password);
    await db.reset();
    db.baselineFp = await takeFingerprint(cluster);
    const roles = await cluster.query<{ rolname: string }>('SELECT rolname FROM pg_roles');
    db.baselineRoles = new Set(roles.rows.map((x) => x.rolname));
    const dbs = await cluster.query<{ datname: string }>('SELECT datname FROM pg_database');
    db.baselineDbs = new Set(dbs.rows.map((x) => x.datname));
    return db;
  }

  get baseline(): Fingerprint {
    if (!this.baselineFp) throw new Error('no baseline yet');
    return this.baselineFp;
  }

  /** Recreates `corpus` from the template and undoes cluster-wide changes and canary files. */
  async reset(): Promise<void> {
    const c = this.cluster;
    await c.disconnect(CORPUS_DB);
    await c.query(`DROP DATABASE IF EXISTS ${CORPUS_DB} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${CORPUS_DB} TEMPLATE ${TEMPLATE_DB}`);
    await c.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${CORPUS_DB} TO ${GW_ROLE}`);
    if (this.baselineFp) await this.resetClusterState();
    clearCanaryDir();
    this.dirty = false;
  }

  /** Differences between the live state and the baseline (empty: nothing changed). */
  async changes(): Promise<string[]> {
    return diffFingerprints(this.baseline, await takeFingerprint(this.cluster));
  }

  private async resetClusterState(): Promise<void> {
    const c = this.cluster;
    const now = await takeFingerprint(c).then((f) => f.cluster);
    const base = this.baseline.cluster;
    if (now.databases !== base.databases) {
      const dbs = await c.query<{ datname: string }>('SELECT datname FROM pg_database');
      for (const { datname } of dbs.rows) {
        if (!this.baselineDbs.has(datname)) await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(datname)} WITH (FORCE)`);
      }
    }
    if (now.roles !== base.roles || now.role_memberships !== base.role_memberships) {
      const roles = await c.query<{ rolname: string }>('SELECT rolname FROM pg_roles');
      for (const { rolname } of roles.rows) {
        if (!this.baselineRoles.has(rolname)) await c.query(`DROP ROLE IF EXISTS ${quoteIdent(rolname)}`);
      }
      await c.query(`ALTER ROLE ${GW_ROLE} NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS`);
      const member = await c.query<{ role: string }>(
        `SELECT roleid::regrole::text AS role FROM pg_auth_members WHERE member = '${GW_ROLE}'::regrole`,
      );
      for (const { role } of member.rows) await c.query(`REVOKE ${role} FROM ${GW_ROLE}`);
    }
    if (now.role_settings !== base.role_settings) await c.query('DELETE FROM pg_db_role_setting');
    if (now.auto_conf !== base.auto_conf) {
      await c.query('ALTER SYSTEM RESET ALL');
      await c.query('SELECT pg_reload_conf()');
    }
  }
}
