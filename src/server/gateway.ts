// The listener: accepts clients, authenticates them, opens their upstream
// session and hands both to a Session. Also routes cancel requests.
import net from 'node:net';
import tls from 'node:tls';
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from '../config/schema.ts';
import { defaultFrameLimits, type FrameLimits } from '../protocol/framer.ts';
import { encodeAuthenticationOk, encodeBackendKeyData, encodeErrorResponse, encodeParameterStatus, encodeReadyForQuery } from '../protocol/backend.ts';
import { encodeCancelRequest } from '../protocol/startup.ts';
import { errorFields, PgError, toPgError } from '../protocol/errors.ts';
import { TokenDirectory } from '../identity/tokens.ts';
import { compileEffectivePolicy, type EffectivePolicy } from '../policy/compile.ts';
import type { Identity, MaskStrategy } from '../policy/types.ts';
import type { AuditSink } from '../audit/types.ts';
import { SocketInput } from '../protocol/socket-input.ts';
import { connectUpstream, parseUpstreamUrl, type UpstreamTarget } from '../upstream/connect.ts';
import { Catalog } from '../upstream/catalog.ts';
import { EphemeralRoles, deriveGrants, type RoleGrants } from '../upstream/roles.ts';
import { OidcError, OidcVerifier, looksLikeJwt } from '../identity/oidc.ts';
import { StatementAnalyzer } from '../session/analyzer.ts';
import { Session } from '../session/session.ts';
import { clientHandshake } from './handshake.ts';
import type { ApprovalsPort } from '../session/approvals-port.ts';
import type { GatewayMetrics } from '../metrics/metrics.ts';

export interface GatewayDeps {
  config: Config;
  baseDir: string;
  audit: AuditSink;
  env: NodeJS.ProcessEnv;
  hashKey: Buffer;
  now: () => number;
  newId: () => string;
  log: (msg: string, extra?: Record<string, unknown>) => void;
  /** Holds `review` verdicts for a human; absent: they are refused. */
  approvals?: ApprovalsPort;
  metrics?: GatewayMetrics;
}

interface UpstreamRuntime {
  name: string;
  target: UpstreamTarget;
  catalog: Catalog;
  analyzer: StatementAnalyzer;
  /** roles: ephemeral — per-session login roles with grants derived from the policy. */
  roles?: EphemeralRoles;
  /** Derived grants per (identity, policies), briefly cached: deriving costs catalog queries. */
  grantCache: Map<string, { grants: RoleGrants; expires: number }>;
}

/** Client-visible cancel key → the upstream backend it cancels. */
interface CancelRoute {
  target: UpstreamTarget;
  processId: number;
  secretKey: number;
  /** Set once the session runs: a cancel of a held statement withdraws its review instead. */
  session?: Session;
}

/** Startup parameters passed on to the upstream (validated in the handshake). */
const forwardedParams = ['application_name', 'client_encoding', 'DateStyle', 'datestyle', 'TimeZone', 'timezone', 'extra_float_digits', 'IntervalStyle', 'intervalstyle'];

export class Gateway {
  private server: net.Server | null = null;
  private tokens: TokenDirectory;
  /** Replaced as a whole by reload(); sessions started before keep working with the new policies. */
  private config: Config;
  private readonly upstreams = new Map<string, UpstreamRuntime>();
  private readonly cancelRoutes = new Map<string, CancelRoute>();
  private readonly sessions = new Set<Session>();
  private readonly secureContext?: tls.SecureContext;
  private readonly limits: FrameLimits;
  private connections = 0;
  private readonly oidc?: OidcVerifier;

  constructor(private readonly deps: GatewayDeps) {
    const { config } = deps;
    this.config = config;
    this.tokens = new TokenDirectory(config.identities.tokens);
    this.limits = { ...defaultFrameLimits, maxMessage: config.limits.max_message_bytes };
    if (config.tls) {
      this.secureContext = tls.createSecureContext({
        cert: readFileSync(resolve(deps.baseDir, config.tls.cert)),
        key: readFileSync(resolve(deps.baseDir, config.tls.key)),
      });
    }
    for (const [name, u] of Object.entries(config.upstreams)) {
      const target: UpstreamTarget = { ...parseUpstreamUrl(u.url), password: upstreamPassword(u, deps), tls: u.tls };
      const catalog = new Catalog(target);
      this.upstreams.set(name, {
        name,
        target,
        catalog,
        analyzer: new StatementAnalyzer(catalog, target.database, { maxSqlBytes: config.limits.max_sql_bytes }),
        roles: u.roles === 'ephemeral' ? new EphemeralRoles(target, { prefix: u.ephemeral.prefix, ttlS: u.ephemeral.ttl_s, log: deps.log }) : undefined,
        grantCache: new Map(),
      });
    }
    const issuers = config.identities.oidc === undefined ? [] : Array.isArray(config.identities.oidc) ? config.identities.oidc : [config.identities.oidc];
    if (issuers.length > 0) this.oidc = new OidcVerifier(issuers, { log: deps.log });
  }

