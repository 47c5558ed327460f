/**
 * The small producer/consumer interface tapline's Kafka plugins use, and its kafkajs implementation. The
 * plugins never import kafkajs. Producing goes through librdkafka (rdkafka-producer.ts) when its addon is
 * built, kafkajs otherwise; consuming is kafkajs's.
 *
 *   KafkaProducer.send(records) ─▶ one produce request, resolved when the broker acknowledged it (the
 *                                  delivery report) or rejected after the client's retries
 *   KafkaConsumer.run(onBatch)  ─▶ calls onBatch per fetched partition batch; the promise it returns is
 *                                  awaited before that partition is fetched again (backpressure) and, in a
 *                                  consumer group, before the batch's offsets are committed; it resolves with
 *                                  how many of the batch's records were handled (all when it says nothing):
 *                                  only those are committed, the rest are fetched again
 */
import { createRequire } from 'node:module';
import type { ConnectionOptions } from 'node:tls';
import type { Consumer, Kafka, KafkaConfig, Producer, SASLOptions } from 'kafkajs';
import { ERROR_CODES, TaplineError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { createTaplinePartitioner } from './partitioner.js';
import { createRdkafkaProducer, rdkafkaAddon, rdkafkaUnavailable } from './rdkafka-producer.js';
import { type RecordBatch, recordsOf } from './record-batch.js';
import { snappyDecompress } from './snappy.js';

export interface KafkaConnection {
  brokers: string[];
  clientId: string;
  ssl?: ConnectionOptions;
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  /** How many times a failed request is retried (exponential backoff, capped at 5 s between tries). */
  retries: number;
  log: Logger;
  /** Prefix of log lines: `output-kafka(topic)`. */
  name: string;
}

export interface ProducedRecord {
  key: Buffer | null;
  value: Buffer;
}

export interface ProducerOptions {
  compression: 'none' | 'gzip';
  /** 0 none, 1 the partition leader (gor's wait-for-local), -1 all in-sync replicas. */
  acks: -1 | 0 | 1;
}

export interface KafkaProducer {
  /** Which client library does the work (said in --verbose and in the output's stats). */
  readonly client: 'librdkafka' | 'kafkajs';
  connect(): Promise<void>;
  /** Produces every record of the batch (record-batch.ts); resolves once all are acknowledged. */
  send(topic: string, batch: RecordBatch): Promise<void>;
  close(): Promise<void>;
}

export interface ConsumedBatch {
  partition: number;
  /** Offsets are decimal strings (int64). */
  records: { offset: string; key: Buffer | null; value: Buffer | null }[];
  /** Messages in the partition after this batch (high watermark − last offset − 1). */
  lag: number;
}

export interface ConsumerOptions {
  topic: string;
  /** Set: join this consumer group and commit offsets. Unset: read every partition, commit nothing. */
  group?: string;
  /** Where to start without a committed offset: 'latest', 'earliest' or an absolute offset for every partition. */
  start: 'latest' | 'earliest' | bigint;
}

/**
 * Handles one batch; resolves with how many of its records (a prefix) were handled, or undefined for all.
 * Only handled records count as read: their offsets are committed (in a group) and the next fetch starts after
 * them, so a stop that leaves records unhandled leaves them for the next reader.
 */
export type BatchHandler = (batch: ConsumedBatch) => Promise<number | undefined>;

export interface KafkaConsumer {
  /** Starts consuming; resolves once running. `onFatal` is called if the client gives up (no more batches). */
  run(onBatch: BatchHandler, onFatal: (err: Error) => void): Promise<void>;
  close(): Promise<void>;
  /** How many times the client was restarted after an error (bounded by the connection's retries). */
  restarts(): number;
  /**
   * In a group: records fetched again that this process had already handled (their commit was lost to a broker
   * outage or a client restart) and that were therefore not handed on a second time.
   */
  skippedRereads(): number;
}

// kafkajs takes ~50 ms to load: required on first use, so runs without Kafka (every plugin module is
// imported at start-up) do not pay for it.
let kafkajsModule: typeof import('kafkajs') | undefined;
function kafkajs(): typeof import('kafkajs') {
  if (!kafkajsModule) {
    kafkajsModule = createRequire(import.meta.url)('kafkajs') as typeof import('kafkajs');
    // gor's producer (sarama) compresses with snappy; kafkajs ships no snappy codec, so without this every
    // fetch of a topic gor wrote failed. tapline reads snappy; it writes none or gzip (--output-kafka-compression).
    const { CompressionCodecs, CompressionTypes } = kafkajsModule;
    CompressionCodecs[CompressionTypes.Snappy] = () => ({
      compress: () => Promise.reject(new Error('tapline does not write snappy')),
      decompress: async (buffer: Buffer) => snappyDecompress(buffer),
    });
  }
  return kafkajsModule;
}

/**
 * The codecs kafkajs cannot read (lz4, zstd): a batch compressed with one fails every fetch the same way, so
 * the reader says so and stops instead of restarting the client for nothing.
 */
function unreadableCompression(err: Error): Error | undefined {
  const m = /^(LZ4|ZSTD) compression not implemented/.exec(err.message);
  if (err.name !== 'KafkaJSNotImplemented' || !m) return undefined;
  return new Error(
    `the topic holds messages compressed with ${m[1]!.toLowerCase()}, which tapline cannot read ` +
      '(it reads uncompressed, gzip and snappy: gor writes snappy); have the producer use one of those',
  );
}

/**
 * kafkajs's words when a fetch offset is not in the partition (an absolute --input-kafka-offset past its end,
 * or one retention deleted): 'Offset out of range, resetting to default offset' named neither the partition
 * nor where reading goes on. `resetTo` is where kafkajs then reads from (its 'default offset').
 */
const OUT_OF_RANGE = 'Offset out of range, resetting to default offset';
const OUT_OF_RANGE_FETCH = 'The requested offset is not within the range of offsets maintained by the server';

function outOfRangeText(c: KafkaConnection, partition: unknown, resetTo: 'oldest' | 'newest'): string {
  return (
    `${c.name}: partition ${String(partition)}: the offset to read from is not in the partition (past its ` +
    `end, or deleted by retention): reading from its ${resetTo} message on`
  );
}

/**
 * True when an error is Kafka's error `type` as kafkajs names it (on the error, or the one its retries wrapped),
 * or `rdkafkaName` as librdkafka's messages end (`… (UNKNOWN_TOPIC_OR_PART)`).
 */
function isKafkaError(err: unknown, type: string, rdkafkaName: string): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 4; depth++) {
    const { type: t, cause, originalError } = e as Error & { type?: unknown; originalError?: unknown };
    if (t === type || e.message.endsWith(`(${rdkafkaName})`)) return true;
    e = originalError ?? cause;
  }
  return false;
}

