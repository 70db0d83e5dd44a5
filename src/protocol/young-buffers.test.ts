import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const MODULE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'young-buffers.ts');

/** Runs a script in a node with the given options; returns the minor GCs it saw while noting `mb` MB of buffers. */
function scavengesWhileNoting(nodeOptions: string[], mb: number): { requested: boolean; minor: number } {
  const script = `
    import { PerformanceObserver, constants } from 'node:perf_hooks';
    import { noteYoungBuffer, canRequestScavenge } from ${JSON.stringify(MODULE)};
    let minor = 0;
    const obs = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MINOR) minor++;
    });
    obs.observe({ entryTypes: ['gc'] });
    for (let i = 0; i < ${mb} * 16; i++) noteYoungBuffer(64 * 1024);
    setTimeout(() => { obs.disconnect(); console.log(JSON.stringify({ requested: canRequestScavenge, minor })); }, 50);
  `;
  const out = execFileSync(process.execPath, [...nodeOptions, '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').at(-1)!) as { requested: boolean; minor: number };
}

test('with gc exposed, noting young buffers scavenges once per 2 MB of them', () => {
  const r = scavengesWhileNoting(['--expose-gc'], 8);
  assert.equal(r.requested, true);
  assert.ok(r.minor >= 4, `minor GCs: ${r.minor}`);
});

test('without gc exposed, noting buffers does nothing', () => {
  const r = scavengesWhileNoting([], 8);
  assert.equal(r.requested, false);
  assert.ok(r.minor < 4, `minor GCs: ${r.minor}`);
});