  /** Reach out to identity providers and upstream admin roles before serving. */
  private async prepare(): Promise<void> {
    if (this.oidc) {
      if (!this.config.tls?.required) this.deps.log('warning: OIDC tokens travel as cleartext passwords; set tls.required: true outside loopback');
      await this.oidc.init().catch((err) => this.deps.log('OIDC issuer not reachable yet; will retry on first use', { error: (err as Error).message }));
    }
    for (const u of this.upstreams.values()) {
      if (!u.roles) continue;
      for (const w of await u.roles.checkAdmin().catch((err) => [`cannot check the admin role: ${(err as Error).message}`])) {
        this.deps.log(`warning: upstream ${u.name}: ${w}`);
      }
      await u.roles.reap().catch((err) => this.deps.log('role reaper failed', { error: (err as Error).message }));
      u.roles.startReaper(this.config.upstreams[u.name].ephemeral.reap_interval_s);
    }
  }

  async listen(): Promise<{ host: string; port: number }> {
    await this.prepare();
    const [host, port] = splitHostPort(this.config.listen);
    this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.server.maxConnections = this.config.limits.max_connections;
    await new Promise<void>((res, rej) => {
      this.server!.once('error', rej);
      this.server!.listen(port, host, () => res());
    });
    const addr = this.server.address() as net.AddressInfo;
    return { host: addr.address, port: addr.port };
  }

  private accept(socket: net.Socket): void {
    this.connections++;
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    socket.once('close', () => this.connections--);
    this.startSession(socket).catch((err) => {
      const e = toPgError(err);
      if (!(err instanceof PgError)) this.deps.log('connection setup failed', { error: (err as Error).stack });
      if (!socket.destroyed) {
        socket.end(encodeErrorResponse(errorFields(new PgError(e.code, e.message, { severity: 'FATAL', hint: e.hint }))));
        setTimeout(() => socket.destroy(), 1000).unref();
      }
    });
  }

