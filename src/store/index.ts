// Opens the store the config names: `embedded` (under data_dir) or a postgres:// URL (shared by replicas;
// the password comes from the URL or from SCOPEGATE_STORE_PASSWORD).
import { resolve } from 'node:path';
import { EmbeddedStore } from './embedded.ts';
import { isPostgresUrl } from './postgres-conn.ts';
import { PostgresStore, type PostgresStoreOptions } from './postgres.ts';
import { StoreError, type Store } from './types.ts';

export { EmbeddedStore } from './embedded.ts';
export { PostgresStore } from './postgres.ts';
export { STORE_PASSWORD_ENV } from './postgres-conn.ts';
export * from './types.ts';

export interface OpenStoreOptions {
  /** Where SCOPEGATE_STORE_PASSWORD is read (default process.env). */
  env?: NodeJS.ProcessEnv;
  log?: PostgresStoreOptions['log'];
}

export async function openStore(config: { store: string; data_dir: string }, baseDir: string, options: OpenStoreOptions = {}): Promise<Store> {
  if (config.store === 'embedded') return EmbeddedStore.open(resolve(baseDir, config.data_dir));
  if (isPostgresUrl(config.store)) return PostgresStore.open({ url: config.store, env: options.env, log: options.log });
  throw new StoreError('unsupported', `store: expected "embedded" or a postgres:// URL, got "${config.store}"`);
}
