// Ephemeral per-session database roles: the database floor under the gateway's
// policy. Each session logs in as a fresh role holding exactly the privileges its
// policy derives (roles-grants.ts), valid for a bounded time, dropped afterwards;
// a reaper removes what a crash left behind.
import { createHash, createHmac, pbkdf2, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import type { ConnectionOptions } from 'node:tls';
import pg from 'pg';
import { checkAdminRole, pgGrantCatalog } from './roles-catalog.ts';
import { grantStatements, quoteIdent, quoteLiteral, type GrantCatalog, type RoleGrants } from './roles-grants.ts';
import { saltedPasswords, saslprep } from '../protocol/scram.ts';

export { checkAdminRole, pgGrantCatalog } from './roles-catalog.ts';
export { deriveGrants, grantStatements, type GrantCatalog, type RoleGrants } from './roles-grants.ts';

export interface AdminConnection {
  host: string;
  port: number;
  /** The upstream url's role: CREATEROLE, not superuser, holding what it hands out WITH GRANT OPTION. */
  user: string;
  database: string;
  password?: string;
  ssl?: boolean | ConnectionOptions;
}

export type RolesLog = (msg: string, extra?: Record<string, unknown>) => void;

export interface EphemeralRolesOptions {
  /** Role name prefix; the reaper only touches roles with this prefix that it marked as its own. */
  prefix: string;
  /** VALID UNTIL = now + ttlS: the password stops working for new logins after that. */
  ttlS: number;
  now?: () => number;
  log?: RolesLog;
  /**
   * Share one role per (identity, grants) among concurrent sessions: saves the create/drop per session,
   * but sessions of one identity then share a login (and can signal each other's backends), and
   * objects one session creates belong to all of them. Off by default.
   */
  share?: boolean;
  /** Who inherits objects a session role created (default: the admin role itself). */
  reassignTo?: string;
  /** A leftover role younger than this is not reaped: another gateway replica may be about to log in with it. */
  reapGraceS?: number;
  /** Admin connections (default 2). */
  poolSize?: number;
}

export interface SessionRole {
  role: string;
  password: string;
  /** VALID UNTIL in ms: logins after this fail (an open session is not affected). */
  validUntil: number;
  /** Drops the role (once; later calls are no-ops). Call after the upstream connection has closed. */
  drop(): Promise<void>;
}

const MARKER = 'scopegate session role; created ';
const pbkdf2Async = promisify(pbkdf2);

/** A SCRAM-SHA-256 verifier, so that the password itself never travels to (or is logged by) the server. */
export async function scramVerifier(password: string, iterations = 4096): Promise<string> {
  const salt = randomBytes(16);
  const salted = await pbkdf2Async(password, salt, iterations, 32, 'sha256');
  saltedPasswords.remember(saslprep(password), salt, iterations, salted);
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

interface Created { role: string; password: string; validUntil: number }
interface Shared { created: Promise<Created>; refs: number; validUntil: number }

export class EphemeralRoles {
  private readonly pool: pg.Pool;
  private readonly now: () => number;
  private readonly log: RolesLog;
  /** Roles in use by sessions of this process: never reaped. */
  private readonly live = new Set<string>();
  private readonly shared = new Map<string, Shared>();
  private database: Promise<{ grantConnect: boolean; name: string }> | null = null;
  private reaper: NodeJS.Timeout | null = null;

  constructor(admin: AdminConnection, private readonly opts: EphemeralRolesOptions) {
    if (!/^[a-z_][a-z0-9_]*$/.test(opts.prefix) || opts.prefix.length > 40) throw new Error(`invalid role prefix ${opts.prefix}`);
    this.now = opts.now ?? Date.now;
    this.log = opts.log ?? (() => undefined);
    this.pool = new pg.Pool({ ...admin, max: opts.poolSize ?? 2, application_name: 'scopegate-roles' });
    this.pool.on('error', (err) => this.log('roles: admin connection error', { error: err.message }));
    this.pool.on('connect', (client) => {
      // e.g. "no privileges were granted for …" when the admin role lacks a grant option: the floor is then narrower than the policy.
      client.on('notice', (n) => this.log('roles: notice from the database', { severity: n.severity, message: n.message }));
    });
  }

  async createSessionRole(identityName: string, grants: RoleGrants): Promise<SessionRole> {
    if (!this.opts.share) {
      const c = await this.create(identityName, grants);
      return this.handle(c, async () => {
        this.live.delete(c.role);
        await this.dropRole(c.role);
      });
    }
    const key = `${identityName}\0${JSON.stringify(grants)}`;
    let entry = this.shared.get(key);
    // Renew once less than half the validity is left, so that every later sharer can still log in.
    if (entry && entry.validUntil - this.now() < (this.opts.ttlS * 1000) / 2) {
      this.shared.delete(key);
      entry = undefined;
    }
    if (!entry) {
      const fresh: Shared = { created: this.create(identityName, grants), refs: 0, validUntil: this.now() + this.opts.ttlS * 1000 };
      fresh.created.catch(() => this.shared.get(key) === fresh && this.shared.delete(key));
      this.shared.set(key, fresh);
      entry = fresh;
    }
    const e = entry;
    e.refs++;
    let c: Created;
    try {
      c = await e.created;
    } catch (err) {
      e.refs--;
      throw err;
    }
    return this.handle(c, async () => {
      if (--e.refs > 0) return;
      if (this.shared.get(key) === e) this.shared.delete(key);
      this.live.delete(c.role);
      await this.dropRole(c.role);
    });
  }

  /** The catalog deriveGrants expands globs against, read over the admin connections. */
  grantCatalog(): GrantCatalog {
    return pgGrantCatalog(this.pool);
  }

  /** checkAdminRole over the admin connections (for `scopegate check` and startup). */
  checkAdmin(needed?: RoleGrants): Promise<string[]> {
    return checkAdminRole(this.pool, needed);
  }

  /** Drops leftover session roles: not used here, nobody logged in with them, and expired or older than the grace period. */
  async reap(): Promise<number> {
    const { rows } = await this.pool.query<{ role: string; expired: boolean; connected: boolean; description: string }>(
      `SELECT r.rolname AS role, coalesce(r.rolvaliduntil < now(), false) AS expired, d.description,
         EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a WHERE a.usename = r.rolname) AS connected
       FROM pg_catalog.pg_roles r
       JOIN pg_catalog.pg_shdescription d ON d.objoid = r.oid AND d.classoid = 'pg_catalog.pg_authid'::regclass
       WHERE starts_with(r.rolname, $1) AND starts_with(d.description, $2) AND r.rolname <> current_user`,
      [this.opts.prefix, MARKER],
    );
    const grace = (this.opts.reapGraceS ?? 60) * 1000;
    let dropped = 0;
    for (const r of rows) {
      if (this.live.has(r.role) || r.connected) continue;
      const created = Date.parse(r.description.slice(MARKER.length));
      if (!r.expired && Number.isFinite(created) && this.now() - created < grace) continue;
      try {
        await this.dropRole(r.role);
        dropped++;
      } catch (err) {
        this.log('roles: could not reap a leftover role', { role: r.role, error: (err as Error).message });
      }
    }
    if (dropped > 0) this.log('roles: reaped leftover session roles', { dropped });
    return dropped;
  }

  /** Reaps now and then every intervalS seconds (the timer does not keep the process alive). */
  startReaper(intervalS: number): void {
    this.stopReaper();
    const run = (): void => void this.reap().catch((err: Error) => this.log('roles: reaper failed', { error: err.message }));
    run();
    this.reaper = setInterval(run, intervalS * 1000);
    this.reaper.unref();
  }

  private stopReaper(): void {
    if (this.reaper) clearInterval(this.reaper);
    this.reaper = null;
  }

  /** Stops the reaper and closes the admin connections. Roles still in use are left to the next reaper. */
  async close(): Promise<void> {
    this.stopReaper();
    await this.pool.end();
  }

  private handle(c: Created, drop: () => Promise<void>): SessionRole {
    let dropping: Promise<void> | null = null;
    return { role: c.role, password: c.password, validUntil: c.validUntil, drop: () => (dropping ??= drop()) };
  }

  private async create(identityName: string, grants: RoleGrants): Promise<Created> {
    const role = `${this.opts.prefix}${randomBytes(8).toString('hex')}`;
    const password = randomBytes(32).toString('base64url');
    const now = this.now();
    const validUntil = now + this.opts.ttlS * 1000;
    const [verifier, db] = await Promise.all([scramVerifier(password), this.databaseFacts()]);
    const r = quoteIdent(role);
    const sql = [
      `CREATE ROLE ${r} LOGIN NOINHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD ${quoteLiteral(verifier)} VALID UNTIL ${quoteLiteral(new Date(validUntil).toISOString())}`,
      `COMMENT ON ROLE ${r} IS ${quoteLiteral(MARKER + new Date(now).toISOString())}`,
      ...(db.grantConnect ? [`GRANT CONNECT ON DATABASE ${quoteIdent(db.name)} TO ${r}`] : []),
      ...grantStatements(role, grants),
    ];
    // One simple Query: the statements run as one implicit transaction, so a failure leaves nothing behind.
    // The role counts as live from before it exists, so that a concurrent reap never takes it.
    this.live.add(role);
    try {
      await this.pool.query(sql.join(';\n'));
    } catch (err) {
      this.live.delete(role);
      throw err;
    }
    this.log('roles: session role created', { role, identity: identityName, relations: grants.relations.length, routines: grants.routines.length });
    return { role, password, validUntil };
  }

  private databaseFacts(): Promise<{ grantConnect: boolean; name: string }> {
    this.database ??= this.pool
      .query<{ connect: boolean; name: string }>(`SELECT has_database_privilege('public', current_database(), 'CONNECT') AS connect, current_database() AS name`)
      .then((res) => ({ grantConnect: !res.rows[0].connect, name: res.rows[0].name }));
    this.database.catch(() => (this.database = null));
    return this.database;
  }

  /** REASSIGN OWNED, DROP OWNED, DROP ROLE: after the session's backend has gone. */
  private async dropRole(role: string): Promise<void> {
    const r = quoteIdent(role);
    try {
      // Membership is what REASSIGN/DROP OWNED require of a non-superuser (CREATEROLE may grant it).
      await this.pool.query(`GRANT ${r} TO CURRENT_USER`);
      await this.waitForLogout(role);
      const to = this.opts.reassignTo ? quoteIdent(this.opts.reassignTo) : 'CURRENT_USER';
      await this.pool.query(`REASSIGN OWNED BY ${r} TO ${to};\nDROP OWNED BY ${r};\nDROP ROLE ${r}`);
      this.log('roles: session role dropped', { role });
    } catch (err) {
      if ((err as { code?: string }).code === '42704') return; // already gone
      throw err;
    }
  }

  /** The client side closes first; give the backend a moment to exit, then end it (the session is over). */
  private async waitForLogout(role: string): Promise<void> {
    const count = async (): Promise<number> =>
      (await this.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_catalog.pg_stat_activity WHERE usename = $1', [role])).rows[0].n;
    for (let delay = 5; delay <= 640; delay *= 2) {
      if ((await count()) === 0) return;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
    this.log('roles: session role still logged in after its session ended; terminating its backends', { role });
    await this.pool.query('SELECT pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity WHERE usename = $1', [role]);
  }
}
