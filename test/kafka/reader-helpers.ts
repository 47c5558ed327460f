/**
 * Helpers for the tests of the Kafka input at the plugin level (consumer-restart, fetch-outage): a connection
 * to the test broker, a producer of numbered requests, and reading request paths until a count is reached.
 */
import { memoryLogger } from '../../src/core/log.js';
import type { Batch } from '../../src/core/plugin.js';
import { createProducer, type KafkaConnection } from '../../src/kafka/client.js';
import { batchOf } from '../../src/kafka/record-batch.js';

export const readerConnection = (bootstrap: string, log: ReturnType<typeof memoryLogger>): KafkaConnection => ({
  brokers: bootstrap.split(','),
  clientId: 'tapline-test',
  retries: 3,
  log,
  name: 'input-kafka(test)',
});

/** Produces requests `GET /from` … `GET /(from+count-1)` to `topic`. */
export async function produceNumbered(bootstrap: string, topic: string, from: number, count: number): Promise<void> {
  const producer = createProducer(readerConnection(bootstrap, memoryLogger()), { compression: 'none', acks: 1 });
  await producer.connect();
  const records = Array.from({ length: count }, (_, i) => ({
    key: null,
    value: Buffer.from(
      `1 ${(from + i).toString(16).padStart(24, '0')} 1700000000000000000 0\nGET /${from + i} HTTP/1.1\r\n\r\n`,
    ),
  }));
  await producer.send(topic, batchOf(records));
  await producer.close();
}

/** Reads until `count` messages (or 30 s: a rejoin may wait for the crashed member's 10 s session to end), returning the request paths in arrival order. */
export async function readPaths(iterator: AsyncIterator<Batch>, count: number, seen: string[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (seen.length < count && Date.now() < deadline) {
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), deadline - Date.now()).unref());
    const next = await Promise.race([iterator.next(), timeout]);
    if (next === 'timeout' || next.done) break;
    for (const m of next.value) seen.push(m.data.toString().split(' ')[1]!);
  }
}

export const expectedPaths = (from: number, count: number) => Array.from({ length: count }, (_, i) => `/${from + i}`);
