import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import YAML from 'yaml';
import { GATEWAY_BIN, makeToken, renderGatewayConfig, shebangNodeFlags, startGateway } from './gateway.ts';

test('makeToken returns a 32-byte base64url token and the hex SHA-256 the config stores', () => {
  const t = makeToken('reporter');
  assert.equal(t.name, 'reporter');
  assert.match(t.token, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(t.sha256, createHash('sha256').update(t.token).digest('hex'));
  assert.notEqual(makeToken('reporter').token, t.token);
});

test('renderGatewayConfig fills the placeholders and forces listen to the chosen port', () => {
  const yaml = 'listen: 0.0.0.0:6432 # ours\ndata_dir: "{{DIR}}/state"\nadmin: "127.0.0.1:{{ADMIN_PORT}}"\nx: "{{PORT}}"\n';
  const doc = YAML.parse(renderGatewayConfig(yaml, '127.0.0.1', 40001, '/tmp/x', 40002)) as Record<string, string>;
  assert.equal(doc.listen, '127.0.0.1:40001');
  assert.equal(doc.x, '40001');
  assert.equal(doc.data_dir, '/tmp/x/state');
  assert.equal(doc.admin, '127.0.0.1:40002');
});

test('startGateway reports the gateway output when it does not come up', { skip: !existsSync(GATEWAY_BIN) && 'no bin/scopegate.js yet' }, async () => {
  await assert.rejects(
    startGateway({ configYaml: 'listen: "127.0.0.1:{{PORT}}"\nupstreams: {}\nno_such_key: 1\n', startTimeoutMs: 15_000 }),
    (e: Error) => /gateway (exited|did not accept)/.test(e.message) && /--- gateway output ---\n\S/.test(e.message),
  );
});

test('the bin runs as users run it, through its #! line, whose node options shebangNodeFlags reads', () => {
  // A 2 MB young generation: about 30 MB less resident memory for a busy gateway; gc exposed so that
  // young read buffers can be scavenged before V8 counts them as old (PERFORMANCE.md).
  assert.deepEqual(shebangNodeFlags(), ['--max-semi-space-size=2', '--expose-gc']);
  const out = execFileSync(GATEWAY_BIN, ['token', 'new', 'probe'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  assert.match(out, /token \(give this to probe/);
});
