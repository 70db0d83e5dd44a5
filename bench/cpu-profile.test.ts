import { test } from 'node:test';
import assert from 'node:assert/strict';
import { moduleOf, renderProfile, summariseProfile, type CpuProfile } from './cpu-profile.ts';

const frame = (functionName: string, url: string, lineNumber = 0) => ({ functionName, url, lineNumber });

test('self time is summed per function and per module, idle time left out of the shares', () => {
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame('(root)', '') },
      { id: 2, callFrame: frame('(idle)', '') },
      { id: 3, callFrame: frame('onQuery', 'file:///repo/dist/session/session.js', 9) },
      { id: 4, callFrame: frame('seal', 'file:///repo/dist/audit/chain.js', 60) },
      { id: 5, callFrame: frame('writeBuffer', '') },
      { id: 6, callFrame: frame('parse', 'file:///repo/node_modules/libpg-query/wasm/index.js', 3) },
    ],
    // Each sample lasts until the next one: 3 gets 100+100 us, 4 gets 300, 5 100, 2 (idle) 400, 6 the mean gap (1000/6).
    samples: [3, 3, 4, 5, 2, 6],
    timeDeltas: [0, 100, 100, 300, 100, 400],
  };
  const s = summariseProfile(profile);
  const near = (a: number | undefined, b: number): void => assert.ok(a !== undefined && Math.abs(a - b) < 1e-9, `${a} != ${b}`);
  near(s.busyMs, 0.6 + 1 / 6);
  near(s.sampledMs, 1 + 1 / 6);
  const byName = new Map(s.functions.map((f) => [f.name, f.ms]));
  near(byName.get('onQuery session/session.js:10'), 0.2);
  near(byName.get('seal audit/chain.js:61'), 0.3);
  near(byName.get('writeBuffer'), 0.1);
  assert.ok(!byName.has('(idle)'));
  const mods = new Map(s.modules.map((m) => [m.name, m.pct]));
  assert.ok(Math.abs([...mods.values()].reduce((a, b) => a + b, 0) - 100) < 1e-9);
  assert.equal(s.modules[0].name, 'src/audit/chain');
  assert.equal(s.modules.find((m) => m.name === 'libpg-query')?.ms.toFixed(4), (1 / 6).toFixed(4));
  assert.match(renderProfile('gateway', s), /\| src\/audit\/chain \| 0 \| 39\.1 \|/);
});

test('frames are put in the module they come from', () => {
  assert.equal(moduleOf(frame('x', 'file:///w/main/dist/masking/row-masker.js')), 'src/masking/row-masker');
  assert.equal(moduleOf(frame('x', 'file:///w/main/src/audit/chain.ts')), 'src/audit/chain');
  assert.equal(moduleOf(frame('x', 'file:///w/main/node_modules/@scope/pkg/dist/a.js')), '@scope/pkg');
  assert.equal(moduleOf(frame('x', 'node:internal/stream_base_commons')), 'node:stream_base_commons');
  assert.equal(moduleOf(frame('x', 'node:net')), 'node:net');
  assert.equal(moduleOf(frame('(garbage collector)', '')), '(garbage collector)');
  assert.equal(moduleOf(frame('writev', '')), 'native (V8 builtins, bindings)');
});
