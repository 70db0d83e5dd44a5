import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fingerprintSql, normalizeSql } from './fingerprint.ts';

describe('statement fingerprints', () => {
  it('ignore literal values, whitespace, comments and keyword case', () => {
    const a = fingerprintSql("SELECT * FROM orders WHERE id = 1 AND note = 'x'");
    assert.equal(fingerprintSql("select *\n  from ORDERS -- hi\n where id = 42 and note = 'it''s' /* c */;"), a);
    assert.equal(fingerprintSql('SELECT * FROM orders WHERE id = $1 AND note = $2'), a, 'parameters and literals agree');
    assert.match(a, /^[0-9a-f]{16}$/);
  });

  it('tell different statements apart, and keep quoted identifiers as written', () => {
    assert.notEqual(fingerprintSql('SELECT a FROM t'), fingerprintSql('SELECT b FROM t'));
    assert.notEqual(fingerprintSql('SELECT 1 FROM "T"'), fingerprintSql('SELECT 1 FROM t'));
    assert.equal(fingerprintSql('SELECT 1 FROM T'), fingerprintSql('SELECT 1 FROM t'));
  });

  it('normalise every literal form to ?', () => {
    assert.equal(
      normalizeSql("SELECT E'a\\'b', B'101', X'ff', U&'d\\0061t', $$dollar$$, $q$x$q$, 1.5e3, .5, 0x1F, -7"),
      'select ? , ? , ? , ? , ? , ? , ? , ? , ? , - ?',
    );
  });

  it('collapse IN lists and multi-row VALUES of any length', () => {
    assert.equal(fingerprintSql('SELECT * FROM t WHERE id IN (1, 2, 3)'), fingerprintSql('SELECT * FROM t WHERE id IN (4)'));
    assert.equal(fingerprintSql('INSERT INTO t VALUES (1), (2), (3)'), fingerprintSql('INSERT INTO t VALUES (9)'));
  });
});
