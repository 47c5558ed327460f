/**
 * The librdkafka producer: the configuration tapline's flags become (checked by librdkafka itself when the
 * addon is built), and delivery failures reported per batch through the output's counters. A broker that
 * refuses connections is a real closed port on 127.0.0.1; the tests that deliver are in test/kafka (a real
 * Kafka-protocol broker).
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { makeCertificate } from '../../test/support/tls.js';
import { ERROR_CODES, TaplineError } from '../core/errors.js';
import { memoryLogger } from '../core/log.js';
import type { Message } from '../core/message.js';
import { makeMeta } from '../core/message.js';
import { kafkaOutput } from '../outputs/kafka.js';
import { createProducer, type KafkaConnection } from './client.js';
import {
  createRdkafkaProducer,
  deliveryTimeoutMs,
  KafkaDeliveryError,
  rdkafkaAddon,
  rdkafkaConfig,
  rdkafkaUnavailable,
} from './rdkafka-producer.js';
import { batchOf } from './record-batch.js';

const mod = rdkafkaAddon();
const skip = mod ? false : rdkafkaUnavailable();

const connection = (brokers: string[], extra: Partial<KafkaConnection> = {}): KafkaConnection => ({
  brokers,
  clientId: 'tapline-test',
  retries: 12,
  log: memoryLogger(2),
  name: 'output-kafka(t)',
  ...extra,
});

/** A 127.0.0.1 port nothing listens on (bound, then closed): connections to it are refused. */
async function refusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

test('the retry budget of the kafkajs path becomes a delivery timeout: 200 ms doubling, capped at 5 s, plus 20 s', () => {
  assert.equal(deliveryTimeoutMs(0), 20_000);
  assert.equal(deliveryTimeoutMs(3), 20_000 + 200 + 400 + 800);
  assert.equal(deliveryTimeoutMs(12), 20_000 + 200 + 400 + 800 + 1600 + 3200 + 7 * 5000);
  // Beyond that, at once (a loop over 99999999999 retries spun for minutes) and within librdkafka's int32.
  assert.equal(deliveryTimeoutMs(1000), 20_000 + 6200 + 995 * 5000);
  assert.equal(deliveryTimeoutMs(99_999_999_999), 2 ** 31 - 1);
});

test('flags map to librdkafka properties: brokers, acks, gzip, retries, murmur2 placement, TLS and SASL', () => {
  const plain = new Map(rdkafkaConfig(connection(['a:1', 'b:2'], { retries: 3 }), { compression: 'gzip', acks: -1 }));
  assert.equal(plain.get('bootstrap.servers'), 'a:1,b:2');
  assert.equal(plain.get('acks'), '-1');
  assert.equal(plain.get('compression.codec'), 'gzip');
  assert.equal(plain.get('partitioner'), 'murmur2_random');
  assert.equal(plain.get('message.send.max.retries'), '3');
  assert.equal(plain.get('message.timeout.ms'), String(deliveryTimeoutMs(3)));
  assert.equal(plain.has('security.protocol'), false);
  // acks=-1 with retries: idempotent (a batch sent again after a lost answer is dropped by the broker).
  assert.equal(plain.get('enable.idempotence'), 'true');
  const noRetry = new Map(rdkafkaConfig(connection(['a:1'], { retries: 0 }), { compression: 'none', acks: -1 }));
  assert.equal(noRetry.has('enable.idempotence'), false);
  const leader = new Map(rdkafkaConfig(connection(['a:1'], { retries: 3 }), { compression: 'none', acks: 1 }));
  assert.equal(leader.has('enable.idempotence'), false); // librdkafka refuses it without acks=all

  const tls = { ca: Buffer.from('CA PEM'), cert: Buffer.from('CERT PEM'), key: Buffer.from('KEY PEM') };
  const ssl = new Map(rdkafkaConfig(connection(['a:1'], { ssl: tls }), { compression: 'none', acks: 1 }));
  assert.equal(ssl.get('security.protocol'), 'ssl');
  assert.equal(ssl.get('ssl.ca.pem'), 'CA PEM');
  assert.equal(ssl.get('ssl.certificate.pem'), 'CERT PEM');
  assert.equal(ssl.get('ssl.key.pem'), 'KEY PEM');

  const sasl = { mechanism: 'scram-sha-256' as const, username: 'u', password: 'p' };
  const saslPlain = new Map(rdkafkaConfig(connection(['a:1'], { sasl }), { compression: 'none', acks: 1 }));
  assert.equal(saslPlain.get('security.protocol'), 'sasl_plaintext');
  assert.equal(saslPlain.get('sasl.mechanisms'), 'SCRAM-SHA-256');
  assert.equal(saslPlain.get('sasl.username'), 'u');
  assert.equal(saslPlain.get('sasl.password'), 'p');
  const saslSsl = new Map(rdkafkaConfig(connection(['a:1'], { sasl, ssl: tls }), { compression: 'none', acks: 1 }));
  assert.equal(saslSsl.get('security.protocol'), 'sasl_ssl');
});

