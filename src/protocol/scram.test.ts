import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ScramClient, md5PasswordHash, saltedPasswords, saslprep } from './scram.ts';
import { ProtocolError } from './types.ts';

// RFC 7677 §3 test vector.
const RFC = {
  clientNonce: 'rOprNGfwEbeRWgbNEkqO',
  clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};

test('SCRAM-SHA-256 reproduces the RFC 7677 test vector', async () => {
  const c = new ScramClient('pencil', RFC.clientNonce, 'user');
  assert.equal(c.clientFirstMessage(), RFC.clientFirst);
  assert.equal(await c.handleServerFirst(RFC.serverFirst), RFC.clientFinal);
  assert.doesNotThrow(() => c.verifyServerFinal(RFC.serverFinal));
});

test('as Postgres expects: gs2 header "n,," and an empty user name; a random nonce by default', () => {
  const a = new ScramClient('pw');
  const b = new ScramClient('pw');
  assert.match(a.clientFirstMessage(), /^n,,n=,r=[A-Za-z0-9+/=]{24}$/);
  assert.notEqual(a.nonce, b.nonce);
});

test('a wrong server signature, a server error or a foreign nonce is refused', async () => {
  const wrongPassword = new ScramClient('pencil2', RFC.clientNonce, 'user');
  await wrongPassword.handleServerFirst(RFC.serverFirst);
  assert.throws(() => wrongPassword.verifyServerFinal(RFC.serverFinal), /server signature mismatch/);

  const c = new ScramClient('pencil', RFC.clientNonce, 'user');
  await c.handleServerFirst(RFC.serverFirst);
  assert.throws(() => c.verifyServerFinal('e=invalid-proof'), /invalid-proof/);
  assert.throws(() => c.verifyServerFinal('v=AAAA'), ProtocolError);

  const fresh = (): ScramClient => new ScramClient('pencil', RFC.clientNonce);
  await assert.rejects(fresh().handleServerFirst('r=someoneElse123,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'), /nonce/);
  await assert.rejects(fresh().handleServerFirst(`r=${RFC.clientNonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`), /nonce/);
  await assert.rejects(fresh().handleServerFirst(`r=${RFC.clientNonce}x,s=W22Z,i=0`), /iteration count/);
  await assert.rejects(fresh().handleServerFirst(`r=${RFC.clientNonce}x,s=W22Z`), /lacks r, s or i/);
  await assert.rejects(fresh().handleServerFirst(`m=ext,r=${RFC.clientNonce}x,s=W22Z,i=1`), /mandatory extension/);
  await assert.rejects(fresh().handleServerFirst('garbage'), /malformed attribute/);
  assert.throws(() => fresh().verifyServerFinal(RFC.serverFinal), /before server-first/);
});

test('a client nonce containing a comma is refused', () => {
  assert.throws(() => new ScramClient('pw', 'a,b'), TypeError);
});

test('saslprep approximation: ASCII unchanged, non-ASCII spaces mapped, soft hyphen removed, NFKC applied', () => {
  assert.equal(saslprep('pencil'), 'pencil');
  assert.equal(saslprep('I\u00ADX'), 'IX');
  assert.equal(saslprep('a\u00A0b'), 'a b');
  assert.equal(saslprep('\u2168'), 'IX');
  assert.equal(saslprep('\u00AA'), 'a');
});

test('md5PasswordHash is "md5" + md5(md5(password + user) + salt)', () => {
  assert.equal(md5PasswordHash('alice', 'secret', Buffer.from([1, 2, 3, 4])), 'md598a0412b9c31436fc53776e863350083');
});

test('a SaltedPassword is derived once per password, salt and iteration count, and a wrong password never reuses another one', async () => {
  const salt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
  const first = await saltedPasswords.get('pencil', salt, 4096);
  assert.equal(await saltedPasswords.get('pencil', salt, 4096), first, 'the second login reuses the derived key');
  assert.notDeepEqual(await saltedPasswords.get('pencil2', salt, 4096), first);
  assert.notDeepEqual(await saltedPasswords.get('pencil', salt, 4095), first);
  assert.notDeepEqual(await saltedPasswords.get('pencil', Buffer.from('other salt'), 4096), first);
  // A verifier's key, remembered when a session role is created, serves its login.
  const remembered = Buffer.alloc(32, 7);
  saltedPasswords.remember('role-password', salt, 4096, remembered);
  assert.equal(await saltedPasswords.get('role-password', salt, 4096), remembered);
  // Still the RFC result when the key comes from the cache.
  const again = new ScramClient('pencil', RFC.clientNonce, 'user');
  assert.equal(await again.handleServerFirst(RFC.serverFirst), RFC.clientFinal);
  assert.doesNotThrow(() => again.verifyServerFinal(RFC.serverFinal));
});
