/**
 * tapline against a real Kafka-protocol broker (librdkafka's mock cluster, not Apache Kafka), cross-checked
 * with kcat, an independent client: what tapline writes kcat reads byte for byte, and what kcat writes tapline
 * reads, in gor's raw and JSON formats. tapline produces with each client it has: librdkafka (the addon) and
 * kafkajs (TAPLINE_KAFKA_CLIENT=kafkajs); keys land in the partition Java's murmur2 gives with both.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { encodeGorJson } from '../../src/kafka/gor-json.js';
import { partitionOfKey } from '../../src/kafka/partitioner.js';
import { collect, runTapline, startTapline, waitForStderr } from '../support/cli.js';
import { type KafkaBroker, startKafkaBroker } from '../support/kafka-broker.js';
import { kcatConsume, kcatProduce } from '../support/kafka-kcat.js';
import { exchange, PRODUCER_CLIENTS, runUntilRecords, splitGor, withKafkaClient, writeGor } from './kafka-cli.js';

let broker: KafkaBroker;
let dir: string;
const messages = Array.from({ length: 20 }, (_, i) => exchange(i)).flat();
const raw = (m: (typeof messages)[number]) => Buffer.concat([Buffer.from(`${m.meta.line}\n`), m.data]);

before(async () => {
  const produced = Object.fromEntries(
    PRODUCER_CLIENTS.flatMap((c) => [
      [`raw-${c.client}`, 4],
      [`json-${c.client}`, 2],
    ]),
  );
  broker = await startKafkaBroker({
    topics: { ...produced, fromkcat: 3, fromkcatjson: 1, snappy: 1, lz4: 1, short: 1 },
  });
  dir = await mkdtemp(join(tmpdir(), 'tapline-kafka-'));
  await writeGor(join(dir, 'in.gor'), messages);
});

after(async () => {
  await broker?.close();
  await rm(dir, { recursive: true, force: true });
});

/** tapline copies in.gor to `topic` with `client`, printing its stats; asserts it exited 0 with that client. */
async function produceWith(client: string, topic: string, extra: string[] = []) {
  const file = `${join(dir, 'in.gor')}|max`;
  const args = ['--input-file', file, '--output-kafka-host', broker.bootstrap, '--output-kafka-topic', topic];
  const r = await withKafkaClient(client, () => runTapline([...args, '--stats', ...extra]));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`"client":"${client}"`));
}

for (const { client, skip } of PRODUCER_CLIENTS) {
  test(`raw (${client}): tapline writes, kcat reads every value byte for byte, keyed by id, in murmur2's partition`, {
    skip,
  }, async () => {
    await produceWith(client, `raw-${client}`);
    const got = await kcatConsume(broker.bootstrap, `raw-${client}`);
    assert.equal(got.length, messages.length);
    const byValue = new Map(got.map((g) => [g.value.toString('latin1'), g]));
    const partitionOf = new Map<string, number>();
    for (const m of messages) {
      const g = byValue.get(raw(m).toString('latin1'));
      assert.ok(g, `kcat did not read ${m.meta.line}`);
      assert.equal(g.key?.toString(), m.meta.id);
      assert.equal(g.partition, partitionOfKey(Buffer.from(m.meta.id), 4), `partition of key ${m.meta.id}`);
      const p = partitionOf.get(m.meta.id);
      if (p !== undefined) assert.equal(g.partition, p, `request and response of ${m.meta.id} in different partitions`);
      partitionOf.set(m.meta.id, g.partition);
    }
    assert.ok(new Set(partitionOf.values()).size > 1, 'ids should spread over partitions');
  });

  test(`json (${client}): tapline writes gor's JSON objects, kcat reads them`, { skip }, async () => {
    await produceWith(client, `json-${client}`, ['--output-kafka-json-format', '--output-kafka-compression', 'gzip']);
    const got = await kcatConsume(broker.bootstrap, `json-${client}`);
    assert.equal(got.length, messages.length);
    const values = new Set(got.map((g) => g.value.toString('latin1')));
    for (const m of messages) assert.ok(values.has(encodeGorJson(m).toString('latin1')), m.meta.line);
    // One value spelled out, so the encoder is checked against text, not against itself.
    const first = JSON.parse(
      got
        .find((g) => g.value.includes('"Req_ID":"000000000000000000000000"') && g.value.includes('POST'))!
        .value.toString(),
    );
    assert.deepEqual(Object.keys(first), [
      'Req_URL',
      'Req_Type',
      'Req_ID',
      'Req_Ts',
      'Req_Method',
      'Req_Body',
      'Req_Headers',
    ]);
    assert.equal(first.Req_URL, '/items/0?x=<y>');
    assert.deepEqual(first.Req_Headers, { 'Content-Length': '23', Host: 'shop.test', 'X-Req': '0' });
    assert.ok(
      got.some((g) => g.value.includes('?x=\\u003cy\\u003e')),
      'HTML-safe escaping as Go writes it',
    );
  });
}

