import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenDirectory, newToken, sha256Hex } from './tokens.ts';

test('a token authenticates as the identity whose sha256 the config holds', () => {
  const token = newToken();
  const dir = new TokenDirectory([{ name: 'reporter', sha256: sha256Hex(token), groups: ['reporting'] }]);
  assert.deepEqual(dir.authenticate(token), { name: 'reporter', groups: ['reporting'], method: 'token' });
});

test('an unknown or altered token authenticates as nobody', () => {
  const token = newToken();
  const dir = new TokenDirectory([{ name: 'reporter', sha256: sha256Hex(token), groups: [] }]);
  assert.equal(dir.authenticate(token + 'x'), null);
  assert.equal(dir.authenticate(''), null);
});

test('new tokens are long and distinct', () => {
  const a = newToken();
  assert.ok(a.length > 40);
  assert.notEqual(a, newToken());
});
