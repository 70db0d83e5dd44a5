import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferWriter } from './writer.ts';
import { ProtocolError } from './types.ts';

test('build() with a type byte patches in type and length (length counts itself, not the type)', () => {
  const msg = new BufferWriter().int8(0x53).int16(-2).int32(7).uint32(0xffffffff).cstring('hé').bytes(Buffer.from([9])).build(0x58);
  assert.deepEqual(
    msg,
    Buffer.from('58' + '00000014' + '53' + 'fffe' + '00000007' + 'ffffffff' + '68c3a900' + '09', 'hex'),
  );
});

test('build() without a type byte makes a startup packet', () => {
  assert.deepEqual(new BufferWriter().int32(80877103).build(), Buffer.from('0000000804d2162f', 'hex'));
});

test('an empty message is just type and length 4', () => {
  assert.deepEqual(new BufferWriter().build(0x53), Buffer.from('5300000004', 'hex'));
});

test('the writer grows past its initial size and is reusable; built buffers are independent copies', () => {
  const w = new BufferWriter(64);
  const big = Buffer.alloc(5000, 7);
  const first = w.bytes(big).build(0x64);
  assert.equal(first.length, 5005);
  assert.equal(first.readInt32BE(1), 5004);
  const second = w.string('ab').build(0x64);
  assert.deepEqual(second, Buffer.from('6400000006' + '6162', 'hex'));
  assert.ok(first.subarray(5).equals(big), 'first message unchanged by the second');
});

test('reset() discards a half-written message and length reports the body size', () => {
  const w = new BufferWriter();
  w.cstring('abandoned');
  assert.equal(w.reset().int32(1).length, 4);
  assert.deepEqual(w.build(0x45), Buffer.from('450000000800000001', 'hex'));
});

test('a cstring containing NUL cannot be encoded', () => {
  assert.throws(() => new BufferWriter().cstring('a\0b'), ProtocolError);
});

test('a multi-byte string that needs more than the free space still fits', () => {
  const s = '€'.repeat(1000);
  const msg = new BufferWriter(64).cstring(s).build(0x51);
  assert.equal(msg.readInt32BE(1), 4 + 3000 + 1);
  assert.equal(msg.subarray(5, -1).toString('utf8'), s);
});
