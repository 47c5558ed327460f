/**
 * The KafkaProducer on librdkafka (native/src/kafka_producer.cc, addon tapline_kafka.node, built by
 * scripts/build-native.mjs when Debian's librdkafka-dev is installed). kafkajs encodes records in JavaScript
 * at 30–40 CPU µs per 1 KB message; librdkafka does it in C. One native call hands over a whole batch (each
 * record copied into librdkafka's queue) and one event comes back per batch, once every message of it has
 * its delivery report.
 *
 *   send(topic, batch) ─▶ native.send(topic, bytes, spans, count, id) ─▶ librdkafka queue ─▶ broker
 *        ▲ promise of batch id                                       │ delivery reports (poll thread)
 *        └──────────── onEvent(BATCH, id, failed, reason) ◀──────────┘ one per batch
 *
 * Placement: librdkafka's murmur2_random partitioner is Java's murmur2 (the same as partitioner.ts), so a
 * key lands in the partition the kafkajs path and Java clients choose; keyless messages go to a random
 * partition (gor's behaviour; the kafkajs path uses round robin).
 */

import { loadAddon } from '../core/native-addon.js';
import type { KafkaConnection, KafkaProducer, ProducerOptions } from './client.js';

const ABI_VERSION = 2;
const EVENT_BATCH = 1;
const EVENT_LOG = 2;
const EVENT_CLOSED = 3;
const EVENT_ERROR = 4;

type OnEvent = (kind: number, id: number, n: number, text: string) => void;

interface NativeProducer {
  send(topic: string, bytes: Buffer, spans: Int32Array, count: number, id: number): void;
  close(timeoutMs: number): void;
}

interface KafkaAddon {
  Producer: new (config: [string, string][], onEvent: OnEvent) => NativeProducer;
  version: string;
  abiVersion: number;
}

/** A send that failed: the first failure's reason, and how many of its messages were not delivered (the rest were). */
export class KafkaDeliveryError extends Error {
  constructor(
    message: string,
    readonly failed: number,
  ) {
    super(message);
    this.name = 'KafkaDeliveryError';
  }
}

let addon: KafkaAddon | null | undefined;
let whyNot = '';

/** The addon, or null with `rdkafkaUnavailable()` saying why. */
export function rdkafkaAddon(): KafkaAddon | null {
  if (addon !== undefined) return addon;
  addon = null;
  // $TAPLINE_KAFKA_ADDON names the file; else the usual places (core/native-addon.ts).
  const load = loadAddon<KafkaAddon>('tapline_kafka.node', ABI_VERSION, process.env.TAPLINE_KAFKA_ADDON);
  if (load.addon) {
    addon = load.addon;
  } else if (load.reason === 'missing') {
    whyNot = `the addon tapline_kafka.node was not built (looked in ${load.where.join(', ')}; it needs librdkafka-dev: see docs/kafka.md)`;
  } else if (load.reason === 'abi') {
    whyNot = `${load.where[0]} is from another tapline version (${load.detail})`;
  } else {
    whyNot = `${load.where[0]} does not load: ${load.detail}`;
  }
  return addon;
}

/** Why the addon cannot be used ('' when it can or was not looked for yet). */
export function rdkafkaUnavailable(): string {
  return whyNot;
}

/**
 * How long librdkafka keeps trying to deliver a message: the kafkajs path's retry schedule (200 ms doubling,
 * capped at 5 s, `retries` times) plus a 20 s request allowance. librdkafka counts retries only for requests
 * that reached a broker; while no broker answers at all, this timeout is what ends the wait.
 */
export function deliveryTimeoutMs(retries: number): number {
  let total = 20_000;
  let i = 0;
  for (let wait = 200; i < retries && wait < 5000; i++, wait *= 2) total += wait;
  // The rest of the waits are 5 s each: summed at once (a loop over --output-kafka-retries 99999999999 spun
  // for minutes), and capped at the largest value librdkafka takes (about 24.8 days).
  return Math.min(total + (retries - i) * 5000, MAX_TIMEOUT_MS);
}

/** librdkafka's int32 properties stop at 2^31 − 1 (a larger value is read wrapped). */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

const SASL_GUESS =
  'Disconnected: verify that security.protocol is correctly configured, broker might require SASL authentication';

/**
 * librdkafka says SASL_GUESS whenever a broker closes a plaintext connection soon after it was set up, which
 * is also what a broker that stops or restarts does: a user whose broker went down was sent to check
 * `security.protocol`, a setting tapline's flags do not even name. Said in tapline's terms, both causes.
 */
export function plainWords(text: string): string {
  if (text.includes(SILENT_PEER)) {
    // What a port that is not a broker's does when it takes the connection and waits (an HTTP server, a proxy, a
    // wrong port): librdkafka names only its own state, and the stop then waits out the delivery timeout.
    return text.replace(
      SILENT_PEER,
      `${SILENT_PEER}: the port took the connection but never answered Kafka's first request (is it a Kafka ` +
        "broker's port?)",
    );
  }
  if (!text.includes(SASL_GUESS)) return text;
  return text.replace(
    SASL_GUESS,
    'Disconnected by the broker (it stopped or restarted; or, if every connection ends so at once, it requires ' +
      'TLS or SASL: --kafka-tls-ca-cert, --output-kafka-use-sasl)',
  );
}

/** librdkafka's words for a connection that was set up but got no answer to its first request (ApiVersion). */
const SILENT_PEER = 'Connection setup timed out in state APIVERSION_QUERY';

/** Whether the producer is idempotent: with --output-kafka-acks -1 and retries (see rdkafkaConfig). */
export const idempotent = (options: ProducerOptions, c: KafkaConnection): boolean =>
  options.acks === -1 && c.retries > 0;

