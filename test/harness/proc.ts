// Child-process helpers shared by the harness: run a command to completion
// with a timeout, collecting its output as Buffers.
import { spawn, type SpawnOptions } from 'node:child_process';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: Buffer;
  timedOut: boolean;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string | Buffer;
  timeoutMs?: number;
  /** Called with each stderr chunk and a function that kills the process. */
  onStderr?: (chunk: Buffer, kill: () => void) => void;
}

/** Runs a command and resolves with its exit status and output; never rejects on a non-zero exit. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const spawnOpts: SpawnOptions = {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    };
    const child = spawn(cmd, [...args], spawnOpts);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    child.stdout?.on('data', (c: Buffer) => out.push(c));
    child.stderr?.on('data', (c: Buffer) => {
      err.push(c);
      opts.onStderr?.(c, () => child.kill('SIGKILL'));
    });
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err), timedOut });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Like run(), but rejects with the command's output when it exits non-zero. */
export async function runOk(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(
      `${cmd} ${args.join(' ')} failed (code ${r.code}, signal ${r.signal}${r.timedOut ? ', timed out' : ''}):\n` +
        `${r.stdout.toString()}\n${r.stderr.toString()}`,
    );
  }
  return r;
}
