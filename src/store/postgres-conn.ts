// Connection settings for the Postgres store (and the audit store sink): the URL from the config,
// the password from the URL or from SCOPEGATE_STORE_PASSWORD, and error mapping.
import { StoreError } from './types.ts';

/** Environment variable holding the store's password when the URL has none. */
export const STORE_PASSWORD_ENV = 'SCOPEGATE_STORE_PASSWORD';

export interface StoreTarget {
  /** The URL to connect with (password filled in from the environment when the URL had none). */
  connectionString: string;
  /** user@host:port/db, never the password: for messages and logs. */
  display: string;
}

export function isPostgresUrl(value: string): boolean {
  return /^postgres(ql)?:\/\//i.test(value);
}

/** The URL's own password wins; without one, SCOPEGATE_STORE_PASSWORD is used (if set). */
export function storeTarget(url: string, env: NodeJS.ProcessEnv = process.env): StoreTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new StoreError('unsupported', 'store: not a valid postgres:// URL');
  }
  if (!isPostgresUrl(url)) throw new StoreError('unsupported', 'store: expected a postgres:// URL');
  const fromEnv = env[STORE_PASSWORD_ENV];
  if (!u.password && fromEnv) u.password = encodeURIComponent(fromEnv);
  const user = u.username ? `${decodeURIComponent(u.username)}@` : '';
  const display = `${user}${u.hostname || 'localhost'}${u.port ? `:${u.port}` : ''}${u.pathname || '/'}`;
  return { connectionString: u.toString(), display };
}

/** A StoreError for a failed query or connection (the password never appears in it). */
export function storeIoError(err: unknown, target: StoreTarget): StoreError {
  if (err instanceof StoreError) return err;
  const e = err as { message?: string; code?: string };
  const code = e?.code ? ` (${e.code})` : '';
  return new StoreError('io', `store ${target.display}: ${e?.message ?? String(err)}${code}`);
}
