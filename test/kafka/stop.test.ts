/**
 * Stopping a Kafka reader against a real Kafka-protocol broker (librdkafka's mock cluster,
 * test/support/kafka-broker.ts): a stop is not a failure and says none.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { collect, startTapline, waitForStderr } from '../support/cli.js';
import { type KafkaBroker, startKafkaBroker } from '../support/kafka-broker.js';

let broker: KafkaBroker;
before(async () => {
  broker = await startKafkaBroker({ topics: { joining: 2 } });
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
