// The victim session of policy.md §7: a separate backend running
// `SELECT pg_sleep(30)` with application_name 'corpus-victim', connected
// directly to PostgreSQL as the gateway's upstream role (so a forwarded
// pg_terminate_backend / pg_cancel_backend would be allowed to signal it).
import pg from 'pg';
import type { Cluster } from '../harness/cluster.ts';

export interface Victim {
  /** How the victim was signalled ('cancelled', 'terminated', …), or null if it still sleeps. */
  signalled(): Promise<string | null>;
  stop(): Promise<void>;
}

export async function startVictim(cluster: Cluster, db: string, user: string, password: string): Promise<Victim> {
  const client = new pg.Client({
    host: cluster.host, port: cluster.port, database: db, user, password, application_name: 'corpus-victim',
  });
  client.on('error', () => undefined);
  await client.connect();
  const pidRow = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const pid = pidRow.rows[0].pid;
  let outcome: string | null = null;
  const sleeping = client.query('SELECT pg_sleep(30)').then(
    () => { outcome = 'woke up early'; },
    (e: { code?: string; message?: string }) => {
      outcome = e.code === '57014' ? 'cancelled' : e.code === '57P01' ? 'terminated' : `failed: ${e.code ?? ''} ${e.message ?? e}`;
    },
  );
  // Wait until the server reports the sleep as running.
  for (let i = 0; i < 100; i++) {
    const r = await cluster.query<{ state: string }>('SELECT state FROM pg_stat_activity WHERE pid = $1', 'postgres', [pid]);
    if (r.rows[0]?.state === 'active') break;
    await new Promise((res) => setTimeout(res, 20));
  }
  let stopped = false;
  return {
    async signalled() {
      await new Promise((res) => setTimeout(res, 300));
      return outcome;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await cluster.query('SELECT pg_terminate_backend($1)', 'postgres', [pid]);
      await sleeping;
      await client.end().catch(() => undefined);
    },
  };
}
