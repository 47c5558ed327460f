/**
 * Which partition a record goes to, for kafkajs's `createPartitioner` hook. Same placement as the Java
 * client's default partitioner and kafkajs's (murmur2 of the key, positive, modulo the partition count), so a
 * key lands where other clients put it; without a key, round robin over the partitions that have a leader.
 *
 * Why our own: kafkajs's murmur2 runs on emulated 64-bit Long objects (several allocations per 4 key bytes)
 * and its partitioner filters the partition list once per message; this one hashes with 32-bit integer
 * multiplication (Math.imul, exactly Java's int arithmetic) and computes the partitions with a leader once
 * per metadata list.
 */
import type { PartitionMetadata } from 'kafkajs';

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2): a signed 32-bit hash of the bytes. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  // The last 1–3 bytes (Java falls through a switch here).
  const tail = length & 3;
  if (tail === 3) h ^= data[whole + 2]! << 16;
  if (tail >= 2) h ^= data[whole + 1]! << 8;
  if (tail >= 1) h = Math.imul(h ^ data[whole]!, M);
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition of `key` among `partitions` (Java's `toPositive(murmur2(key)) % partitions`). */
export function partitionOfKey(key: Uint8Array, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}

interface PartitionerArgs {
  partitionMetadata: PartitionMetadata[];
  message: { key?: Buffer | string | null; partition?: number };
}

/** kafkajs `createPartitioner`: one partitioner (with its round-robin counter) per producer. */
export function createTaplinePartitioner(): (args: PartitionerArgs) => number {
  let counter = Math.floor(Math.random() * 0x7fffffff);
  let seen: PartitionMetadata[] | undefined;
  let withLeader: number[] = [];
  return ({ partitionMetadata, message }) => {
    if (message.partition !== undefined && message.partition !== null) return message.partition;
    const count = partitionMetadata.length;
    const key = message.key;
    if (key !== undefined && key !== null) {
      return partitionOfKey(typeof key === 'string' ? Buffer.from(key) : key, count);
    }
    if (partitionMetadata !== seen) {
      seen = partitionMetadata;
      withLeader = partitionMetadata.filter((p) => p.leader >= 0).map((p) => p.partitionId);
    }
    counter = (counter + 1) & 0x7fffffff;
    return withLeader.length > 0 ? withLeader[counter % withLeader.length]! : counter % count;
  };
}
