// Opens the store the config names: `embedded` (under data_dir) or, later, a postgres:// URL.
import { resolve } from 'node:path';
import { EmbeddedStore } from './embedded.ts';
import { StoreError, type Store } from './types.ts';

export { EmbeddedStore } from './embedded.ts';
export * from './types.ts';

export async function openStore(config: { store: string; data_dir: string }, baseDir: string): Promise<Store> {
  if (config.store === 'embedded') return EmbeddedStore.open(resolve(baseDir, config.data_dir));
  if (/^postgres(ql)?:\/\//.test(config.store)) {
    throw new StoreError('unsupported', 'store: postgres:// is not available yet; use store: embedded');
  }
  throw new StoreError('unsupported', `store: expected "embedded" or a postgres:// URL, got "${config.store}"`);
}