/**
 * The brokers said the topic does not exist (UNKNOWN_TOPIC_OR_PARTITION, 3). A cluster that creates topics on
 * demand answers LEADER_NOT_AVAILABLE while it does, never this.
 */
export const isUnknownTopic = (err: unknown): boolean =>
  isKafkaError(err, 'UNKNOWN_TOPIC_OR_PARTITION', 'UNKNOWN_TOPIC_OR_PART');

/**
 * The broker refused a record batch as too large (MESSAGE_TOO_LARGE, 10): Kafka limits each partition's batch
 * in a produce request (message.max.bytes, 1 MiB by default), and kafkajs sends a partition's messages of one
 * send as one batch. librdkafka says MSG_SIZE_TOO_LARGE (also for a message over its own limit).
 */
export const isMessageTooLarge = (err: unknown): boolean =>
  isKafkaError(err, 'MESSAGE_TOO_LARGE', 'MSG_SIZE_TOO_LARGE');

/**
 * What a missing topic is called: the clients' own words ('This server does not host this topic-partition',
 * 'Broker: Unknown topic or partition') named neither the topic nor the brokers, nor why a broker says it.
 * `why` adds the cause and what to do (the error line; the warning per failed batch is the short form).
 */
export function unknownTopicText(topic: string, brokers: readonly string[], why = true): string {
  const where = brokers.length > 0 ? `the Kafka brokers ${brokers.join(',')}` : 'the Kafka cluster';
  const text = `topic ${JSON.stringify(topic)} does not exist on ${where} (UNKNOWN_TOPIC_OR_PARTITION)`;
  if (!why) return text;
  return `${text}: the cluster does not create topics on demand (auto.create.topics.enable=false); create the topic or check its name`;
}

