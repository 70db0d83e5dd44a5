// Starts the real gateway the way a user does: `scopegate start --config FILE`,
// that is node with the options of bin/scopegate.js's #! line.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { freePort, waitForPort } from './net.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const GATEWAY_BIN = path.join(REPO_ROOT, 'bin', 'scopegate.js');

/** The node options the bin's `#!/usr/bin/env -S node …` line gives it when run as `scopegate`, given here too. */
export function shebangNodeFlags(bin = GATEWAY_BIN): string[] {
  const first = readFileSync(bin, 'utf8').split('\n', 1)[0];
  const m = /^#!.*?\bnode\b(.*)$/.exec(first);
  return m ? m[1].trim().split(/\s+/).filter(Boolean) : [];
}

export interface GatewayOptions {
  /**
   * The scopegate.yaml text. `{{PORT}}`, `{{ADMIN_PORT}}` and `{{DIR}}` are
   * replaced by the chosen port, a second free port and the temp dir; `listen:`
   * is then set to 127.0.0.1:<port> whatever it said.
   */
  configYaml: string;
  /** Extra environment for the gateway process (e.g. the upstream password_env). */
  env?: Record<string, string>;
  /** How long to wait for the port to accept connections (default 20 s). */
  startTimeoutMs?: number;
  /** Options for node itself, before the script (e.g. --cpu-prof, which NODE_OPTIONS refuses). */
  nodeArgs?: string[];
}

export interface Gateway {
  host: string;
  port: number;
  /** The port that replaced {{ADMIN_PORT}} (0 when the config has none). */
  adminPort: number;
  /** Temp dir holding scopegate.yaml (and whatever the config puts under {{DIR}}). */
  dir: string;
  configPath: string;
  /** The gateway's process (node itself: no shell in between). */
  pid: number | undefined;
  /** Everything the gateway wrote to stdout and stderr so far. */
  logs(): string;
  /** SIGTERM, then SIGKILL after 5 s; removes the temp dir. */
  stop(): Promise<void>;
  /** Sends a signal (e.g. SIGKILL for a crash test) and waits for the process to exit; keeps the temp dir. */
  kill(signal: NodeJS.Signals): Promise<void>;
  /** Sends a signal without waiting (e.g. SIGHUP to reload). */
  sendSignal(signal: NodeJS.Signals): void;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/** Returns the config text with placeholders filled and `listen:` forced to host:port. */
export function renderGatewayConfig(configYaml: string, host: string, port: number, dir: string, adminPort = 0): string {
  const text = configYaml
    .replaceAll('{{PORT}}', String(port))
    .replaceAll('{{ADMIN_PORT}}', String(adminPort))
    .replaceAll('{{DIR}}', dir);
  const doc = YAML.parseDocument(text);
  if (doc.errors.length > 0) throw new Error(`gateway config is not valid YAML: ${doc.errors[0].message}`);
  doc.set('listen', `${host}:${port}`);
  return doc.toString();
}

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const host = '127.0.0.1';
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sg-gw-'));
  const port = await freePort(host);
  const configPath = path.join(dir, 'scopegate.yaml');
  const adminPort = opts.configYaml.includes('{{ADMIN_PORT}}') ? await freePort(host) : 0;
  writeFileSync(configPath, renderGatewayConfig(opts.configYaml, host, port, dir, adminPort), { mode: 0o600 });

  const chunks: string[] = [];
  const child = spawn(process.execPath, [...shebangNodeFlags(), ...(opts.nodeArgs ?? []), GATEWAY_BIN, 'start', '--config', configPath], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  installExitHook();
  child.stdout?.on('data', (c: Buffer) => chunks.push(c.toString()));
  child.stderr?.on('data', (c: Buffer) => chunks.push(c.toString()));
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      running.delete(child);
      resolve();
    });
    child.on('error', (e) => {
      chunks.push(`spawn error: ${e.message}\n`);
      exited = { code: null, signal: null };
      running.delete(child);
      resolve();
    });
  });
  const logs = (): string => chunks.join('');

  const stop = async (): Promise<void> => {
    if (!exited) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exitPromise;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const up = await waitForPort(host, port, opts.startTimeoutMs ?? 20_000, () => exited !== undefined);
  if (!up) {
    const why = exited ? `exited (code ${exited.code}, signal ${exited.signal})` : 'did not accept connections in time';
    await stop();
    throw new Error(`gateway ${why} on ${host}:${port}\n--- gateway output ---\n${logs()}`);
  }
  const kill = async (signal: NodeJS.Signals): Promise<void> => {
    if (!exited) child.kill(signal);
    await exitPromise;
  };
  return { host, port, adminPort, dir, configPath, pid: child.pid, logs, stop, kill, sendSignal: (sig) => void child.kill(sig) };
}

export interface Token {
  name: string;
  /** What a client sends as its password. */
  token: string;
  /** Hex SHA-256 of the token string: what the config's `sha256:` holds. */
  sha256: string;
}

export function makeToken(name: string): Token {
  const token = randomBytes(32).toString('base64url');
  return { name, token, sha256: createHash('sha256').update(token).digest('hex') };
}
