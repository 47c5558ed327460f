/**
 * `--output-kafka-host B --output-kafka-topic T`: every message to a Kafka topic, raw (`meta LF payload`) or
 * as gor's JSON (spec §9.2), so gor and tapline can share a topic. Beyond gor: keys by message id (a request
 * and its responses land in one partition, so one consumer of a group sees both), batching, gzip, retries,
 * delivery reports counted in stats (acked, failed), backpressure instead of an unbounded queue.
 *
 *   write(msg) ─encode into─▶ [pending batch: one buffer] ──batch-size / 2 MiB reached or linger elapsed──▶ producer.send()
 *                                                                  (at most max-in-flight at once)
 *   write() returns a promise while max-in-flight sends are outstanding: the pipeline waits (backpressure),
 *   until the run stops (stopping()): then what the pipeline still holds is sent at once, so every delivery
 *   clock starts at the stop and an absent broker holds the stop for one retry budget, not two.
 *   acked/failed are counted when each send settles; close() flushes and waits for every delivery report.
 */
import { ERROR_CODES, TaplineError } from '../core/errors.js';
import type { FlagSet } from '../core/flags.js';
import type { Message } from '../core/message.js';
import type { Output, PluginContext } from '../core/plugin.js';
import type { OutputPluginDef } from '../core/registry.js';
import {
  createProducer,
  isMessageTooLarge,
  isUnknownTopic,
  type KafkaProducer,
  unknownTopicText,
} from '../kafka/client.js';
import { connectionFrom } from '../kafka/flags.js';
import { encodeValue, type KafkaFormat } from '../kafka/message-codec.js';
import { type RecordBatch, RecordBatchBuilder, rawRecordSize, sliceBatch } from '../kafka/record-batch.js';
import { kafkaOutputDecl } from './kafka-flags.js';

export interface KafkaOutputOptions {
  topic: string;
  /** Named in the error when the brokers say the topic does not exist. */
  brokers?: readonly string[];
  format: KafkaFormat;
  /** Key each message by its id (default) or send no key (gor: random partition). */
  keyById: boolean;
  batchSize: number;
  lingerMs: number;
  maxInFlight: number;
  /**
   * How long close() waits in silence for outstanding acknowledgements before it says what it waits for
   * (default 2 s): with no broker answering, the client gives up only after its retries, about a minute.
   */
  closeNoticeMs?: number;
}

const CLOSE_NOTICE_MS = 2000;

