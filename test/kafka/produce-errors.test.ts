/**
 * A broker answering a produce request with an error (the test broker's `fail` command, a real
 * Kafka-protocol answer): MESSAGE_TOO_LARGE is what Kafka answers when a partition's batch in the request is
 * over message.max.bytes (1 MiB by default; the output batches up to 2 MiB). The batch goes again in halves
 * instead of being lost.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { memoryLogger } from '../../src/core/log.js';
import { makeMeta } from '../../src/core/message.js';
import { createKafkajsProducer, type KafkaConnection, type KafkaProducer } from '../../src/kafka/client.js';
import { createRdkafkaProducer, rdkafkaAddon } from '../../src/kafka/rdkafka-producer.js';
import { kafkaOutput } from '../../src/outputs/kafka.js';
import { type KafkaBroker, startKafkaBroker } from '../support/kafka-broker.js';
import { kcatConsume } from '../support/kafka-kcat.js';
import { PRODUCER_CLIENTS } from './kafka-cli.js';

let broker: KafkaBroker;
before(async () => {
  broker = await startKafkaBroker({ topics: { one: 1 } });
});
after(() => broker.close());

const PRODUCE = 0;
const MESSAGE_TOO_LARGE = 10;

const message = (i: number) => ({
  meta: makeMeta({ type: '1', id: `id${i}`, timestampNs: 1n, latencyNs: 0n }),
  data: Buffer.from(`GET /${i} HTTP/1.1\r\n\r\n`),
});

function producerOf(client: 'librdkafka' | 'kafkajs', c: KafkaConnection): KafkaProducer {
  const options = { compression: 'none', acks: 1 } as const;
  return client === 'kafkajs' ? createKafkajsProducer(c, options) : createRdkafkaProducer(rdkafkaAddon()!, c, options);
}

for (const { client, skip } of PRODUCER_CLIENTS) {
  test(`${client}: a batch refused as too large (MESSAGE_TOO_LARGE) is sent again in halves: every message delivered`, {
    skip,
  }, async () => {
    const log = memoryLogger();
    const brokers = broker.bootstrap.split(',');
    const c: KafkaConnection = { brokers, clientId: 't', retries: 2, log, name: 'output-kafka(one)' };
    const out = kafkaOutput(
      producerOf(client, c),
      { topic: 'one', brokers, format: 'raw', keyById: true, batchSize: 100, lingerMs: 1000, maxInFlight: 4 },
      { log, signal: new AbortController().signal },
    );
    // The first produce request is refused (connect first: librdkafka's would otherwise be a Metadata one).
    await out.write(message(0));
    await out.drain!();
    await broker.failNext(PRODUCE, MESSAGE_TOO_LARGE);
    for (let i = 1; i <= 8; i++) await out.write(message(i));
    await out.close();
    const stats = out.stats!();
    // Before: the 8 were lost ('8 message(s) not delivered: The request included a message larger than …').
    assert.equal(stats.failed, 0, log.lines.join('\n'));
    assert.equal(stats.acked, 9);
    assert.equal(stats.batches_split, 1);
  });
}

const NOT_LEADER_OR_FOLLOWER = 6;
const REQUEST_TIMED_OUT = 7;

for (const { client, skip } of PRODUCER_CLIENTS) {
  test(`${client}: produce answered NOT_LEADER_OR_FOLLOWER then REQUEST_TIMED_OUT: retried, every message once, no warning saying it failed`, {
    skip,
  }, async () => {
    const log = memoryLogger();
    const brokers = broker.bootstrap.split(',');
    const c: KafkaConnection = { brokers, clientId: 't', retries: 3, log, name: 'output-kafka(retried)' };
    const topic = `retried-${client}`;
    await broker.createTopic(topic, 1);
    const out = kafkaOutput(
      producerOf(client, c),
      { topic, brokers, format: 'raw', keyById: true, batchSize: 100, lingerMs: 1000, maxInFlight: 4 },
      { log, signal: new AbortController().signal },
    );
    await out.write(message(0));
    await out.drain!();
    await broker.failNext(PRODUCE, NOT_LEADER_OR_FOLLOWER);
    await broker.failNext(PRODUCE, REQUEST_TIMED_OUT);
    for (let i = 1; i <= 8; i++) await out.write(message(i));
    await out.close();
    assert.equal(out.stats!().acked, 9, log.lines.join('\n'));
    assert.equal(out.stats!().failed, 0);
    // The mock refuses the request before appending (a real broker's REQUEST_TIMED_OUT with acks=-1 may have
    // appended it: the retry then writes it twice, Kafka's at-least-once without an idempotent producer).
    const values = (await kcatConsume(broker.bootstrap, topic)).map((r) => r.value.toString());
    assert.equal(values.length, 9);
    assert.equal(new Set(values).size, 9);
    // Before (kafkajs): 'kafka Producer: Failed to send messages: This server is not the leader …' for a batch
    // then delivered.
    assert.ok(!log.lines.some((l) => /Failed to send/.test(l)), log.lines.join('\n'));
  });
}
