// `scopegate check`: beyond the schema, what is risky about the upstream roles.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from '../config/schema.ts';
import { EphemeralRoles } from '../upstream/roles.ts';
import { parseUpstreamUrl } from '../upstream/connect.ts';

/** For roles: ephemeral upstreams, connects with the admin role and reports what makes it unsafe (superuser, no CREATEROLE, …). */
export async function upstreamWarnings(config: Config, baseDir: string): Promise<string[]> {
  const warnings: string[] = [];
  if (config.identities.oidc && !config.tls?.required) warnings.push('OIDC is configured but tls.required is false: tokens travel as cleartext passwords');
  for (const [name, u] of Object.entries(config.upstreams)) {
    if (u.roles !== 'ephemeral') continue;
    const password = u.password_env ? process.env[u.password_env] : u.password_file ? readFileSync(resolve(baseDir, u.password_file), 'utf8').trim() : undefined;
    const roles = new EphemeralRoles({ ...parseUpstreamUrl(u.url), password }, { prefix: u.ephemeral.prefix, ttlS: u.ephemeral.ttl_s });
    try {
      for (const w of await roles.checkAdmin()) warnings.push(`upstream ${name}: ${w}`);
    } catch (err) {
      warnings.push(`upstream ${name}: cannot connect to check the admin role (${(err as Error).message})`);
    } finally {
      await roles.close();
    }
  }
  return warnings;
}
