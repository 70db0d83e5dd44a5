// The common end-to-end setup: a throwaway cluster with a database `app` owned
// by the login role `gw`, the gateway's upstream role, holding the test's tables.
import { randomBytes } from 'node:crypto';
import { startCluster, type Cluster } from './cluster.ts';

export interface AppCluster {
  cluster: Cluster;
  /** gw's password, for the gateway's password_env. */
  password: string;
}

/** `setupSql` runs in `app` as gw, so the tables it creates belong to the gateway's role. */
export async function startAppCluster(setupSql: string): Promise<AppCluster> {
  const cluster = await startCluster();
  const password = 'gw-' + randomBytes(8).toString('hex');
  await cluster.query(`CREATE ROLE gw LOGIN PASSWORD '${password}'`);
  await cluster.query('CREATE DATABASE app OWNER gw');
  await cluster.query(`SET ROLE gw; ${setupSql}; RESET ROLE;`, 'app');
  return { cluster, password };
}
