import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, ConfigError } from './load.ts';

test('a minimal config gets defaults', () => {
  const c = parseConfig('upstreams: { db: { url: "postgres://u@127.0.0.1:5432/db" } }');
  assert.equal(c.listen, '127.0.0.1:6432');
  assert.equal(c.upstreams.db.roles, 'fixed');
  assert.deepEqual(c.policies, []);
});

test('errors name the line and the key', () => {
  const text = `upstreams:
  db:
    url: postgres://u@h/db
policies:
  - name: p
    for: { groups: [g] }
    allow:
      - raed: [x.*]
    mask:
      public.t.c: scramble
`;
  assert.throws(() => parseConfig(text, 'scopegate.yaml'), (e: ConfigError) => {
    assert.ok(e.problems.some((p) => /^scopegate\.yaml:8: policies\.0\.allow\.0/.test(p)), e.message);
    assert.ok(e.problems.some((p) => /scopegate\.yaml:10: policies\.0\.mask\.public\.t\.c/.test(p)), e.message);
    return true;
  });
});

test('YAML syntax errors report a position', () => {
  assert.throws(() => parseConfig('upstreams: [unclosed', 'x.yaml'), /x\.yaml:1/);
});
