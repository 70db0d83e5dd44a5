// Test support for the CLI: a real admin API on 127.0.0.1:0, and the CLI run as a child process.
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { dana, dora, fixture, reporter, sam, type Fixture } from '../approvals/test-support.ts';
import { systemClock } from '../approvals/types.ts';
import { sha256Hex, TokenDirectory } from '../identity/tokens.ts';
import { buildAdminServer } from './server.ts';

export const cliTokens = { reporter: 'tok-reporter', dana: 'tok-dana', dora: 'tok-dora', sam: 'tok-sam' } as const;

export interface LiveAdmin {
  url: string;
  f: Fixture;
  close(): Promise<void>;
}

export async function startLiveAdmin(): Promise<LiveAdmin> {
  const f = await fixture({ clock: systemClock });
  const directory = new TokenDirectory(
    [reporter, dana, dora, sam].map((i) => ({ name: i.name, sha256: sha256Hex(cliTokens[i.name as keyof typeof cliTokens]), groups: i.groups })),
  );
  const app = await buildAdminServer({ approvals: f.service, authenticate: (t) => directory.authenticate(t), approverGroups: ['dba'] });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    f,
    async close() {
      await app.close();
      await f.close();
    },
  };
}

const bin = fileURLToPath(new URL('../../bin/scopegate.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/scopegate.js ARGS` without blocking this process (the server under test lives here). */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
