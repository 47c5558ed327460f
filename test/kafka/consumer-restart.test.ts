/**
 * The Kafka input survives errors kafkajs deems fatal: the broker (librdkafka's mock cluster, not Apache
 * Kafka) is told to answer the next SyncGroup or Fetch with INVALID_REQUEST, kafkajs stops, and tapline starts
 * a fresh client (counted in `restarts`, said in a warning) that reads on — from the committed offsets in a
 * group, from where it got to without one — and nothing is read twice or lost.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { memoryLogger } from '../../src/core/log.js';
import { kafkaInput } from '../../src/inputs/kafka.js';
import { createConsumer } from '../../src/kafka/client.js';
import { type KafkaBroker, startKafkaBroker } from '../support/kafka-broker.js';
import { expectedPaths, produceNumbered, readerConnection, readPaths } from './reader-helpers.js';

const SYNC_GROUP = 14;
const FETCH = 1;
const INVALID_REQUEST = 42;

let broker: KafkaBroker;
before(async () => {
  broker = await startKafkaBroker({ topics: { grouped: 2, alone: 2 } });
});
after(() => broker?.close());

const connection = (log: ReturnType<typeof memoryLogger>) => readerConnection(broker.bootstrap, log);
const produce = (topic: string, from: number, count: number) => produceNumbered(broker.bootstrap, topic, from, count);
const expected = expectedPaths;

test('in a group: a SyncGroup answered with INVALID_REQUEST restarts the client, which joins and reads everything', async () => {
  await produce('grouped', 0, 40);
  await broker.failNext(SYNC_GROUP, INVALID_REQUEST);
  const log = memoryLogger();
  const consumer = createConsumer(connection(log), { topic: 'grouped', group: 'g', start: 'earliest' });
  const input = kafkaInput(
    consumer,
    { topic: 'grouped', format: 'raw' },
    { log, signal: new AbortController().signal },
  );
  const seen: string[] = [];
  try {
    await readPaths(input.read()[Symbol.asyncIterator](), 40, seen);
    assert.deepEqual([...seen].sort(), expected(0, 40).sort(), log.lines.join('\n'));
    assert.equal(input.stats!().restarts, 1);
    assert.ok(
      log.lines.some((l) => l.includes('starting a fresh client (1/3)')),
      log.lines.join('\n'),
    );
  } finally {
    await input.close();
  }
});

test('without a group: a Fetch answered with INVALID_REQUEST mid-stream; the fresh client resumes where it got to', async () => {
  await produce('alone', 0, 30);
  const log = memoryLogger();
  const consumer = createConsumer(connection(log), { topic: 'alone', start: 'earliest' });
  const input = kafkaInput(consumer, { topic: 'alone', format: 'raw' }, { log, signal: new AbortController().signal });
  const seen: string[] = [];
  try {
    const it = input.read()[Symbol.asyncIterator]();
    await readPaths(it, 30, seen);
    assert.equal(seen.length, 30);
    await broker.failNext(FETCH, INVALID_REQUEST);
    await produce('alone', 30, 30);
    await readPaths(it, 60, seen);
    // Nothing twice: without the resume point the fresh client would start from the oldest offset again.
    assert.deepEqual([...seen].sort(), expected(0, 60).sort(), log.lines.join('\n'));
    assert.equal(input.stats!().restarts, 1, log.lines.join('\n'));
  } finally {
    await input.close();
  }
});