test('raw: kcat writes, tapline reads from the oldest offset; type 3 passes, bad values are counted and named', async () => {
  const type3 = Buffer.from('3 ffff 1700000000000000000 42\nHTTP/1.1 200 OK\r\n\r\n');
  const values = [...messages.slice(0, 6).map(raw), type3, Buffer.from('garbage without a meta line')];
  await kcatProduce(broker.bootstrap, 'fromkcat', values, 1);
  const r = await runUntilRecords(
    [
      '--input-kafka-host',
      broker.bootstrap,
      '--input-kafka-topic',
      'fromkcat',
      '--input-kafka-offset',
      '-2|100000%',
      '--output-stdout',
      '--stats',
    ],
    7,
  );
  const records = splitGor(r.stdout);
  assert.deepEqual(
    records.map((b) => b.toString('latin1')),
    values.slice(0, 7).map((b) => b.toString('latin1')),
  );
  assert.match(r.stderr, /partition 1 offset 7: not a raw gor message/);
  assert.match(r.stderr, /"bad_messages":1/);
});

test("json: kcat writes gor's JSON (gor's own test vector), tapline rebuilds the request as gor does", async () => {
  await kcatProduce(broker.bootstrap, 'fromkcatjson', [
    Buffer.from(
      '{"Req_URL":"/","Req_Type":"1","Req_ID":"2","Req_Ts":"3","Req_Method":"GET","Req_Headers":{"Header":"1"}}',
    ),
  ]);
  const r = await runUntilRecords(
    [
      '--input-kafka-host',
      broker.bootstrap,
      '--input-kafka-topic',
      'fromkcatjson',
      '--input-kafka-json-format',
      '--input-kafka-offset',
      '-2',
      '--output-stdout',
    ],
    1,
  );
  assert.deepEqual(splitGor(r.stdout).map(String), ['1 2 3\nGET / HTTP/1.1\r\nHeader: 1\r\n\r\n']);
});

test("snappy (gor's producer compression): kcat writes compressed batches, tapline reads every value byte for byte", async () => {
  // Batches of compressible records, so librdkafka really compresses them (it sends a batch that would not
  // shrink uncompressed); kafkajs has no snappy codec of its own and failed every fetch.
  const values = messages.map(raw);
  await kcatProduce(broker.bootstrap, 'snappy', values, 0, 'snappy');
  const r = await runUntilRecords(
    [
      '--input-kafka-host',
      broker.bootstrap,
      '--input-kafka-topic',
      'snappy',
      '--input-kafka-offset',
      '-2|100000%',
      '--output-stdout',
    ],
    values.length,
  );
  assert.doesNotMatch(r.stderr, /not implemented|warning/, r.stderr);
  assert.deepEqual(
    splitGor(r.stdout).map((v) => v.toString('latin1')),
    values.map((v) => v.toString('latin1')),
  );
});

test('lz4 (which tapline cannot read): the input ends at once with an error naming the codec, exit 1', async () => {
  await kcatProduce(broker.bootstrap, 'lz4', messages.map(raw), 0, 'lz4');
  const r = await runTapline([
    '--input-kafka-host',
    broker.bootstrap,
    '--input-kafka-topic',
    'lz4',
    '--input-kafka-offset',
    '-2',
    '--output-stdout',
  ]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /messages compressed with lz4, which tapline cannot read \(it reads uncompressed, gzip and snappy/,
  );
  assert.doesNotMatch(r.stderr, /restart/, 'a codec it cannot read is not retried');
  assert.doesNotMatch(r.stderr, /input-kafka\(lz4\): input-kafka\(lz4\)/, 'the input is named once');
});

test('an absolute offset past the partition end: a warning names the partition and where reading goes on', async () => {
  await kcatProduce(broker.bootstrap, 'short', messages.slice(0, 2).map(raw), 0);
  const child = startTapline([
    '--input-kafka-host',
    broker.bootstrap,
    '--input-kafka-topic',
    'short',
    '--input-kafka-offset',
    '100',
    '--output-stdout',
  ]);
  const result = collect(child, 30_000);
  await waitForStderr(child, /out of range|not in the partition/, 20_000).finally(() => child.kill('SIGINT'));
  const r = await result;
  assert.equal(r.code, 0, r.stderr);
  // kafkajs said 'Offset out of range, resetting to default offset': no partition, no word of where it reads.
  assert.match(
    r.stderr,
    /input-kafka\(short\): partition 0: the offset to read from is not in the partition \(past its end, or deleted by retention\): reading from its newest message on/,
  );
  assert.doesNotMatch(r.stderr, /default offset|not within the range/);
});