/** librdkafka configuration properties for tapline's Kafka flags (as client.ts maps them for kafkajs). */
export function rdkafkaConfig(c: KafkaConnection, options: ProducerOptions): [string, string][] {
  const config: [string, string][] = [
    ['bootstrap.servers', c.brokers.join(',')],
    ['client.id', c.clientId],
    ['acks', String(options.acks)],
    ['compression.codec', options.compression],
    ['partitioner', 'murmur2_random'],
    ['message.send.max.retries', String(c.retries)],
    ['retry.backoff.ms', '200'],
    ['message.timeout.ms', String(deliveryTimeoutMs(c.retries))],
    ['reconnect.backoff.max.ms', '5000'],
    ['socket.connection.setup.timeout.ms', '3000'],
    // The output batches and lingers itself: what it hands over goes out at once.
    ['linger.ms', '1'],
    // The output bounds what is in flight (batches × 2 MiB); librdkafka's queue must not be the limit.
    ['queue.buffering.max.messages', '2000000'],
    ['queue.buffering.max.kbytes', '2097151'],
    // One gor message can exceed 1 MB (a large body): the broker decides, as with kafkajs.
    ['message.max.bytes', String(64 << 20)],
  ];
  // A request whose answer is lost (timed out, connection closed) is sent again, and the broker may already
  // have written it: without idempotence the batch is then in the topic twice, acked once. The idempotent
  // producer numbers each partition's batches, so the broker drops such a repeat; Kafka allows it with acks=all
  // only (librdkafka refuses it otherwise), and with no retries nothing is sent again anyway.
  if (idempotent(options, c)) config.push(['enable.idempotence', 'true']);
  const secure = c.ssl !== undefined;
  if (c.sasl) {
    config.push(['security.protocol', secure ? 'sasl_ssl' : 'sasl_plaintext']);
    config.push(['sasl.mechanisms', c.sasl.mechanism.toUpperCase()]);
    config.push(['sasl.username', c.sasl.username]);
    config.push(['sasl.password', c.sasl.password]);
  } else if (secure) {
    config.push(['security.protocol', 'ssl']);
  }
  const pem = (v: unknown) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v));
  if (c.ssl?.ca) config.push(['ssl.ca.pem', pem(c.ssl.ca)]);
  if (c.ssl?.cert) config.push(['ssl.certificate.pem', pem(c.ssl.cert)]);
  if (c.ssl?.key) config.push(['ssl.key.pem', pem(c.ssl.key)]);
  return config;
}

/** Settings tests change to see failures in milliseconds instead of a minute. */
export interface RdkafkaTuning {
  /** Properties set after (so over) rdkafkaConfig's, e.g. a short message.timeout.ms. */
  extraConfig?: [string, string][];
  /** How long close() waits for outstanding delivery reports before failing the rest (default 30 s). */
  closeFlushMs?: number;
}

export function createRdkafkaProducer(
  mod: KafkaAddon,
  c: KafkaConnection,
  options: ProducerOptions,
  tuning: RdkafkaTuning = {},
): KafkaProducer {
  const config = [...rdkafkaConfig(c, options), ...(tuning.extraConfig ?? [])];
  // A produce request that timed out is sent again, and the broker may have written it: said where it happens.
  const resent = idempotent(options, c)
    ? ''
    : ': a produce request sent again after this may be written twice (--output-kafka-acks -1 makes the producer idempotent)';
  let native: NativeProducer | undefined;
  let nextId = 1;
  const pending = new Map<number, { resolve: () => void; reject: (err: Error) => void; size: number }>();
  let closed: { promise: Promise<void>; resolve: () => void } | undefined;

  const onEvent: OnEvent = (kind, id, n, text) => {
    if (kind === EVENT_BATCH) {
      const batch = pending.get(id);
      if (!batch) return;
      pending.delete(id);
      if (n === 0) batch.resolve();
      else batch.reject(new KafkaDeliveryError(text, n));
    } else if (kind === EVENT_ERROR) {
      // As kafkajs's errors: rate-limited warnings (the same failures also come as log lines, below).
      const twice = / request\(s\) timed out/.test(text) ? resent : '';
      c.log.warn(`${c.name}: librdkafka: ${plainWords(text)}${twice}`, `${c.name} client`);
    } else if (kind === EVENT_LOG) {
      c.log.debug(n <= 4 ? 1 : 2, `${c.name}: librdkafka: ${text}`);
    } else if (kind === EVENT_CLOSED) {
      for (const [, batch] of pending) {
        batch.reject(new KafkaDeliveryError('the producer closed before its delivery report', batch.size));
      }
      pending.clear();
      if (n > 0) c.log.warn(`${c.name}: ${n} message(s) still queued when the producer closed`, `${c.name} close`);
      closed?.resolve();
    }
  };

  return {
    client: 'librdkafka',
    async connect() {
      // librdkafka connects in the background and reports failures per message (after its retries), as
      // kafkajs's send does; creating the handle only checks the configuration.
      native ??= new mod.Producer(config, onEvent);
    },
    send(topic, batch) {
      if (!native) native = new mod.Producer(config, onEvent);
      const id = nextId;
      nextId = (nextId % 0x7fffffff) + 1;
      return new Promise<void>((resolve, reject) => {
        pending.set(id, { resolve, reject, size: batch.count });
        try {
          native!.send(topic, batch.bytes, batch.spans, batch.count, id);
        } catch (err) {
          pending.delete(id);
          reject(err);
        }
      });
    },
    async close() {
      if (!native || closed) return closed?.promise;
      let resolve!: () => void;
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      closed = { promise, resolve };
      native.close(tuning.closeFlushMs ?? 30_000);
      return promise;
    },
  };
}