const RETRYING_SEND = /^Failed to send messages: /;

/** `quiet()` true: the client's errors are only debug lines (a consumer being closed mid-join). */
function kafkaOf(
  c: KafkaConnection,
  quiet: () => boolean = () => false,
  resetTo: 'oldest' | 'newest' = 'newest',
): Kafka {
  const { Kafka, logLevel } = kafkajs();
  const config: KafkaConfig = {
    clientId: c.clientId,
    brokers: c.brokers,
    connectionTimeout: 3000,
    requestTimeout: 30000,
    retry: { retries: c.retries, initialRetryTime: 200, maxRetryTime: 5000 },
    logLevel: logLevel.WARN,
    // kafkajs logs through us: errors as rate-limited warnings, the rest only with --verbose.
    logCreator: () => (entry) => {
      // kafkajs puts the reason beside the message ('Response Fetch(key: 1, version: 11)' + error: 'The
      // requested offset is not within the range…'): the message alone says nothing.
      const reason = typeof entry.log.error === 'string' && entry.log.error !== '' ? `: ${entry.log.error}` : '';
      const text = `${c.name}: kafka ${entry.namespace}: ${entry.log.message}${reason}`;
      if (entry.log.message === OUT_OF_RANGE) {
        c.log.warn(outOfRangeText(c, entry.log.partition, resetTo), `${c.name} out of range`);
        return;
      }
      // The fetch's own line for it says less than the one above, which follows it. The producer's 'Failed to
      // send messages' is logged before each retry: a batch delivered on its second try read as lost. What is
      // lost after the retries is said by the output ('N message(s) not delivered') and counted.
      if (entry.log.error === OUT_OF_RANGE_FETCH || RETRYING_SEND.test(entry.log.message)) c.log.debug(1, text);
      else if (entry.level === logLevel.ERROR && !quiet()) c.log.warn(text, `${c.name} client`);
      else c.log.debug(1, text);
    },
  };
  if (c.ssl) config.ssl = c.ssl;
  if (c.sasl) config.sasl = c.sasl as SASLOptions;
  return new Kafka(config);
}

/**
 * The producer: librdkafka's (rdkafka-producer.ts) when its addon loads, else kafkajs's. `choice` comes from
 * $TAPLINE_KAFKA_CLIENT: 'kafkajs' forces kafkajs, 'librdkafka' requires the addon (an error says why it
 * cannot be loaded), unset or 'auto' picks.
 */
export function createProducer(
  c: KafkaConnection,
  options: ProducerOptions,
  choice = process.env.TAPLINE_KAFKA_CLIENT || 'auto',
): KafkaProducer {
  if (choice !== 'auto' && choice !== 'kafkajs' && choice !== 'librdkafka') {
    throw new TaplineError(ERROR_CODES.USAGE, `expected auto, librdkafka or kafkajs, got ${JSON.stringify(choice)}`, {
      where: 'TAPLINE_KAFKA_CLIENT',
    });
  }
  if (choice !== 'kafkajs') {
    const mod = rdkafkaAddon();
    if (mod) {
      c.log.info(`${c.name}: producing with librdkafka ${mod.version}`);
      return createRdkafkaProducer(mod, c, options);
    }
    if (choice === 'librdkafka') {
      throw new TaplineError(ERROR_CODES.USAGE, `librdkafka cannot be used: ${rdkafkaUnavailable()}`, {
        where: 'TAPLINE_KAFKA_CLIENT',
      });
    }
    c.log.info(`${c.name}: producing with kafkajs (${rdkafkaUnavailable()})`);
  } else c.log.info(`${c.name}: producing with kafkajs (TAPLINE_KAFKA_CLIENT=kafkajs)`);
  return createKafkajsProducer(c, options);
}

export function createKafkajsProducer(c: KafkaConnection, options: ProducerOptions): KafkaProducer {
  const producer: Producer = kafkaOf(c).producer({
    allowAutoTopicCreation: true,
    // Same placement as kafkajs's default (Java's murmur2), at a fraction of its cost per message.
    createPartitioner: createTaplinePartitioner,
    retry: { retries: c.retries, initialRetryTime: 200, maxRetryTime: 5000 },
  });
  const { CompressionTypes } = kafkajs();
  const compression = options.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
  return {
    client: 'kafkajs',
    connect: () => producer.connect(),
    async send(topic, batch) {
      await producer.send({ topic, messages: recordsOf(batch), acks: options.acks, compression });
    },
    close: () => producer.disconnect(),
  };
}