test('TAPLINE_KAFKA_CLIENT: kafkajs forces kafkajs, an unknown value is a usage error naming it', () => {
  const forced = createProducer(connection(['a:1']), { compression: 'none', acks: 1 }, 'kafkajs');
  assert.equal(forced.client, 'kafkajs');
  assert.throws(
    () => createProducer(connection(['a:1']), { compression: 'none', acks: 1 }, 'rdkafka'),
    (err: unknown) =>
      err instanceof TaplineError && err.code === ERROR_CODES.USAGE && err.where === 'TAPLINE_KAFKA_CLIENT',
  );
});

test('librdkafka accepts every property the flags map to, TLS certificate and key included; a bad key is named', {
  skip,
}, async () => {
  const { dir, cert, key } = makeCertificate();
  try {
    const sasl = { mechanism: 'plain' as const, username: 'u', password: 'p' };
    const ssl = { ca: readFileSync(cert), cert: readFileSync(cert), key: readFileSync(key) };
    const good = createRdkafkaProducer(mod!, connection(['127.0.0.1:1'], { ssl, sasl }), {
      compression: 'gzip',
      acks: -1,
    });
    assert.equal(good.client, 'librdkafka');
    await good.connect();
    await good.close();
    const badKey = { ...ssl, key: Buffer.from('-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n') };
    const bad = createRdkafkaProducer(mod!, connection(['127.0.0.1:1'], { ssl: badKey }), {
      compression: 'none',
      acks: 1,
    });
    await assert.rejects(bad.connect(), /librdkafka: .*ssl\.key/i);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const message = (i: number): Message => ({
  meta: makeMeta({ type: '1', id: `${i}`.padStart(24, '0'), timestampNs: 1n, latencyNs: 0n }),
  data: Buffer.from(`GET /${i} HTTP/1.1\r\n\r\n`),
});

/** A librdkafka producer for a port that refuses connections, failing messages after `timeoutMs`. */
async function producerWithoutBroker(timeoutMs: number) {
  const c = connection([`127.0.0.1:${await refusedPort()}`]);
  return createRdkafkaProducer(
    mod!,
    c,
    { compression: 'none', acks: 1 },
    { extraConfig: [['message.timeout.ms', String(timeoutMs)]] },
  );
}

test('no broker answers: every message of the batch fails after the delivery timeout, counted and said once', {
  skip,
}, async () => {
  const producer = await producerWithoutBroker(300);
  const log = memoryLogger();
  const out = kafkaOutput(
    producer,
    { topic: 't', format: 'raw', keyById: true, batchSize: 100, lingerMs: 1, maxInFlight: 4 },
    { log, signal: new AbortController().signal },
  );
  for (let i = 0; i < 3; i++) await out.write(message(i));
  await out.close();
  const stats = out.stats!();
  assert.equal(stats.failed, 3);
  assert.equal(stats.acked, 0);
  assert.equal(stats.client, 'librdkafka');
  assert.ok(
    log.lines.some((l) => /3 message\(s\) not delivered: Local: Message timed out \(_MSG_TIMED_OUT\)/.test(l)),
    log.lines.join('\n'),
  );
});

test('close() waiting on a broker that does not answer says what it waits for, once, then ends', { skip }, async () => {
  const producer = await producerWithoutBroker(1500);
  const log = memoryLogger();
  const out = kafkaOutput(
    producer,
    { topic: 't', format: 'raw', keyById: true, batchSize: 100, lingerMs: 1, maxInFlight: 4, closeNoticeMs: 200 },
    { log, signal: new AbortController().signal },
  );
  for (let i = 0; i < 5; i++) await out.write(message(i));
  await out.close();
  const waits = log.lines.filter((l) => /waiting for the broker to acknowledge 5 message\(s\) before closing/.test(l));
  assert.equal(waits.length, 1, log.lines.join('\n'));
  assert.equal(out.stats!().failed, 5);
  // Closed even though every send failed (a producer left open ran its poll thread into process exit: abort).
  await assert.rejects(producer.send('t', batchOf([{ key: Buffer.from('k'), value: Buffer.from('v') }])), /closed/);
});

test('close() answered in time: no waiting notice', { skip }, async () => {
  // librdkafka checks message timeouts about once a second: a 300 ms timeout fails the batch within ~1 s.
  const c = connection([`127.0.0.1:${await refusedPort()}`]);
  const quiet = memoryLogger();
  const fast = kafkaOutput(
    createRdkafkaProducer(mod!, c, { compression: 'none', acks: 1 }, { extraConfig: [['message.timeout.ms', '300']] }),
    { topic: 't', format: 'raw', keyById: true, batchSize: 100, lingerMs: 1, maxInFlight: 4, closeNoticeMs: 5000 },
    { log: quiet, signal: new AbortController().signal },
  );
  await fast.write(message(9));
  await fast.close();
  assert.ok(!quiet.lines.some((l) => /waiting for the broker/.test(l)), quiet.lines.join('\n'));
});

test('close() waits for outstanding reports only so long, then fails what is left (a batch never hangs)', {
  skip,
}, async () => {
  const c = connection([`127.0.0.1:${await refusedPort()}`]);
  const producer = createRdkafkaProducer(mod!, c, { compression: 'none', acks: 1 }, { closeFlushMs: 200 });
  const records = [0, 1].map((i) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(`v${i}`) }));
  const sent = producer.send('t', batchOf(records));
  const settled = sent.then(
    () => 'delivered',
    (err: unknown) => err,
  );
  await producer.close();
  const err = await settled;
  assert.ok(err instanceof KafkaDeliveryError, String(err));
  assert.equal(err.failed, 2);
  await assert.rejects(producer.send('t', batchOf(records)), /closed/);
});

test('a batch of no records settles at once; spans are checked before anything is queued', { skip }, async () => {
  const c = connection([`127.0.0.1:${await refusedPort()}`]);
  const producer = createRdkafkaProducer(mod!, c, { compression: 'none', acks: 1 }, { closeFlushMs: 0 });
  await producer.send('t', batchOf([]));
  const batch = batchOf([{ key: Buffer.from('k'), value: Buffer.from('v') }]);
  const outside = { ...batch, spans: Int32Array.from([0, batch.bytes.length + 1, -1, 0]) };
  await assert.rejects(producer.send('t', outside), /record 0: outside the batch's bytes/);
  await producer.close();
});

test('a stop releases backpressure: the last messages go out at once, so an absent broker holds the stop for one retry budget, not two', {
  skip,
}, async () => {
  const out = kafkaOutput(
    await producerWithoutBroker(1000),
    { topic: 't', format: 'raw', keyById: true, batchSize: 1, lingerMs: 1, maxInFlight: 1, closeNoticeMs: 60_000 },
    { log: memoryLogger(), signal: new AbortController().signal },
  );
  const held = out.write(message(1));
  assert.ok(held instanceof Promise, 'the batch in flight holds the next write');
  out.stopping!();
  // Before, the write stayed held until that batch failed (its whole delivery timeout), and the messages after
  // it then waited a delivery timeout of their own.
  let released = false;
  void held.then(() => {
    released = true;
  });
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(released, 'the stop let the held write through');
  assert.equal(out.write(message(2)), undefined, 'and the next one is not held');
  assert.equal(out.stats!().in_flight_batches, 2, 'both batches went out at once');
  await out.close();
  assert.equal(out.stats!().failed, 2);
});
