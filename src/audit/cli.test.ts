// The audit commands end to end: `node bin/scopegate.js audit|sessions|replay` against a generated audit.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SESSION_A, SESSION_B, tempDir, writeFixture } from './test-support.ts';

const bin = fileURLToPath(new URL('../../bin/scopegate.js', import.meta.url));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c));
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const dir = tempDir();
const path = join(dir, 'audit.jsonl');
const ready = writeFixture(path, { rotateBytes: 1 << 20 });
const config = join(dir, 'scopegate.yaml');
writeFileSync(config, 'upstreams:\n  corpus: { url: "postgres://gateway@127.0.0.1:5432/corpus" }\naudit: { file: ./audit.jsonl }\n');

describe('scopegate audit / sessions / replay', () => {
  it('audit verify passes on an intact audit, by --file or by --config', async () => {
    await ready;
    for (const args of [['--file', path], ['--config', config], ['--file', dir]]) {
      const r = await run(['audit', 'verify', ...args]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^audit chain ok: 12 events in 1 file \(seq 1–12, last hash [0-9a-f]{64}\)/);
    }
  });

  it('audit verify exits 1 and names the line when the audit was tampered with; a truncated last line only warns', async () => {
    await ready;
    const tampered = join(tempDir(), 'audit.jsonl');
    const lines = readFileSync(path, 'utf8').split('\n');
    writeFileSync(tampered, [...lines.slice(0, 2), ...lines.slice(3)].join('\n'));
    let r = await run(['audit', 'verify', '--file', tampered]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /audit chain BROKEN at .*audit\.jsonl:3: deleted — seq 3 missing before seq 4/);

    writeFileSync(tampered, lines.join('\n').slice(0, -40));
    r = await run(['audit', 'verify', '--file', tampered]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /audit chain ok: 11 events/);
    assert.match(r.stderr, /audit\.jsonl:12: truncated/);
  });

  it('audit search filters and prints one line per event, or JSON', async () => {
    await ready;
    let r = await run(['audit', 'search', '--file', path, '--identity', 'reporter', '--verdict', 'deny']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim().split('\n').length, 1);
    assert.match(r.stdout, /statement +reporter@corpus \[aaaa1111\] +DENY +DELETE FROM public\.orders +— guardrail unfiltered-write/);
    r = await run(['audit', 'search', '--config', config, '--text', 'quality_flags', '--since', '2024-05-01T12:30:00Z', '--json']);
    const recs = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { sql: string; seq: number });
    assert.deepEqual(recs.map((x) => x.seq), [12]);
    r = await run(['audit', 'search', '--file', path, '--verdict', 'maybe']);
    assert.equal(r.code, 1);
  });

  it('sessions list shows one line per session', async () => {
    await ready;
    const r = await run(['sessions', 'list', '--file', path]);
    assert.equal(r.code, 0, r.stderr);
    const [header, a, b, ...rest] = r.stdout.trim().split('\n');
    assert.match(header, /^SESSION +IDENTITY +UPSTREAM +CLIENT +START +END +STATEMENTS +DENIALS$/);
    assert.match(a, new RegExp(`^${SESSION_A} +reporter +corpus +127\\.0\\.0\\.1:50000 +2024-05-01T12:00:00\\.000Z +2024-05-01T12:00:05\\.000Z +4 +1$`));
    assert.match(b, new RegExp(`^${SESSION_B} +writer +corpus +10\\.0\\.0\\.2:40000 +2024-05-01T13:00:00\\.000Z +\\(open\\) +1 +0$`));
    assert.deepEqual(rest, []);
    const filtered = await run(['sessions', 'list', '--file', path, '--identity', 'writer', '--json']);
    assert.equal(filtered.stdout.trim().split('\n').length, 1);
  });

  it('replay prints the session timeline: offsets, verdicts, durations, results and denial reasons', async () => {
    await ready;
    const r = await run(['replay', 'aaaa1111', '--file', path]);
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout.split('\n');
    assert.match(out[0], new RegExp(`^session ${SESSION_A}: reporter \\(groups: reporting\\) → corpus, from 127\\.0\\.0\\.1:50000, no tls, token$`));
    assert.match(out[1], /^started 2024-05-01T12:00:00\.000Z; ended 2024-05-01T12:00:05\.000Z: client terminated; 4 statements, 1 denied$/);
    assert.match(r.stdout, /\+0\.010s {2}ALLOW +3\.0ms {2}SELECT 10 +SELECT \* FROM public\.orders/);
    assert.match(r.stdout, /\+0\.500s {2}DENY +DELETE FROM public\.orders\n +reason: guardrail unfiltered-write: DELETE without a WHERE clause/);
    assert.match(r.stdout, /\+1\.000s {2}ALLOW +1\.0ms {2}SQLSTATE 22012 +SELECT 1\/0/);
    assert.match(r.stdout, /\+4\.000s {2}review_decided: review r-1 denied by alice: not today/);
    assert.match(r.stdout, /\+5\.000s {2}session_end: client terminated after 5\.0s, 2 statements/);

    const missing = await run(['replay', 'ffff', '--file', path]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no session ffff/);
  });
});
