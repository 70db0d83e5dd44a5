// The command line: start, check, token new, explain.
import { parseArgs } from 'node:util';
import { loadConfigFile, ConfigError } from '../config/load.ts';
import { newToken, sha256Hex } from '../identity/tokens.ts';
import { startFromConfig } from '../main.ts';
import { explainCommand } from './explain.ts';
import { upstreamWarnings } from './check.ts';

const usage = `usage:
  scopegate start   --config FILE
  scopegate check   --config FILE
  scopegate token new NAME
  scopegate explain --config FILE --as NAME [--db UPSTREAM] "SQL"
  scopegate review  list|show ID|approve ID|deny ID [--reason TEXT] [--admin URL] [--token TOKEN]
  scopegate grant   request|list|approve ID|deny ID|revoke ID …
  scopegate audit   verify|search [--config FILE | --file PATH] …
  scopegate sessions list [--identity NAME] [--since 1h]
  scopegate replay  SESSION_ID`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'start': {
        const { values } = parseArgs({ args: rest, options: { config: { type: 'string', short: 'c' } } });
        const running = await startFromConfig(values.config ?? 'scopegate.yaml');
        await new Promise<void>((resolve) => {
          const stop = (): void => {
            void running.close().then(resolve);
          };
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        return 0;
      }
      case 'check': {
        const { values } = parseArgs({ args: rest, options: { config: { type: 'string', short: 'c' } } });
        const path = values.config ?? 'scopegate.yaml';
        const { config, baseDir } = loadConfigFile(path);
        console.log(`${path}: ok (${Object.keys(config.upstreams).length} upstreams, ${config.identities.tokens.length} tokens, ${config.policies.length} policies)`);
        for (const warning of await upstreamWarnings(config, baseDir)) console.log(`warning: ${warning}`);
        return 0;
      }
      case 'token': {
        if (rest[0] !== 'new' || !rest[1]) break;
        const token = newToken();
        console.log(`token (give this to ${rest[1]}; it is shown once): ${token}`);
        console.log('config line:');
        console.log(`    - name: ${rest[1]}\n      sha256: ${sha256Hex(token)}\n      groups: []`);
        return 0;
      }
      case 'explain':
        return await explainCommand(rest);
      case 'audit':
        return await (await import('./audit.ts')).auditCommand(rest);
      case 'sessions':
        return await (await import('./sessions.ts')).sessionsCommand(rest);
      case 'replay':
        return await (await import('./sessions.ts')).replayCommand(rest);
      case 'review':
        return await (await import('./review.ts')).reviewCommand(rest);
      case 'grant':
        return await (await import('./grant.ts')).grantCommand(rest);
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 2;
    }
    console.error(`scopegate: ${(err as Error).message}`);
    return 1;
  }
  console.error(usage);
  return 64;
}
