/**
 * A consumer group across a broker outage (librdkafka's mock cluster, not Apache Kafka). The pipeline is full
 * when the brokers go away, so the batch waiting for room is handed on while they are gone: its commit is lost
 * with the client kafkajs restarts, and the fresh client fetches it again from the group's committed offset.
 * The reader knows it handled those records and does not hand them on twice (at-least-once means a record may
 * go twice when another process had it; one process need not replay its own).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sleep } from '../../src/core/async.js';
import { memoryLogger } from '../../src/core/log.js';
import { kafkaInput } from '../../src/inputs/kafka.js';
import { createConsumer } from '../../src/kafka/client.js';
import { type KafkaBroker, startKafkaBroker } from '../support/kafka-broker.js';
import { expectedPaths, produceNumbered, readerConnection, readPaths } from './reader-helpers.js';

let broker: KafkaBroker;
before(async () => {
  broker = await startKafkaBroker({ topics: { away: 2 } });
});
after(() => broker?.close());

/** Polls `check` every 50 ms for up to 30 s. */
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 600 && !check(); i++) await sleep(50);
  assert.ok(check(), `timed out waiting for ${what}`);
}

test('in a group: a batch handed on while the brokers are gone is not handed on again by the fresh client, and its place is committed', async () => {
  const log = memoryLogger();
  const open = (capacity: number) => {
    const consumer = createConsumer(readerConnection(broker.bootstrap, log), {
      topic: 'away',
      group: 'outage',
      start: 'earliest',
    });
    const ctx = { log, signal: new AbortController().signal };
    return kafkaInput(consumer, { topic: 'away', format: 'raw', capacity }, ctx);
  };
  await produceNumbered(broker.bootstrap, 'away', 0, 40);
  const input = open(10);
  const seen: string[] = [];
  try {
    const it = input.read()[Symbol.asyncIterator]();
    await readPaths(it, 40, seen);
    // Not read yet: the channel (10) fills, and the client waits with each partition's batch in hand.
    await produceNumbered(broker.bootstrap, 'away', 40, 40);
    await until(() => Number(input.stats!().messages) === 80, 'the second 40 messages fetched');
    await broker.down();
    await readPaths(it, 80, seen); // handed on now: resolved, but the commit cannot reach the gone brokers
    await until(() => Number(input.stats!().restarts) >= 1, 'a client restart');
    await broker.up();
    await produceNumbered(broker.bootstrap, 'away', 80, 40);
    await readPaths(it, 120, seen);
    // Before: '/40' … '/79' a second time (the fresh client read from the last commit), '/80' … not all there.
    assert.deepEqual([...seen].sort(), expectedPaths(0, 120).sort(), log.lines.join('\n'));
    assert.ok(Number(input.stats!().skipped_rereads) > 0, JSON.stringify(input.stats!()));
    assert.ok(
      log.lines.some((l) => /partition \d: offsets \d+-\d+ were fetched again .* not replayed twice/.test(l)),
      log.lines.join('\n'),
    );
  } finally {
    await input.close();
  }
  // The skipped records' offsets were committed: the group's next reader starts after everything read.
  await produceNumbered(broker.bootstrap, 'away', 120, 6);
  const next = open(4096);
  const more: string[] = [];
  try {
    await readPaths(next.read()[Symbol.asyncIterator](), 6, more);
    assert.deepEqual(more.sort(), expectedPaths(120, 6).sort(), log.lines.join('\n'));
  } finally {
    await next.close();
  }
});
