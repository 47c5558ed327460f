import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeMeta } from '../core/message.js';
import { encodeValue } from './message-codec.js';
import { batchOf, RecordBatchBuilder, rawRecordSize, recordsOf } from './record-batch.js';

test('raw values are written as encodeValue writes them, keys after them, no key as -1; spans grow past their first size', () => {
  const b = new RecordBatchBuilder(0, 1);
  const messages = Array.from({ length: 5 }, (_, i) => ({
    meta: makeMeta({ type: '1', id: `${i}`.padStart(24, 'a'), timestampNs: 17n + BigInt(i), latencyNs: 0n }),
    data: Buffer.from(`GET /${i} HTTP/1.1\r\n\r\n\u00ff`, 'latin1'),
  }));
  let size = 0;
  for (const [i, m] of messages.entries()) {
    const key = i === 2 ? null : m.meta.id;
    size += rawRecordSize(m.meta, m.data, key);
    b.addRaw(m.meta, m.data, key);
  }
  assert.equal(b.count, 5);
  assert.equal(b.size, size);
  const records = recordsOf(b);
  for (const [i, m] of messages.entries()) {
    assert.deepEqual(records[i]!.value, encodeValue(m, 'raw'));
    assert.equal(records[i]!.key?.toString('latin1') ?? null, i === 2 ? null : m.meta.id);
  }
  assert.equal(b.spans[4 * 2 + 2], -1);
});

test('batchOf and recordsOf round-trip keys and values byte for byte (latin1 keys, empty values)', () => {
  const records = [
    { key: Buffer.from([0, 0xff, 0x80]), value: Buffer.from([1, 2, 3]) },
    { key: null, value: Buffer.alloc(0) },
    { key: Buffer.alloc(0), value: Buffer.from('x') },
  ];
  const batch = batchOf(records);
  assert.deepEqual(recordsOf(batch), records);
});

test('reserve: the buffer grows (doubling, or to the record) keeping what was written', () => {
  const b = new RecordBatchBuilder(4096);
  b.reserve(3);
  b.addValue(Buffer.from('abc'), 'k');
  assert.equal(b.bytes.length, 4096);
  b.reserve(5000);
  assert.equal(b.bytes.length, 8192);
  b.addValue(Buffer.alloc(5000, 7), null);
  b.reserve(1 << 20);
  assert.equal(b.bytes.length, b.size + (1 << 20));
  const [first, second] = recordsOf(b);
  assert.equal(first!.value.toString(), 'abc');
  assert.equal(first!.key!.toString(), 'k');
  assert.deepEqual(second!.value, Buffer.alloc(5000, 7));
});