export function kafkaOutput(producer: KafkaProducer, options: KafkaOutputOptions, ctx: PluginContext): Output {
  const name = `output-kafka(${options.topic})`;
  let pending: RecordBatchBuilder | undefined;
  // The next batch's starting buffer: the last batch's size and some room (2 MiB at full speed, small for
  // a trickle of messages).
  let nextCapacity = 64 << 10;
  let timer: NodeJS.Timeout | undefined;
  const inFlight = new Set<Promise<void>>();
  let inFlightMessages = 0;
  let room: { promise: Promise<void>; resolve: () => void } | undefined;
  let released = false;
  const counters = { messages: 0, bytes: 0, acked: 0, failed: 0, batches: 0, batches_split: 0, encode_errors: 0 };
  const started = Date.now();
  let connected: Promise<void> | undefined;
  /** connect() was called at least once: close() must close the producer, even after a failed send. */
  let opened = false;
  /**
   * Set when the brokers said the topic does not exist: every later message would wait out the client's
   * retries (30–45 s) to fail the same way, so write() refuses them (the pipeline counts them as lost and,
   * with no other output, stops the run) and close() fails with it.
   */
  let missingTopic: TaplineError | undefined;

  const freeRoom = () => {
    if (room && inFlight.size < options.maxInFlight) {
      room.resolve();
      room = undefined;
    }
  };

  /**
   * Sends a batch; resolves with how many of its messages were not delivered and the first failure. A batch
   * the broker refused whole as too large (MESSAGE_TOO_LARGE: a partition's share of a produce request is over
   * message.max.bytes, 1 MiB by default, while a batch here goes up to 2 MiB) is sent again in halves, down to
   * single messages; before, all of it was lost. Only a batch of which nothing was delivered is split, so no
   * message goes twice.
   */
  const deliver = async (batch: RecordBatch): Promise<Delivery> => {
    try {
      await producer.send(options.topic, batch);
      return { failed: 0 };
    } catch (err) {
      // librdkafka reports per message: the rest of the batch was delivered.
      const failed = (err as { failed?: number }).failed ?? batch.count;
      if (!isMessageTooLarge(err)) return { failed, err };
      if (failed < batch.count || batch.count < 2) return { failed, err, largest: largestRecord(batch) };
      counters.batches_split++;
      const half = batch.count >> 1;
      const first = await deliver(sliceBatch(batch, 0, half));
      const second = await deliver(sliceBatch(batch, half, batch.count));
      const largest = Math.max(first.largest ?? 0, second.largest ?? 0);
      return { failed: first.failed + second.failed, err: first.err ?? second.err, ...(largest ? { largest } : {}) };
    }
  };

  const flush = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (!pending || pending.count === 0) return;
    const batch = pending;
    pending = undefined;
    nextCapacity = batch.size + (batch.size >> 3) + 4096;
    counters.batches++;
    inFlightMessages += batch.count;
    opened = true;
    connected ??= producer.connect();
    const send: Promise<void> = connected
      .then(() => deliver(batch))
      .catch((err: unknown) => ({ failed: batch.count, err }))
      .then(({ failed, err, largest }: Delivery) => {
        counters.acked += batch.count - failed;
        if (failed === 0) return;
        connected = undefined; // reconnect for the next batch
        // After the client's retries: these messages are lost, so they are counted and said, never silent.
        counters.failed += failed;
        let reason = (err as Error).message;
        if (largest !== undefined) reason = tooLargeText(largest);
        else if (isUnknownTopic(err)) {
          reason = unknownTopicText(options.topic, options.brokers ?? [], false);
          missingTopic ??= new TaplineError(ERROR_CODES.PEER, unknownTopicText(options.topic, options.brokers ?? []));
        }
        ctx.log.warn(`${name}: ${failed} message(s) not delivered: ${reason}`, `${name} send`);
      })
      .finally(() => {
        inFlight.delete(send);
        inFlightMessages -= batch.count;
        freeRoom();
      });
    inFlight.add(send);
  };

  return {
    name,
    write(msg: Message) {
      if (missingTopic) throw missingTopic;
      const key = options.keyById ? msg.meta.id : null;
      // Raw values are written straight into the batch's buffer; JSON ones are encoded, then copied.
      let json: Buffer | undefined;
      try {
        if (options.format !== 'raw') json = encodeValue(msg, options.format);
      } catch (err) {
        counters.encode_errors++;
        ctx.log.warn(`${name}: message ${msg.meta.id} not sent: ${(err as Error).message}`, `${name} encode`);
        return;
      }
      const size = json ? json.length + (key === null ? 0 : key.length) : rawRecordSize(msg.meta, msg.data, key);
      pending ??= new RecordBatchBuilder(Math.max(size, nextCapacity));
      pending.reserve(size);
      const before = pending.size;
      if (json) pending.addValue(json, key);
      else pending.addRaw(msg.meta, msg.data, key);
      counters.messages++;
      counters.bytes += pending.size - before - (key === null ? 0 : key.length);
      if (pending.count >= options.batchSize || pending.size >= 2 << 20) flush();
      else timer ??= setTimeout(flush, options.lingerMs);
      if (released || inFlight.size < options.maxInFlight) return;
      if (!room) {
        let resolve!: () => void;
        const promise = new Promise<void>((r) => {
          resolve = r;
        });
        room = { promise, resolve };
      }
      return room.promise;
    },
    stopping() {
      released = true;
      room?.resolve();
      room = undefined;
    },
    async drain() {
      flush();
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
    async close() {
      flush();
      // A silent wait of a minute looks like a hang: after a moment, say what is awaited and how it ends.
      const notice = setTimeout(() => {
        ctx.log.warn(
          `${name}: waiting for the broker to acknowledge ${inFlightMessages} message(s) before closing; the ` +
            'client gives them up after its retries (--output-kafka-retries) and they count as failed ' +
            '(to exit without waiting: SIGINT twice, or once more if tapline already said it is stopping)',
          `${name} close-wait`,
        );
      }, options.closeNoticeMs ?? CLOSE_NOTICE_MS);
      try {
        while (inFlight.size > 0) await Promise.all([...inFlight]);
      } finally {
        clearTimeout(notice);
      }
      // Not `connected`: a failed send clears it (to reconnect), and a producer left open kept its poll
      // thread running into process exit.
      if (opened) await producer.close().catch(() => undefined);
      // The run's error line and exit status say why everything failed (each failed message is counted).
      if (missingTopic) throw missingTopic;
    },
    stats() {
      const seconds = Math.max(0.001, (Date.now() - started) / 1000);
      return {
        ...counters,
        in_flight_batches: inFlight.size,
        // Messages sent and awaiting their delivery report: with `queued`, what is neither acked nor failed
        // (a second SIGINT leaves without them; the summary it prints shows how many).
        in_flight: inFlightMessages,
        queued: pending?.count ?? 0,
        acked_per_s: Math.round(counters.acked / seconds),
        client: producer.client,
      };
    },
  };
}

