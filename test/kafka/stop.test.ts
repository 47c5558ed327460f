/**
 * Stopping a Kafka reader against a real Kafka-protocol broker (librdkafka's mock cluster,
 * test/support/kafka-broker.ts): a stop is not a failure and says none, and what a paced reader had fetched but
 * not passed on is neither committed nor counted as read, so the group's next reader replays it. Also here (it
 * needs the broker): the client's warnings carry their reason.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { memoryLogger } from '../../src/core/log.js';
import { createProducer } from '../../src/kafka/client.js';
import { batchOf } from '../../src/kafka/record-batch.js';
import { collect, startTapline, waitForStderr } from '../support/cli.js';
import { type KafkaBroker, startKafkaBroker } from '../support/kafka-broker.js';
import { runUntilRecords, splitGor } from './kafka-cli.js';

let broker: KafkaBroker;
before(async () => {
  broker = await startKafkaBroker({ topics: { joining: 2, paced: 1 } });
});
after(() => broker.close());

test('SIGINT while the reader joins its group ends quietly: no crash warnings after the summary', async () => {
  // The mock coordinator holds a new group's first join for 3 s, so a SIGINT 2 s after the run starts lands
  // mid-join. kafkajs then reported the connections it was using being torn down as a crash.
  const child = startTapline([
    '--input-kafka-host',
    broker.bootstrap,
    '--input-kafka-topic',
    'joining',
    '--output-null',
    '--exit-after',
    '60s',
    '--verbose',
    '1',
  ]);
  const result = collect(child, 20_000);
  await waitForStderr(child, /running for/);
  await new Promise((r) => setTimeout(r, 2000));
  child.kill('SIGINT');
  const r = await result;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /stopped after/);
  assert.doesNotMatch(r.stderr, /joined group/, 'the stop came before the join ended (else the test proves nothing)');
  assert.doesNotMatch(r.stderr, /warning: input-kafka/, "the client's teardown is a debug line at most");
});

test('SIGINT in a paced group read: the messages fetched but not yet replayed are not committed; the next reader replays them', async () => {
  // Ten requests one second apart in their timestamps: at 200% one goes every 0.5 s, so the reader holds the
  // rest of its fetched batch when the SIGINT comes. Before, the whole batch was committed once it entered
  // the input's buffer, and the group's next reader started after it: those messages were lost, uncounted.
  const producer = createProducer(
    { brokers: broker.bootstrap.split(','), clientId: 't', retries: 2, log: memoryLogger(), name: 'test' },
    { compression: 'none', acks: 1 },
  );
  await producer.connect();
  const records = Array.from({ length: 10 }, (_, i) => ({
    key: null,
    value: Buffer.from(
      `1 ${String(i).padStart(24, '0')} ${1_700_000_000_000_000_000n + BigInt(i) * 1_000_000_000n} 0\nGET /${i} HTTP/1.1\r\n\r\n`,
    ),
  }));
  await producer.send('paced', batchOf(records));
  await producer.close();
  const reader = (speed: string) => [
    '--input-kafka-host',
    broker.bootstrap,
    '--input-kafka-topic',
    'paced',
    '--input-kafka-group',
    'replayers',
    '--input-kafka-offset',
    `-2|${speed}`,
    '--output-stdout',
  ];
  const paths = (stdout: Buffer) => splitGor(stdout).map((r) => r.toString().split('\n')[1]!.split(' ')[1]);
  const first = await runUntilRecords(reader('200%'), 3);
  assert.equal(first.code, 0, first.stderr);
  const replayed = paths(first.stdout);
  assert.ok(replayed.length >= 3 && replayed.length < 10, first.stderr);
  const left = 10 - replayed.length;
  assert.match(first.stderr, new RegExp(`messages ${replayed.length},.* left at stop ${left}`));
  // The next reader of the group starts at the first message not replayed: nothing lost, nothing twice.
  const second = await runUntilRecords(reader('100000%'), left, 15_000);
  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual(
    [...replayed, ...paths(second.stdout)],
    Array.from({ length: 10 }, (_, i) => `/${i}`),
  );
});

test("an offset past the end: the warning says which partition and why (it said only 'Response Fetch(key: 1, version: 11)')", async () => {
  const r = await runUntilRecords(
    [
      '--input-kafka-host',
      broker.bootstrap,
      '--input-kafka-topic',
      'paced',
      '--input-kafka-offset',
      '999999|100000%',
      '--output-stdout',
      '--exit-after',
      '6s',
    ],
    1,
    15_000,
  );
  assert.equal(r.code, 0, r.stderr);
  // c423494: one line per partition, in tapline's words (kafkajs's two lines named neither partition nor offset).
  assert.match(
    r.stderr,
    /warning: input-kafka\(paced\): partition 0: the offset to read from is not in the partition \(past its end/,
  );
  assert.doesNotMatch(r.stderr, /Response Fetch\(key: 1/);
});
