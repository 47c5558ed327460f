/**
 * The broker goes away while --output-kafka-host has batches awaiting their delivery reports, and the user
 * stops the run twice (the second SIGINT leaves at once, without them). The summary printed on the way out
 * must account for every message the output took: acked + failed + in flight + queued = messages.
 * The broker is librdkafka's mock cluster (test/support/kafka-broker.ts), not Apache Kafka.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { collect, startTapline, waitForStderr } from '../support/cli.js';
import { type KafkaBroker, startKafkaBroker } from '../support/kafka-broker.js';
import { exchange, PRODUCER_CLIENTS, withKafkaClient, writeGor } from './kafka-cli.js';

let broker: KafkaBroker;
let dir: string;
let gor: string;
before(async () => {
  broker = await startKafkaBroker({ topics: { outage: 3 } });
  dir = await mkdtemp(join(tmpdir(), 'tapline-kafka-outage-'));
  gor = join(dir, 'paced.gor');
  // 400 messages over 4 s of recorded time (exchange() spaces them 1 ms apart: spread them to 10 ms).
  const messages = Array.from({ length: 200 }, (_, i) => exchange(i * 10)).flat();
  await writeGor(gor, messages);
});
after(async () => {
  await broker.close();
  await rm(dir, { recursive: true, force: true });
});

/** The counters of the output's summary line (`acked 95, in flight 13, …`), by name. */
function counters(stderr: string, output: string): Map<string, number> {
  const line = stderr.split('\n').find((l) => l.trimStart().startsWith(`${output}:`));
  assert.ok(line, stderr);
  const found = new Map<string, number>();
  for (const m of line.matchAll(/(?:;|,) ([a-z ]+?) (\d+)(?=,|$)/g)) found.set(m[1]!, Number(m[2]));
  return found;
}

for (const { client, skip } of PRODUCER_CLIENTS) {
  test(
    `${client}: broker gone, SIGINT twice: the summary counts the messages left awaiting the broker`,
    {
      skip,
    },
    () =>
      withKafkaClient(client, async () => {
        await broker.up();
        const child = startTapline([
          '--input-file',
          gor,
          '--output-kafka-host',
          broker.bootstrap,
          '--output-kafka-topic',
          'outage',
        ]);
        const done = collect(child, 30_000);
        try {
          await new Promise((r) => setTimeout(r, 1500));
          await broker.down();
          await new Promise((r) => setTimeout(r, 1000)); // batches go out and wait (retries: about a minute)
          child.kill('SIGINT');
          await waitForStderr(child, /SIGINT: stopping/);
          // A second one within 500 ms is taken as the same request (a terminal's double press).
          await new Promise((r) => setTimeout(r, 700));
          child.kill('SIGINT');
          const r = await done;
          assert.equal(r.code, 130, r.stderr);
          // librdkafka's guess for a connection the broker closed sent the user to its security.protocol.
          assert.doesNotMatch(r.stderr, /security\.protocol/);
          const c = counters(r.stderr, 'output-kafka(outage)');
          const messages = c.get('messages') ?? 0;
          const unanswered = (c.get('in flight') ?? 0) + (c.get('queued') ?? 0);
          // Before: 'acked 111, batches 87, in flight batches 10' for 127 messages; the 16 not shown anywhere.
          assert.ok(c.get('in flight')! > 0, r.stderr);
          assert.equal((c.get('acked') ?? 0) + (c.get('failed') ?? 0) + unanswered, messages, r.stderr);
        } finally {
          child.kill('SIGKILL');
          await broker.up();
        }
      }),
  );
}