function positive(flags: FlagSet, flag: string): number {
  const n = flags.number(flag);
  if (!(n > 0)) throw new TaplineError(ERROR_CODES.USAGE, 'must be > 0', { where: `--${flag}` });
  return n;
}

export const kafkaOutputPlugin: OutputPluginDef = {
  ...kafkaOutputDecl,
  create({ address, flags, ctx }) {
    const prefix = 'output-kafka';
    const { connection, topic } = connectionFrom(address, flags, prefix, ctx.log);
    const key = flags.string('output-kafka-key');
    if (key !== 'id' && key !== 'none') {
      throw new TaplineError(ERROR_CODES.USAGE, `expected id or none, got ${JSON.stringify(key)}`, {
        where: '--output-kafka-key',
      });
    }
    const compression = flags.string('output-kafka-compression');
    if (compression !== 'none' && compression !== 'gzip') {
      throw new TaplineError(ERROR_CODES.USAGE, `expected none or gzip, got ${JSON.stringify(compression)}`, {
        where: '--output-kafka-compression',
      });
    }
    const acks = flags.number('output-kafka-acks');
    if (acks !== 1 && acks !== -1 && acks !== 0) {
      throw new TaplineError(ERROR_CODES.USAGE, `expected 1, -1 or 0, got ${acks}`, { where: '--output-kafka-acks' });
    }
    const producer = createProducer(connection, { compression, acks });
    return kafkaOutput(
      producer,
      {
        topic,
        brokers: connection.brokers,
        format: flags.bool('output-kafka-json-format') ? 'json' : 'raw',
        keyById: key === 'id',
        batchSize: positive(flags, 'output-kafka-batch-size'),
        lingerMs: flags.number('output-kafka-linger'),
        maxInFlight: positive(flags, 'output-kafka-max-in-flight'),
      },
      ctx,
    );
  },
};

/** How a send ended: messages not delivered, the first failure, and for messages refused as too large the largest. */
interface Delivery {
  failed: number;
  err?: unknown;
  largest?: number;
}

/** Bytes of the batch's largest record (key and value). */
function largestRecord(batch: RecordBatch): number {
  let largest = 0;
  for (let s = 0; s < batch.spans.length; s += 4) {
    largest = Math.max(largest, batch.spans[s + 1]! + Math.max(0, batch.spans[s + 3]!));
  }
  return largest;
}

/**
 * Why messages the broker refused as too large were lost: the clients said only 'Broker: Message size too large'
 * or 'The request included a message larger than the max message size the server will accept', naming neither
 * the size nor the setting. A batch is split down to single messages first, so what fails is a message (or, with
 * librdkafka, its batch for one partition) over the limit.
 */
export function tooLargeText(largest: number): string {
  return (
    `the broker refused them as too large (MESSAGE_TOO_LARGE): the largest message of their batch is ${largest} bytes ` +
    '(key and value), ' +
    "and a broker takes a partition's record batch up to its message.max.bytes (the topic's max.message.bytes), " +
    '1 MiB by default: raise that on the brokers or the topic, or cut payloads with --copy-buffer-size'
  );
}
