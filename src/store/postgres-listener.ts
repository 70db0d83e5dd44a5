// LISTEN on a dedicated connection for changes other processes (replicas) make. The connection is
// watched with a heartbeat; when it drops, it is re-made with exponential backoff and, once
// listening again, every review and grant changed since the last moment the connection was known
// to be good (by the database's clock, with a margin) is reported, so nothing missed is lost.
// Reporting a change twice is harmless: listeners re-read the value.
import pg from 'pg';
import { CHANGE_CHANNEL, SCHEMA } from './postgres-schema.ts';
import type { StoreChange } from './types.ts';

export interface ChangeListenerOptions {
  connectionString: string;
  /** This handle's id: notifications it sent itself are ignored (it reported them already). */
  origin: string;
  deliver: (change: StoreChange) => void;
  log?: (msg: string, extra?: Record<string, unknown>) => void;
  /** First reconnect delay; doubles per failed attempt up to maxBackoffMs (±20% jitter). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** How often the connection is checked, and how long a check may take before it counts as dropped. */
  heartbeatMs?: number;
  heartbeatTimeoutMs?: number;
  /** Catch-up looks this far before the last good heartbeat (covers commits in flight then). */
  catchUpMarginMs?: number;
}

export interface ChangeListenerStats {
  reconnects: number;
  /** Changes reported by catch-up queries after reconnects. */
  caughtUp: number;
  connected: boolean;
}

export interface ChangePayload {
  o: string;
  k: StoreChange['kind'];
  i: string;
}

export class ChangeListener {
  readonly stats: ChangeListenerStats = { reconnects: 0, caughtUp: 0, connected: false };
  private client: pg.Client | null = null;
  /** Database time at which the connection was last known to be listening. */
  private lastAlive: Date | null = null;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly o: Required<Omit<ChangeListenerOptions, 'log'>> & Pick<ChangeListenerOptions, 'log'>;

  constructor(options: ChangeListenerOptions) {
    this.o = {
      backoffMs: 100,
      maxBackoffMs: 10_000,
      heartbeatMs: 5000,
      heartbeatTimeoutMs: 5000,
      catchUpMarginMs: 5000,
      ...options,
    };
  }

  /** Connects and listens; rejects when the first connection fails. */
  async start(): Promise<void> {
    await this.connect(false);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    const client = this.client;
    this.client = null;
    this.stats.connected = false;
    if (client) await client.end().catch(() => undefined);
  }

  private async connect(reconnect: boolean): Promise<void> {
    const client = new pg.Client({ connectionString: this.o.connectionString, application_name: 'scopegate-store-listen', keepAlive: true, connectionTimeoutMillis: 10_000 });
    let failed = false;
    const lost = (err: Error): void => {
      if (failed) return;
      failed = true;
      this.lost(client, err);
    };
    client.on('error', lost);
    client.on('end', () => lost(new Error('connection closed')));
    client.on('notification', (n) => this.onNotification(n));
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGE_CHANNEL}`);
      const now = (await client.query<{ now: Date }>('SELECT clock_timestamp() AS now')).rows[0].now;
      if (this.closed || failed) {
        failed = true;
        await client.end().catch(() => undefined);
        return;
      }
      const since = this.lastAlive;
      this.client = client;
      this.lastAlive = now;
      this.attempt = 0;
      this.stats.connected = true;
      if (reconnect) {
        this.stats.reconnects++;
        this.o.log?.('store: change listener reconnected');
        if (since) await this.catchUp(client, new Date(since.getTime() - this.o.catchUpMarginMs));
      }
      this.armHeartbeat(client);
    } catch (err) {
      failed = true;
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      if (!reconnect) throw err;
      if (this.client === client) this.client = null;
      this.scheduleReconnect(err as Error);
    }
  }

  private lost(client: pg.Client, err: Error): void {
    if (this.client !== client) return; // a connection attempt that failed handles itself
    this.client = null;
    this.stats.connected = false;
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    destroy(client);
    if (!this.closed) this.scheduleReconnect(err);
  }

  private scheduleReconnect(err: Error): void {
    if (this.closed || this.retryTimer) return;
    const delay = Math.min(this.o.maxBackoffMs, this.o.backoffMs * 2 ** this.attempt) * (0.8 + 0.4 * Math.random());
    this.attempt++;
    this.o.log?.('store: change listener lost its connection; reconnecting', { error: err.message, inMs: Math.round(delay) });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.closed) void this.connect(true);
    }, delay);
    this.retryTimer.unref();
  }

  private armHeartbeat(client: pg.Client): void {
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = setTimeout(() => void this.heartbeat(client), this.o.heartbeatMs);
    this.heartbeatTimer.unref();
  }

  private async heartbeat(client: pg.Client): Promise<void> {
    if (this.client !== client) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('heartbeat timed out')), this.o.heartbeatTimeoutMs);
      });
      const r = await Promise.race([client.query<{ now: Date }>('SELECT clock_timestamp() AS now'), timeout]);
      if (this.client !== client) return;
      this.lastAlive = r.rows[0].now;
      this.armHeartbeat(client);
    } catch (err) {
      this.lost(client, err as Error);
    } finally {
      clearTimeout(timer);
    }
  }

  private async catchUp(client: pg.Client, since: Date): Promise<void> {
    const { rows } = await client.query<{ k: StoreChange['kind']; id: string }>(
      `SELECT 'review' AS k, id FROM ${SCHEMA}.reviews WHERE changed_at >= $1
       UNION ALL SELECT 'grant' AS k, id FROM ${SCHEMA}.grants WHERE changed_at >= $1`,
      [since],
    );
    this.stats.caughtUp += rows.length;
    for (const row of rows) this.o.deliver({ kind: row.k, id: row.id });
  }

  private onNotification(n: pg.Notification): void {
    if (n.channel !== CHANGE_CHANNEL || !n.payload) return;
    let p: ChangePayload;
    try {
      p = JSON.parse(n.payload) as ChangePayload;
    } catch {
      return;
    }
    if (p.o === this.o.origin || (p.k !== 'review' && p.k !== 'grant') || typeof p.i !== 'string') return;
    this.o.deliver({ kind: p.k, id: p.i });
  }
}

/** Drop the socket at once (end() could wait forever on a half-open connection). */
function destroy(client: pg.Client): void {
  const conn = (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection;
  try {
    conn?.stream?.destroy();
  } catch {
    // already gone
  }
  client.end().catch(() => undefined);
}
