/**
 * A topic that does not exist, on a cluster that does not create topics on demand (a Kafka with
 * auto.create.topics.enable=false): the test broker answers UNKNOWN_TOPIC_OR_PARTITION for it
 * (test/support/kafka-broker.ts `missingTopic`). The reader ends at once and the writer once the first batch
 * fails, both with an error naming the topic and the brokers; every message not delivered is counted.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { TaplineError } from '../../src/core/errors.js';
import { memoryLogger } from '../../src/core/log.js';
import { makeMeta } from '../../src/core/message.js';
import { createKafkajsProducer, type KafkaConnection, type KafkaProducer } from '../../src/kafka/client.js';
import { createRdkafkaProducer, rdkafkaAddon } from '../../src/kafka/rdkafka-producer.js';
import { kafkaOutput } from '../../src/outputs/kafka.js';
import { runTapline } from '../support/cli.js';
import { type KafkaBroker, startKafkaBroker } from '../support/kafka-broker.js';
import { PRODUCER_CLIENTS, withKafkaClient } from './kafka-cli.js';

let broker: KafkaBroker;
before(async () => {
  broker = await startKafkaBroker({ topics: { present: 1 } });
  await broker.missingTopic('nosuch');
});
after(() => broker.close());

const NAMED = (bootstrap: string) =>
  new RegExp(`topic "nosuch" does not exist on the Kafka brokers ${bootstrap.replace(/\./g, '\\.')}`);

test('--input-kafka of a topic that does not exist: exit 1 at once, naming the topic and the brokers', async () => {
  const r = await runTapline(
    ['--input-kafka-host', broker.bootstrap, '--input-kafka-topic', 'nosuch', '--output-stdout', '--exit-after', '60s'],
    { timeoutMs: 30_000 },
  );
  assert.equal(r.code, 1, r.stderr);
  // Before: 'This server does not host this topic-partition (3)', kafkajs's words, naming neither.
  assert.match(r.stderr, NAMED(broker.bootstrap), r.stderr);
  assert.match(r.stderr, /does not create topics on demand/);
  assert.equal(r.stdout.length, 0);
});

const message = (i: number) => ({
  meta: makeMeta({ type: '1', id: `id${i}`, timestampNs: 1n, latencyNs: 0n }),
  data: Buffer.from(`GET /${i} HTTP/1.1\r\n\r\n`),
});

/** Producers that give a missing topic up in about a second (by default 30–45 s, the clients' retries). */
function quickProducer(client: 'librdkafka' | 'kafkajs', c: KafkaConnection): KafkaProducer {
  if (client === 'kafkajs') return createKafkajsProducer({ ...c, retries: 0 }, { compression: 'none', acks: 1 });
  // librdkafka waits topic.metadata.propagation.max.ms (30 s) for a topic to appear before failing its messages.
  return createRdkafkaProducer(
    rdkafkaAddon()!,
    c,
    { compression: 'none', acks: 1 },
    { extraConfig: [['topic.metadata.propagation.max.ms', '500']] },
  );
}

for (const { client, skip } of PRODUCER_CLIENTS) {
  test(`--output-kafka (${client}) to a topic that does not exist: the failed batch names it, later messages are refused, close() fails with it`, {
    skip,
  }, async () => {
    const log = memoryLogger();
    const brokers = broker.bootstrap.split(',');
    const connection: KafkaConnection = { brokers, clientId: 't', retries: 2, log, name: 'output-kafka(nosuch)' };
    const out = kafkaOutput(
      quickProducer(client, connection),
      { topic: 'nosuch', brokers, format: 'raw', keyById: true, batchSize: 3, lingerMs: 1, maxInFlight: 1 },
      { log, signal: new AbortController().signal },
    );
    // The third write fills the batch and waits for room (one batch in flight), which the failure makes.
    for (let i = 0; i < 3; i++) await out.write(message(i));
    const deadline = Date.now() + 20_000;
    while (Number(out.stats!().failed) < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(out.stats!().failed, 3, log.lines.join('\n'));
    assert.ok(
      log.lines.some((l) => /3 message\(s\) not delivered: topic "nosuch" does not exist on the Kafka brokers/.test(l)),
      log.lines.join('\n'),
    );
    // Before, every later message waited out the client's retries to fail the same way, for ever on a live
    // capture: now it is refused at once (the pipeline counts it as lost and stops the run if nothing is left).
    assert.throws(
      () => out.write(message(3)),
      (err: unknown) => err instanceof TaplineError && NAMED(broker.bootstrap).test(err.message),
    );
    await assert.rejects(out.close(), /does not create topics on demand/);
    assert.equal(out.stats!().messages, 3, 'the refused message is not counted as taken (the pipeline counts it lost)');
  });
}

test('--output-kafka CLI to a topic that does not exist: exit 1, the error names topic and brokers, every message counted', async () => {
  const r = await withKafkaClient('kafkajs', () =>
    runTapline(
      [
        '--input-dummy',
        'x',
        '--output-kafka-host',
        broker.bootstrap,
        '--output-kafka-topic',
        'nosuch',
        '--output-kafka-retries',
        '0',
        '--exit-after',
        '60s',
      ],
      { timeoutMs: 40_000 },
    ),
  );
  assert.equal(r.code, 1, r.stderr);
  // Before: the run went on for the whole --exit-after, each message failing after the retries.
  assert.match(r.stderr, /error: output-kafka\(nosuch\): topic "nosuch" does not exist on the Kafka brokers/, r.stderr);
  assert.match(r.stderr, /stopped after/);
  assert.match(r.stderr, /message\(s\) not delivered \(\d+ failed\)/);
});
