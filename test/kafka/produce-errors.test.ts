/**
 * A broker answering a produce request with an error (the test broker's `fail` command, a real
 * Kafka-protocol answer): MESSAGE_TOO_LARGE is what Kafka answers when a partition's batch in the request is
 * over message.max.bytes (1 MiB by default; the output batches up to 2 MiB). The batch goes again in halves
 * instead of being lost. A produce request answered too late (the `delay` command: written, then answered after
 * the client gave up on it) is sent again: with acks=-1 the producer is idempotent, and the copy carries the
 * same producer id and sequence, which a broker drops.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
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

/**
 * An output to `topic` that has delivered one message already (so the producer is connected and the next request
 * the broker sees from it is a Produce, not librdkafka's first Metadata).
 */
async function connectedOutput(make: (c: KafkaConnection) => KafkaProducer, topic: string, retries: number) {
  const log = memoryLogger();
  const brokers = broker.bootstrap.split(',');
  const c: KafkaConnection = { brokers, clientId: 't', retries, log, name: `output-kafka(${topic})` };
  const out = kafkaOutput(
    make(c),
    { topic, brokers, format: 'raw', keyById: true, batchSize: 100, lingerMs: 1000, maxInFlight: 4 },
    { log, signal: new AbortController().signal },
  );
  await out.write(message(0));
  await out.drain!();
  return { out, log };
}

for (const { client, skip } of PRODUCER_CLIENTS) {
  test(`${client}: a batch refused as too large (MESSAGE_TOO_LARGE) is sent again in halves: every message delivered`, {
    skip,
  }, async () => {
    // The first produce request after connecting is refused.
    const { out, log } = await connectedOutput((c) => producerOf(client, c), 'one', 2);
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

for (const { client, skip } of PRODUCER_CLIENTS) {
  test(`${client}: a single message refused as too large is lost, counted, and the warning names its size and the broker's limit`, {
    skip,
  }, async () => {
    const { out, log } = await connectedOutput((c) => producerOf(client, c), 'one', 2);
    await broker.failNext(PRODUCE, MESSAGE_TOO_LARGE);
    const big = message(1);
    await out.write(big);
    await out.close();
    assert.equal(out.stats!().failed, 1, log.lines.join('\n'));
    assert.equal(out.stats!().acked, 1);
    // The record: the key (the id) and the value (meta line, LF, payload).
    const size = big.meta.id.length + big.meta.line.length + 1 + big.data.length;
    // Before: '1 message(s) not delivered: Broker: Message size too large' (librdkafka) or '… The request included
    // a message larger than the max message size the server will accept' (kafkajs): no size, no setting.
    const line = log.lines.find((l) => l.includes('1 message(s) not delivered'));
    assert.ok(line?.includes(`the largest message of their batch is ${size} bytes`), log.lines.join('\n'));
    assert.match(
      line!,
      /message\.max\.bytes \(the topic's max\.message\.bytes\), 1 MiB by default.*--copy-buffer-size/,
    );
  });
}

const NOT_LEADER_OR_FOLLOWER = 6;
const REQUEST_TIMED_OUT = 7;

for (const { client, skip } of PRODUCER_CLIENTS) {
  test(`${client}: produce answered NOT_LEADER_OR_FOLLOWER then REQUEST_TIMED_OUT: retried, every message once, no warning saying it failed`, {
    skip,
  }, async () => {
    const topic = `retried-${client}`;
    await broker.createTopic(topic, 1);
    const { out, log } = await connectedOutput((c) => producerOf(client, c), topic, 3);
    await broker.failNext(PRODUCE, NOT_LEADER_OR_FOLLOWER);
    await broker.failNext(PRODUCE, REQUEST_TIMED_OUT);
    for (let i = 1; i <= 8; i++) await out.write(message(i));
    await out.close();
    assert.equal(out.stats!().acked, 9, log.lines.join('\n'));
    assert.equal(out.stats!().failed, 0);
    // The mock refuses the request before appending (a broker that wrote it and answered late: the tests below).
    const values = (await kcatConsume(broker.bootstrap, topic)).map((r) => r.value.toString());
    assert.equal(values.length, 9);
    assert.equal(new Set(values).size, 9);
    // Before (kafkajs): 'kafka Producer: Failed to send messages: This server is not the leader …' for a batch
    // then delivered.
    assert.ok(!log.lines.some((l) => /Failed to send/.test(l)), log.lines.join('\n'));
  });
}

/** Each record's value with the producer id and first sequence of the record batch it came in (kafkajs reads them). */
async function batchIdentities(topic: string, count: number): Promise<{ value: string; batch: string }[]> {
  const kafka = new Kafka({ brokers: broker.bootstrap.split(','), clientId: 'check', logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `check-${topic}` });
  const out: { value: string; batch: string }[] = [];
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${out.length} of ${count} records read`)), 30_000);
      void consumer.run({
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) {
            const b = (m as typeof m & { batchContext: { producerId: string; firstSequence: number } }).batchContext;
            out.push({ value: String(m.value), batch: `${b.producerId}/${b.firstSequence}` });
          }
          if (out.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}

for (const acks of [-1, 1] as const) {
  test(`librdkafka, acks ${acks}: a produce request answered after the client timed out is sent again; ${acks === -1 ? 'idempotent: the copy is the same numbered batch, which a broker drops' : 'not idempotent: written twice, and the timeout warning says so'}`, {
    skip: PRODUCER_CLIENTS[0]!.skip,
  }, async () => {
    const topic = `late-${acks === -1 ? 'all' : 'leader'}`;
    await broker.createTopic(topic, 1);
    // A request unanswered after 1 s is given up and sent again (socket.timeout.ms bounds a produce request).
    const tuning = { extraConfig: [['socket.timeout.ms', '1000']] as [string, string][] };
    const { out, log } = await connectedOutput(
      (c) => createRdkafkaProducer(rdkafkaAddon()!, c, { compression: 'none', acks }, tuning),
      topic,
      3,
    );
    await broker.delayNext(PRODUCE, 3000);
    for (let i = 1; i <= 8; i++) await out.write(message(i));
    await out.close();
    assert.equal(out.stats!().acked, 9, log.lines.join('\n'));
    // librdkafka's mock (2.0.2) does not check sequence numbers: it appends the copy, where Kafka drops it.
    const records = await batchIdentities(topic, 17);
    const batches = new Map<string, Set<string>>();
    for (const r of records) batches.set(r.value, (batches.get(r.value) ?? new Set()).add(r.batch));
    const twice = [...batches].filter(([value]) => records.filter((r) => r.value === value).length === 2);
    assert.equal(twice.length, 8, JSON.stringify(records));
    const warned = log.lines.some((l) => /timed out.*may be written twice \(--output-kafka-acks -1/.test(l));
    if (acks === -1) {
      // Before: producer id -1 (no idempotence): nothing tells a broker the copy is one.
      for (const [value, ids] of twice) {
        assert.equal(ids.size, 1, `${value}: ${[...ids].join(', ')}`);
        assert.ok(!/^-1\//.test([...ids][0]!), `${value}: ${[...ids][0]}`);
      }
      assert.ok(!warned, log.lines.join('\n'));
    } else {
      for (const [, ids] of twice) assert.match([...ids][0]!, /^-1\//);
      assert.ok(warned, log.lines.join('\n'));
    }
  });
}
