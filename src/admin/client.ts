// A small client for the admin API, used by `scopegate review` and `scopegate grant`.
import { loadConfigFile } from '../config/load.ts';

export class AdminApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'AdminApiError';
  }
}

/** Where the CLI finds the API and its token. */
export interface Connection {
  baseUrl: string;
  token: string;
}

export interface ConnectionFlags {
  admin?: string;
  token?: string;
  config?: string;
}

/** Common options of the commands that talk to the admin API (for node:util parseArgs). */
export const connectionOptions = {
  admin: { type: 'string' },
  token: { type: 'string' },
  config: { type: 'string', short: 'c' },
} as const;

/** --admin, else SCOPEGATE_ADMIN_URL, else the config's `admin:` address; --token, else SCOPEGATE_TOKEN. */
export function resolveConnection(flags: ConnectionFlags, env: Record<string, string | undefined> = process.env): Connection {
  let baseUrl = flags.admin ?? env.SCOPEGATE_ADMIN_URL;
  if (!baseUrl && flags.config) {
    const { config } = loadConfigFile(flags.config);
    if (!config.admin) throw new AdminApiError(0, 'no-admin', `${flags.config} has no admin: address; pass --admin URL`);
    baseUrl = `http://${loopbackFor(config.admin)}`;
  }
  if (!baseUrl) throw new AdminApiError(0, 'no-admin', 'where is the admin API? pass --admin URL, set SCOPEGATE_ADMIN_URL, or --config FILE');
  if (!/^https?:\/\//.test(baseUrl)) baseUrl = `http://${baseUrl}`;
  const token = flags.token ?? env.SCOPEGATE_TOKEN;
  if (!token) throw new AdminApiError(0, 'no-token', 'no token: pass --token TOKEN or set SCOPEGATE_TOKEN');
  return { baseUrl: baseUrl.replace(/\/+$/, ''), token };
}

/** A listener on every interface is reached on loopback. */
function loopbackFor(hostPort: string): string {
  const i = hostPort.lastIndexOf(':');
  const host = hostPort.slice(0, i);
  const port = hostPort.slice(i + 1);
  if (host === '0.0.0.0' || host === '') return `127.0.0.1:${port}`;
  if (host === '::' || host === '[::]') return `[::1]:${port}`;
  return hostPort;
}

export async function callApi<T>(conn: Connection, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${conn.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${conn.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new AdminApiError(0, 'unreachable', `cannot reach the admin API at ${conn.baseUrl}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
  }
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: reported below
  }
  if (!res.ok) {
    const e = (json ?? {}) as { error?: string; message?: string };
    throw new AdminApiError(res.status, e.error ?? `http-${res.status}`, e.message ?? `HTTP ${res.status} from ${conn.baseUrl}${path}`);
  }
  if (json === null) throw new AdminApiError(res.status, 'bad-response', `the admin API at ${conn.baseUrl} did not answer JSON`);
  return json as T;
}

/** Runs a CLI action, printing API errors as one line; exit 1 for those, the action's code otherwise. */
export async function runAdminAction(action: () => Promise<number>, stderr: (line: string) => void = console.error): Promise<number> {
  try {
    return await action();
  } catch (err) {
    if (!(err instanceof AdminApiError)) throw err;
    stderr(`scopegate: ${err.message}${err.status ? ` (HTTP ${err.status} ${err.code})` : ''}`);
    return 1;
  }
}