  private async startSession(raw: net.Socket): Promise<void> {
    const hello = await clientHandshake(raw, {
      secureContext: this.secureContext,
      tlsRequired: this.config.tls?.required ?? false,
      limits: this.limits,
      timeoutMs: this.config.limits.startup_timeout_ms,
      onCancel: (pid, key) => this.cancel(pid, key),
    });
    if (hello.kind === 'cancel') {
      raw.destroy();
      return;
    }
    const { socket, params } = hello;
    const client = `${raw.remoteAddress}:${raw.remotePort}`;
    const { identity, expiresAt } = await this.authenticate(hello.password, params, client);
    const upstream = this.upstreams.get(params.database);
    if (!upstream) {
      this.authFailed(client, params, 'unknown database');
      throw new PgError('3D000', `scopegate: database "${params.database}" is not served by this gateway`, { severity: 'FATAL' });
    }
    const policy = compileEffectivePolicy(this.config.policies, identity, upstream.name, this.config.upstreams[upstream.name].detect);
    if (policy.policies.length === 0) {
      this.authFailed(client, params, 'no policy');
      throw new PgError('42501', `scopegate: no policy gives "${identity.name}" access to database "${upstream.name}"`, { severity: 'FATAL' });
    }
    // The first statement needs the catalog's control connection: open it while the session's own connection is set up.
    if (!upstream.catalog.fresh()) upstream.catalog.prepare().catch(() => undefined);
    const startup: Record<string, string> = {};
    for (const k of forwardedParams) if (params[k] !== undefined) startup[k] = params[k];
    const sessionRole = upstream.roles ? await upstream.roles.createSessionRole(identity.name, await this.grantsFor(upstream, identity, policy)) : undefined;
    let up;
    try {
      up = await connectUpstream(sessionRole ? { ...upstream.target, user: sessionRole.role, password: sessionRole.password } : upstream.target, startup);
    } catch (err) {
      void sessionRole?.drop();
      throw err;
    }
    try {
      const maskByColumn = await this.expandMasks(upstream, policy);
      const route: CancelRoute = { target: upstream.target, ...up.backendKey };
      const key = this.newCancelKey(route);
      const greeting: Buffer[] = [encodeAuthenticationOk()];
      for (const [name, value] of up.parameters) greeting.push(encodeParameterStatus(name, value));
      greeting.push(encodeBackendKeyData(key.processId, key.secretKey), encodeReadyForQuery('I'));
      socket.write(Buffer.concat(greeting));
      const id = this.deps.newId();
      this.deps.audit.write({
        type: 'session_start', session: id, identity: identity.name, groups: identity.groups, upstream: upstream.name,
        client, tls: hello.tls, method: identity.method, at: new Date(this.deps.now()).toISOString(),
      });
      const session = new Session(socket, SocketInput.adopt(socket), hello.framer, up.socket, up.input, up.framer, {
        id, identity, upstreamName: upstream.name, policy, analyzer: upstream.analyzer, catalog: upstream.catalog,
        audit: this.deps.audit, hashKey: this.deps.hashKey, maxPrepared: this.config.limits.max_prepared_per_session,
        maskByColumn, now: this.deps.now, log: this.deps.log, approvals: this.deps.approvals,
        auditFailClosed: this.config.audit.fail_closed,
        ackAfterAudit: this.config.audit.ack_after_write,
        metrics: this.deps.metrics,
      });
      this.sessions.add(session);
      route.session = session;
      this.deps.metrics?.sessionsTotal.inc();
      this.deps.metrics?.sessionsActive.inc();
      session.onClose = () => {
        this.sessions.delete(session);
        this.deps.metrics?.sessionsActive.dec();
        this.cancelRoutes.delete(`${key.processId}.${key.secretKey}`);
        if (sessionRole) up.socket.once('close', () => void sessionRole.drop().catch((e) => this.deps.log('dropping a session role failed', { error: (e as Error).message })));
      };
      if (expiresAt !== undefined) session.endAt(expiresAt + this.config.identities.session_grace_s * 1000);
      session.start();
    } catch (err) {
      up.socket.destroy();
      void sessionRole?.drop();
      throw err;
    }
  }

  private async grantsFor(upstream: UpstreamRuntime, identity: Identity, policy: EffectivePolicy): Promise<RoleGrants> {
    const key = `${identity.name}\0${identity.groups.join(',')}`;
    const hit = upstream.grantCache.get(key);
    if (hit && hit.expires > this.deps.now()) return hit.grants;
    const grants = await deriveGrants(policy, upstream.roles!.grantCatalog());
    upstream.grantCache.set(key, { grants, expires: this.deps.now() + 30_000 });
    return grants;
  }

  private async authenticate(password: string, params: Record<string, string>, client: string): Promise<{ identity: Identity; expiresAt?: number }> {
    if (this.oidc && looksLikeJwt(password)) {
      try {
        const verified = await this.oidc.verify(password);
        return { identity: verified.identity, expiresAt: verified.expiresAt };
      } catch (err) {
        const reason = err instanceof OidcError ? err.reason : 'error';
        this.authFailed(client, params, `oidc: ${reason}`);
        const message = err instanceof OidcError ? err.message : 'scopegate: token verification failed';
        throw new PgError(reason === 'unavailable' ? '08004' : '28000', message, { severity: 'FATAL' });
      }
    }
    const identity = this.tokens.authenticate(password);
    if (!identity || identity.name !== params.user) {
      this.authFailed(client, params, identity ? 'token belongs to another identity' : 'unknown token');
      throw new PgError('28P01', `scopegate: authentication failed for user "${params.user}"`, { severity: 'FATAL' });
    }
    return { identity };
  }

  private authFailed(client: string, params: Record<string, string>, reason: string): void {
    this.deps.metrics?.authFailures.inc({ reason });
    this.deps.audit.write({ type: 'auth_failed', client, user: params.user ?? '', database: params.database ?? '', reason, at: new Date(this.deps.now()).toISOString() });
  }

