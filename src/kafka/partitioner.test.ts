import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import type { PartitionMetadata } from 'kafkajs';
import { createTaplinePartitioner, murmur2, partitionOfKey } from './partitioner.js';

test("murmur2 gives the Java client's values (Apache Kafka's UtilsTest vectors)", () => {
  const cases: [string, number][] = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ];
  for (const [text, hash] of cases) assert.equal(murmur2(Buffer.from(text)), hash, text);
});

test("keys land where kafkajs's own partitioner puts them (every length 0–40, random bytes)", () => {
  // kafkajs's murmur2 (64-bit Long arithmetic) is an independent implementation of the same function.
  const kafkajsMurmur2 = createRequire(import.meta.url)('kafkajs/src/producer/partitioners/default/murmur2.js') as (
    key: Buffer,
  ) => number;
  for (let length = 0; length <= 40; length++) {
    for (let i = 0; i < 25; i++) {
      const key = randomBytes(length);
      assert.equal(murmur2(key), kafkajsMurmur2(key), key.toString('hex'));
      assert.equal(partitionOfKey(key, 32), (kafkajsMurmur2(key) & 0x7fffffff) % 32);
    }
  }
});

test('partitioner: explicit partition wins, keys hash, no key goes round robin over partitions with a leader', () => {
  const meta = (leaders: number[]) =>
    leaders.map((leader, partitionId) => ({ partitionId, leader }) as PartitionMetadata);
  const partitionOf = createTaplinePartitioner();
  const four = meta([1, 1, -1, 1]);
  assert.equal(partitionOf({ partitionMetadata: four, message: { partition: 2, key: 'x' } }), 2);
  const key = Buffer.from('0123456789abcdef01234567');
  assert.equal(partitionOf({ partitionMetadata: four, message: { key } }), partitionOfKey(key, 4));
  assert.equal(partitionOf({ partitionMetadata: four, message: { key: 'abc' } }), (479470107 & 0x7fffffff) % 4);
  const seen = new Set<number>();
  for (let i = 0; i < 9; i++) seen.add(partitionOf({ partitionMetadata: four, message: { key: null } }));
  assert.deepEqual([...seen].sort(), [0, 1, 3], 'partition 2 has no leader');
  const none = meta([-1, -1]);
  const p = partitionOf({ partitionMetadata: none, message: {} });
  assert.ok(p === 0 || p === 1);
});
