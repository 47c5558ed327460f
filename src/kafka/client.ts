/**
 * The small producer/consumer interface tapline's Kafka plugins use, and its kafkajs implementation. The
 * plugins never import kafkajs: another client (a librdkafka binding) can be put behind the same interface.
 *
 *   KafkaProducer.send(records) ─▶ one produce request, resolved when the broker acknowledged it (the
 *                                  delivery report) or rejected after the client's retries
 *   KafkaConsumer.run(onBatch)  ─▶ calls onBatch per fetched partition batch; the promise it returns is
 *                                  awaited before that partition is fetched again (backpressure) and, in a
 *                                  consumer group, before the batch's offsets are committed
 */
import type { ConnectionOptions } from 'node:tls';
import {
  CompressionTypes,
  type Consumer,
  Kafka,
  type KafkaConfig,
  logLevel,
  type Producer,
  type SASLOptions,
} from 'kafkajs';
import type { Logger } from '../core/log.js';

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
  connect(): Promise<void>;
  send(topic: string, records: ProducedRecord[]): Promise<void>;
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

export interface KafkaConsumer {
  /** Starts consuming; resolves once running. `onFatal` is called if the client gives up (no more batches). */
  run(onBatch: (batch: ConsumedBatch) => Promise<void>, onFatal: (err: Error) => void): Promise<void>;
  close(): Promise<void>;
}

function kafkaOf(c: KafkaConnection): Kafka {
  const config: KafkaConfig = {
    clientId: c.clientId,
    brokers: c.brokers,
    connectionTimeout: 3000,
    requestTimeout: 30000,
    retry: { retries: c.retries, initialRetryTime: 200, maxRetryTime: 5000 },
    logLevel: logLevel.WARN,
    // kafkajs logs through us: errors as rate-limited warnings, the rest only with --verbose.
    logCreator: () => (entry) => {
      const text = `${c.name}: kafka ${entry.namespace}: ${entry.log.message}`;
      if (entry.level === logLevel.ERROR) c.log.warn(text, `${c.name} client`);
      else c.log.debug(1, text);
    },
  };
  if (c.ssl) config.ssl = c.ssl;
  if (c.sasl) config.sasl = c.sasl as SASLOptions;
  return new Kafka(config);
}

export function createProducer(c: KafkaConnection, options: ProducerOptions): KafkaProducer {
  const producer: Producer = kafkaOf(c).producer({
    allowAutoTopicCreation: true,
    retry: { retries: c.retries, initialRetryTime: 200, maxRetryTime: 5000 },
  });
  const compression = options.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
  return {
    connect: () => producer.connect(),
    async send(topic, records) {
      await producer.send({ topic, messages: records, acks: options.acks, compression });
    },
    close: () => producer.disconnect(),
  };
}

export function createConsumer(c: KafkaConnection, options: ConsumerOptions): KafkaConsumer {
  const kafka = kafkaOf(c);
  // kafkajs always needs a group; without --input-kafka-group each process gets a group of its own, so it
  // is assigned every partition (gor reads all partitions) and commits nothing.
  const groupId = options.group ?? `tapline-${process.pid}-${Date.now().toString(36)}`;
  const consumer: Consumer = kafka.consumer({
    groupId,
    maxWaitTimeInMs: 100,
    maxBytes: 16 << 20,
    maxBytesPerPartition: 4 << 20,
    sessionTimeout: 30000,
    heartbeatInterval: 3000,
    retry: { retries: c.retries, initialRetryTime: 200, maxRetryTime: 5000 },
  });
  return {
    async run(onBatch, onFatal) {
      consumer.on(consumer.events.GROUP_JOIN, (event) => {
        const assigned = event.payload.memberAssignment[options.topic] ?? [];
        c.log.info(`${c.name}: joined group ${event.payload.groupId}: partitions [${assigned.join(',')}]`);
      });
      consumer.on(consumer.events.CRASH, (event) => {
        c.log.warn(`${c.name}: Kafka consumer failed: ${event.payload.error.message}`, `${c.name} crash`);
        if (!event.payload.restart) onFatal(event.payload.error);
      });
      await consumer.connect();
      await consumer.subscribe({ topic: options.topic, fromBeginning: options.start === 'earliest' });
      const start = options.start;
      if (typeof start === 'bigint') {
        // An absolute offset applies to every partition (gor's rule), once, when partitions are assigned.
        let seeked = false;
        consumer.on(consumer.events.GROUP_JOIN, (event) => {
          if (seeked) return;
          seeked = true;
          const assigned = event.payload.memberAssignment[options.topic] ?? [];
          for (const partition of assigned) consumer.seek({ topic: options.topic, partition, offset: String(start) });
        });
      }
      await consumer.run({
        autoCommit: options.group !== undefined,
        eachBatchAutoResolve: true,
        partitionsConsumedConcurrently: 4,
        eachBatch: async ({ batch }) => {
          const last = batch.messages.length > 0 ? BigInt(batch.lastOffset()) : -1n;
          const lag = last < 0n ? 0 : Number(BigInt(batch.highWatermark) - last - 1n);
          await onBatch({
            partition: batch.partition,
            records: batch.messages.map((m) => ({ offset: m.offset, key: m.key, value: m.value })),
            lag: Math.max(0, lag),
          });
        },
      });
    },
    close: () => consumer.disconnect(),
  };
}