const HEARTBEAT_MS = 3000;

export function createConsumer(c: KafkaConnection, options: ConsumerOptions): KafkaConsumer {
  // kafkajs always needs a group; without --input-kafka-group each client gets a group of its own (a new
  // one per restart, so no crashed member holds up the join), is assigned every partition (gor reads all
  // partitions) and commits nothing.
  const groupOf = () => options.group ?? `tapline-${process.pid}-${Date.now().toString(36)}-${restarts}`;
  let current: Consumer | undefined;
  let closed = false;
  let restarts = 0;
  let startApplied = false;
  let restartTimer: NodeJS.Timeout | undefined;
  // Once closed, what the client says about the connections being torn down under it (a stop during the
  // group join: 'Crash: KafkaJSConnectionError: write after end', after the summary) is not a failure.
  const kafka = kafkaOf(c, () => closed, options.start === 'earliest' ? 'oldest' : 'newest');
  // The next offset to read per partition, after each batch was handled. Without a group nothing is
  // committed, so a restarted client resumes from here instead of from --input-kafka-offset again. In a group
  // the committed offsets take over (a partition may have moved to another member meanwhile), but a commit
  // the brokers never got (they went away after the batch was handed on; kafkajs's resolved offsets die with
  // its client at a restart) would have the fresh client read that batch again: records below this mark were
  // handled by this process, so they are resolved (committed with the next batch) and not handed on again.
  const nextOffset = new Map<number, string>();
  const inHand = new Map<number, Promise<void>>();
  let skippedRereads = 0;

  // Restarts are bounded by --input-kafka-retries and each one is said. kafkajs restarts itself after
  // retriable errors (restartOnFailure); after an error it deems fatal it stops, and a fresh client is
  // started here: a broker that restarts, or a coordinator that answers a join race with a protocol error
  // (librdkafka's mock cluster answers a late SyncGroup with INVALID_REQUEST), must not end a replayer.
  const mayRestart = (err: Error, how: string): boolean => {
    if (closed || restarts >= c.retries) return false;
    restarts++;
    c.log.warn(
      `${c.name}: Kafka consumer ${how} (${restarts}/${c.retries}) after: ${err.message}`,
      `${c.name} restart`,
    );
    return true;
  };

  const attempt = async (onBatch: BatchHandler, onFatal: (err: Error) => void): Promise<void> => {
    const consumer: Consumer = kafka.consumer({
      groupId: groupOf(),
      maxWaitTimeInMs: 100,
      maxBytes: 16 << 20,
      maxBytesPerPartition: 4 << 20,
      // A member that vanished without leaving (a client that crashed mid-join) holds up the group's next
      // join until its session expires: 10 s, not kafkajs's 30 s. Live members heartbeat even while the
      // pipeline is full (see eachBatch), so a short session does not evict a slow replayer.
      sessionTimeout: 10_000,
      heartbeatInterval: HEARTBEAT_MS,
      retry: {
        retries: c.retries,
        initialRetryTime: 200,
        maxRetryTime: 5000,
        restartOnFailure: async (err) => mayRestart(err, 'restarting'),
      },
    });
    current = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      const assigned = event.payload.memberAssignment[options.topic] ?? [];
      c.log.info(`${c.name}: joined group ${event.payload.groupId}: partitions [${assigned.join(',')}]`);
      const start = options.start;
      const applyStart = typeof start === 'bigint' && !startApplied;
      startApplied = true;
      for (const partition of assigned) {
        const resume = options.group === undefined ? nextOffset.get(partition) : undefined;
        if (resume !== undefined) consumer.seek({ topic: options.topic, partition, offset: resume });
        // An absolute offset applies to every partition (gor's rule), once, when partitions are first assigned.
        else if (applyStart) consumer.seek({ topic: options.topic, partition, offset: String(start) });
      }
    });
    consumer.on(consumer.events.CRASH, (event) => {
      const err = event.payload.error;
      if (closed) {
        c.log.debug(1, `${c.name}: Kafka consumer ended while closing: ${err.message}`);
        return;
      }
      const unreadable = unreadableCompression(err);
      if (unreadable) {
        onFatal(unreadable);
        return;
      }
      // kafkajs restarts by itself after a retriable crash, and restartOnFailure has said so ('restarting
      // (1/5) after: …'); a 'failed' line after it read as if the reader had given up.
      if (event.payload.restart) {
        c.log.debug(1, `${c.name}: Kafka consumer crashed (kafkajs restarts it): ${err.message}`);
        return;
      }
      c.log.warn(`${c.name}: Kafka consumer failed: ${err.message}`, `${c.name} crash`);
      if (!mayRestart(err, 'starting a fresh client')) {
        if (!closed) onFatal(err);
        return;
      }
      // Not unref'd: while no client is connected this timer is what keeps the process alive.
      restartTimer = setTimeout(() => {
        restartTimer = undefined;
        if (!closed) attempt(onBatch, onFatal).catch(onFatal);
      }, 500);
    });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: options.topic, fromBeginning: options.start === 'earliest' });
    } catch (err) {
      throw isUnknownTopic(err) ? new Error(unknownTopicText(options.topic, c.brokers), { cause: err }) : err;
    }
    await consumer.run({
      autoCommit: options.group !== undefined,
      // Offsets are resolved (so committed, and fetched after) only up to what onBatch handled.
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 4,
      eachBatch: async ({ batch, heartbeat, resolveOffset }) => {
        const last = batch.messages.length > 0 ? BigInt(batch.lastOffset()) : -1n;
        const lag = last < 0n ? 0 : Number(BigInt(batch.highWatermark) - last - 1n);
        // onBatch waits while the pipeline is full (a paced replay may wait minutes): kafkajs heartbeats only
        // between batches, so the membership is kept alive here meanwhile. A failed beat (a rebalance) is
        // left to the next fetch to handle.
        const beat = setInterval(() => void heartbeat().catch(() => undefined), HEARTBEAT_MS);
        // A fresh client may fetch a partition while the old client's last batch of it is still being handed
        // on (the pipeline was full when the brokers went away): it waits for that one, so the mark is known.
        const previous = inHand.get(batch.partition);
        let release = () => {};
        inHand.set(batch.partition, new Promise<void>((r) => (release = r)));
        try {
          await previous;
          const mark = nextOffset.get(batch.partition);

          let done = 0; // leading records this process handled already (their commit was lost)
          if (mark !== undefined) {
            const below = BigInt(mark);
            while (done < batch.messages.length && BigInt(batch.messages[done]!.offset) < below) done++;
            skippedRereads += done;
          }
          if (done > 0) {
            // Said, not silent: offsets that go back for another reason (a topic deleted and made again) would
            // be skipped the same way.
            c.log.warn(
              `${c.name}: partition ${batch.partition}: offsets ${batch.messages[0]!.offset}-${batch.messages[done - 1]!.offset} ` +
                'were fetched again (their commit was lost, or the client restarted); this reader handed them on ' +
                'already, so they are not replayed twice (skipped_rereads)',
              `${c.name} reread`,
            );
          }
          const records = batch.messages.slice(done).map((m) => ({ offset: m.offset, key: m.key, value: m.value }));
          const handled =
            records.length === 0 ? 0 : await onBatch({ partition: batch.partition, records, lag: Math.max(0, lag) });
          const n = done + Math.min(handled ?? records.length, records.length);
          if (n === 0) return;
          // The last record's offset resolves the whole batch (kafkajs adds a trailing control record).
          resolveOffset(batch.messages[n - 1]!.offset);
          const next = n === batch.messages.length ? String(last + 1n) : batch.messages[n]!.offset;
          if (mark === undefined || BigInt(next) > BigInt(mark)) nextOffset.set(batch.partition, next);
        } finally {
          clearInterval(beat);
          release();
        }
      },
    });
  };

  return {
    run: (onBatch, onFatal) => attempt(onBatch, onFatal),
    restarts: () => restarts,
    skippedRereads: () => skippedRereads,
    async close() {
      closed = true;
      clearTimeout(restartTimer);
      await current?.disconnect();
    },
  };
}
