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

test('fits: a batch takes 2 MiB and some more; a larger first record gets a buffer of its size', () => {
  const b = new RecordBatchBuilder();
  assert.ok(b.fits(2 << 20));
  assert.ok(!b.fits(4 << 20));
  const big = new RecordBatchBuilder((5 << 20) + 1);
  assert.ok(big.fits((5 << 20) + 1));
  big.addValue(Buffer.alloc(5 << 20, 1), 'k');
  assert.equal(big.size, (5 << 20) + 1);
});