  /**
   * Masks named in the policy also cover inheritance children and partitions
   * (their rows appear in the parent), and are indexed by table OID and
   * attribute number for the RowDescription cross-check.
   */
  private async expandMasks(upstream: UpstreamRuntime, policy: EffectivePolicy): Promise<Map<string, MaskStrategy>> {
    const byColumn = new Map<string, MaskStrategy>();
    if (policy.masks.size === 0) return byColumn;
    const queue = [...policy.masks.entries()];
    const seen = new Set<string>();
    while (queue.length > 0) {
      const [key, strategy] = queue.shift()!;
      if (seen.has(key)) continue;
      seen.add(key);
      const [schema, table, column] = key.split('.');
      let rel = upstream.catalog.snapshot().relation(schema, table);
      if (rel === undefined) {
        await upstream.catalog.load([{ type: 'relation', schema, name: table }]);
        rel = upstream.catalog.snapshot().relation(schema, table);
      }
      if (!rel) continue;
      const attr = rel.columns.find((c) => c.name === column);
      if (attr) byColumn.set(`${rel.oid}.${attr.attnum}`, strategy);
      for (const child of rel.children ?? []) {
        const childKey = `${child}.${column}`;
        if (!policy.masks.has(childKey)) policy.masks.set(childKey, strategy);
        queue.push([childKey, strategy]);
      }
    }
    return byColumn;
  }

  /**
   * Swap in a new configuration: identities and policies apply to new
   * sessions at once and to open sessions from their next statement. Listener,
   * TLS and upstream changes need a restart (reported, not applied).
   */
  async reload(next: Config): Promise<string[]> {
    const notes: string[] = [];
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    if (!same(next.upstreams, this.config.upstreams)) notes.push('upstream changes take effect after a restart');
    if (next.listen !== this.config.listen || !same(next.tls, this.config.tls) || next.admin !== this.config.admin) notes.push('listener and TLS changes take effect after a restart');
    this.config = { ...next, upstreams: this.config.upstreams, listen: this.config.listen, tls: this.config.tls, admin: this.config.admin };
    this.tokens = new TokenDirectory(this.config.identities.tokens);
    for (const session of this.sessions) {
      const upstream = this.upstreams.get(session.upstreamName);
      if (!upstream) continue;
      const policy = compileEffectivePolicy(this.config.policies, session.identity, upstream.name, this.config.upstreams[upstream.name].detect);
      session.setPolicy(policy, await this.expandMasks(upstream, policy));
    }
    return notes;
  }

  private newCancelKey(route: CancelRoute): { processId: number; secretKey: number } {
    for (;;) {
      const key = { processId: randomInt(1, 2 ** 31 - 1), secretKey: randomInt(-(2 ** 31), 2 ** 31 - 1) };
      const id = `${key.processId}.${key.secretKey}`;
      if (this.cancelRoutes.has(id)) continue;
      this.cancelRoutes.set(id, route);
      return key;
    }
  }

  private cancel(processId: number, secretKey: number): void {
    const route = this.cancelRoutes.get(`${processId}.${secretKey}`);
    if (!route) return; // wrong key: ignored silently, as Postgres does
    if (route.session?.withdrawHeld()) return;
    const s = net.connect({ host: route.target.host, port: route.target.port }, () => {
      s.end(encodeCancelRequest(route.processId, route.secretKey));
    });
    s.on('error', () => undefined);
  }

  async close(): Promise<void> {
    await new Promise<void>((res) => (this.server ? this.server.close(() => res()) : res()));
    for (const s of this.sessions) s.close('gateway shutting down');
    for (const u of this.upstreams.values()) {
      await u.catalog.close();
      await u.roles?.close();
    }
    this.oidc?.close();
    await this.deps.audit.close();
  }
}

function upstreamPassword(u: Config['upstreams'][string], deps: GatewayDeps): string | undefined {
  if (u.password_env) {
    const v = deps.env[u.password_env];
    if (v === undefined) throw new Error(`environment variable ${u.password_env} (password_env) is not set`);
    return v;
  }
  if (u.password_file) return readFileSync(resolve(deps.baseDir, u.password_file), 'utf8').replace(/\r?\n$/, '');
  const fromUrl = new URL(u.url).password;
  return fromUrl ? decodeURIComponent(fromUrl) : undefined;
}

export function splitHostPort(hp: string): [string, number] {
  const i = hp.lastIndexOf(':');
  return [hp.slice(0, i), Number(hp.slice(i + 1))];
}
