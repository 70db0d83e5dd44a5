// /proc readings for one process (CPU ticks, RSS) and for the machine (busy ticks).
// Linux only; every reader returns undefined instead of throwing when the process is gone.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  /* keep the usual 100 */
}
export const CLK_TCK = clkTck;

export function alive(pid: number | undefined): boolean {
  return pid !== undefined && existsSync(`/proc/${pid}/stat`);
}

/** utime and stime of the process (all its threads), in clock ticks. */
export function cpuTicks(pid: number | undefined): { user: number; sys: number } | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm) ": state is [0], utime [11], stime [12].
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(f[11]), sys: Number(f[12]) };
  } catch {
    return undefined;
  }
}

/** VmRSS and VmHWM in MB. */
export function memMb(pid: number | undefined): { rss: number; hwm: number } | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/** Resets VmHWM to the current RSS (needs root or the same user). */
export function resetHwm(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    /* the peak then covers the process lifetime */
  }
}

/** Busy and total ticks summed over all CPUs, from the first line of /proc/stat. */
export function machineTicks(): { busy: number; total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  return { busy: total - cpu[3] - cpu[4], total }; // minus idle and iowait
}

/** The pid of the process listening on 127.0.0.1:port (via `ss`, needs root for other users' sockets). */
export function pidOfPort(port: number): number | undefined {
  const r = spawnSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' });
  const m = /pid=(\d+)/.exec(r.stdout ?? '');
  return m ? Number(m[1]) : undefined;
}

/** Samples one process and the machine around a measured run. */
export class Meter {
  private t0 = performance.now();
  private cpu0: { user: number; sys: number } | undefined;
  private sys0 = machineTicks();

  constructor(private readonly pid: number | undefined) {
    resetHwm(pid);
    this.cpu0 = cpuTicks(pid);
  }

  finish(): {
    wall_s: number; proxy_cpu_pct?: number; proxy_user_s?: number; proxy_sys_s?: number; proxy_hwm_mb?: number; proxy_rss_mb?: number; machine_busy_pct: number;
  } {
    const wall = (performance.now() - this.t0) / 1000;
    const cpu1 = cpuTicks(this.pid);
    const cpu0 = this.cpu0;
    const mem = memMb(this.pid);
    const sys1 = machineTicks();
    const dt = sys1.total - this.sys0.total;
    const ncpu = Math.max(1, (readFileSync('/proc/stat', 'utf8').match(/^cpu\d+ /gm) ?? []).length);
    return {
      wall_s: wall,
      proxy_cpu_pct: cpu0 && cpu1 ? ((cpu1.user + cpu1.sys - cpu0.user - cpu0.sys) / CLK_TCK / wall) * 100 : undefined,
      proxy_user_s: cpu0 && cpu1 ? (cpu1.user - cpu0.user) / CLK_TCK : undefined,
      proxy_sys_s: cpu0 && cpu1 ? (cpu1.sys - cpu0.sys) / CLK_TCK : undefined,
      proxy_hwm_mb: mem?.hwm,
      proxy_rss_mb: mem?.rss,
      // 100% = one core busy, so a 2-core machine tops out at 200%.
      machine_busy_pct: dt > 0 ? ((sys1.busy - this.sys0.busy) / dt) * 100 * ncpu : 0,
    };
  }
}
