/**
 * `--input-kafka-host B --input-kafka-topic T`: messages from a Kafka topic, raw or gor JSON (spec §9.2).
 * Without a group it reads every partition from `--input-kafka-offset` and commits nothing (gor). With
 * `--input-kafka-group G` (tapline only) several processes split the partitions, each message goes to one of
 * them, and offsets are committed once a batch has entered the pipeline.
 *
 *   kafka client ──eachBatch──▶ decode ──▶ [Channel, bounded] ──read()──▶ pacing (offset ≠ -1) ──▶ pipeline
 *        ▲ eachBatch waits while the channel is full: no fetch (and no commit) runs ahead of the pipeline
 *        ▲ paced: eachBatch waits until its messages are passed on, and says how many were (a stop leaves the
 *          rest, and they are neither committed nor counted: the group's next reader replays them)
 *
 * A value that cannot be decoded is counted (bad_messages) and named in a warning with its partition and
 * offset; gor crashes on some of them and silently drops others.
 */
import { Channel, sleep } from '../core/async.js';
import { describeError, ERROR_CODES, TaplineError } from '../core/errors.js';
import type { Message } from '../core/message.js';
import type { Batch, Input, PluginContext } from '../core/plugin.js';
import { type InputPluginDef, limitInput } from '../core/registry.js';
import { splitLimit } from '../core/values.js';
import { type BatchHandler, type ConsumerOptions, createConsumer, type KafkaConsumer } from '../kafka/client.js';
import { connectionFrom } from '../kafka/flags.js';
import { decodeValue, type KafkaFormat } from '../kafka/message-codec.js';
import { kafkaInputDecl } from './kafka-flags.js';

export interface KafkaInputOptions {
  topic: string;
  format: KafkaFormat;
  /** gor paces by message timestamps unless the offset is -1; 1 = recorded speed. Undefined: no pacing. */
  speed?: number;
  /** Messages buffered between the client and the pipeline. */
  capacity?: number;
}

export function kafkaInput(consumer: KafkaConsumer, options: KafkaInputOptions, ctx: PluginContext): Input {
  const name = `input-kafka(${options.topic})`;
  const channel = new Channel<Message>(options.capacity ?? 4096);
  const counters = { messages: 0, bytes: 0, bad_messages: 0, empty_values: 0, batches: 0, left_at_stop: 0 };
  const lagByPartition = new Map<number, number>();
  const stop = new AbortController();
  let fatal: Error | undefined;
  let firstAt = 0;
  // Paced, a batch waits in the channel for its time; a stop there must not count it as read (a group would
  // commit it, and its next reader skip it). Messages are numbered as they enter the channel; `passedOn` is
  // how many of them read() has handed to the pipeline, in the same order.
  const paced = options.speed !== undefined;
  let offered = 0;
  let passedOn = 0;
  const passWaiters: (() => void)[] = [];
  const passed = (n: number) => {
    passedOn += n;
    for (const wake of passWaiters.splice(0)) wake();
  };
  const untilPassed = async (target: number) => {
    while (passedOn < target && !stop.signal.aborted) await new Promise<void>((r) => passWaiters.push(r));
  };
  stop.signal.addEventListener('abort', () => passed(0), { once: true });
  /** A paced read stopped: what entered the channel and was not passed on is not counted as read. */
  const leftAtStop = () => {
    const left = offered - passedOn;
    counters.left_at_stop += left;
    counters.messages -= left;
    offered = passedOn;
  };

  const onBatch: BatchHandler = async (batch) => {
    // After a stop the channel takes nothing more: a batch the client still hands over is left unhandled.
    if (stop.signal.aborted) return 0;
    counters.batches++;
    // needed[i]: how many messages must be passed on for records 0..i to be handled (bad ones need nothing more).
    const needed: number[] = [];
    let bytes = 0;
    for (const r of batch.records) {
      if (!r.value || r.value.length === 0) {
        counters.empty_values++;
        ctx.log.warn(`${name}: partition ${batch.partition} offset ${r.offset}: empty value skipped`, `${name} empty`);
      } else {
        try {
          channel.offer(decodeValue(r.value, options.format));
          offered++;
          counters.messages++;
          bytes += r.value.length;
        } catch (err) {
          counters.bad_messages++;
          ctx.log.warn(
            `${name}: partition ${batch.partition} offset ${r.offset}: not a ${options.format} gor message: ${describeError(err)}`,
            `${name} bad`,
          );
        }
      }
      needed.push(offered);
    }
    counters.bytes += bytes;
    lagByPartition.set(batch.partition, batch.lag);
    if (firstAt === 0 && counters.messages > 0) firstAt = Date.now();
    if (!paced) {
      await channel.room();
      return undefined; // the channel is drained to the pipeline even after a stop: all handled
    }
    await untilPassed(offered);
    let handled = 0;
    while (handled < needed.length && needed[handled]! <= passedOn) handled++;
    return handled;
  };

  return {
    name,
    async *read(): AsyncGenerator<Batch> {
      const running = consumer.run(onBatch, (err) => {
        fatal = err;
        channel.close();
      });
      // Connecting to brokers that do not answer retries for up to a minute (--input-kafka-retries): a stop
      // (--exit-after, SIGINT) must not wait for that. close() disconnects the client meanwhile.
      const stopped = new Promise<void>((resolve) =>
        stop.signal.addEventListener('abort', () => resolve(), { once: true }),
      );
      await Promise.race([running, stopped]);
      if (stop.signal.aborted) {
        running.catch(() => undefined);
        return;
      }
      await running;
      const pace = options.speed === undefined ? undefined : new KafkaPacer(options.speed);
      for await (const batch of channel.drain()) {
        if (!pace) {
          yield batch;
          continue;
        }
        let from = 0;
        for (let i = 0; i < batch.length; i++) {
          const wait = pace.waitMs(batch[i]!);
          if (wait <= 0) continue;
          if (i > from) {
            passed(i - from);
            yield batch.slice(from, i);
          }
          from = i;
          await sleep(wait, stop.signal);
          if (stop.signal.aborted) {
            leftAtStop();
            return;
          }
        }
        if (from < batch.length) {
          passed(batch.length - from);
          yield from === 0 ? batch : batch.slice(from);
        }
      }
      if (fatal) {
        // No `where`: the pipeline names the input already ('input-kafka(t): input-kafka(t): …' otherwise).
        throw new TaplineError(ERROR_CODES.PEER, `the Kafka client gave up: ${fatal.message}`, { cause: fatal });
      }
    },
    async close() {
      stop.abort();
      channel.close();
      await consumer.close().catch(() => undefined);
    },
    stats() {
      let lag = 0;
      for (const l of lagByPartition.values()) lag += l;
      const seconds = firstAt === 0 ? 0 : (Date.now() - firstAt) / 1000;
      return {
        ...counters,
        partitions: lagByPartition.size,
        lag,
        restarts: consumer.restarts(),
        skipped_rereads: consumer.skippedRereads(),
        messages_per_s: seconds > 0 ? Math.round(counters.messages / seconds) : 0,
      };
    },
  };
}

/**
 * gor's Kafka pacing (spec §5.5): wait `((ts − prevTs) − wall time since the previous message) / speed` when
 * positive. Messages whose timestamp is not a number are not paced.
 */
export class KafkaPacer {
  private prevTs: bigint | undefined;
  private prevWall = 0;

  /** `clock` in milliseconds; tests pass their own, so the formula is checked without real time. */
  constructor(
    private readonly speed: number,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  waitMs(msg: Message): number {
    const now = this.clock();
    const ts = msg.meta.badTimestamp ? undefined : msg.meta.timestampNs;
    let wait = 0;
    if (ts !== undefined && this.prevTs !== undefined) {
      const gapMs = Number(ts - this.prevTs) / 1e6;
      wait = (gapMs - (now - this.prevWall)) / this.speed;
    }
    if (ts !== undefined) this.prevTs = ts;
    this.prevWall = now + Math.max(0, wait);
    return wait;
  }
}

const MAX_OFFSET = 2n ** 63n - 1n;

/** `-1` newest, `-2` oldest, `N` every partition from N; an optional `|N%` speed (gor). */
export function parseKafkaOffset(text: string): { start: ConsumerOptions['start']; speed?: number } {
  const bad = (why: string) =>
    new TaplineError(ERROR_CODES.USAGE, `${JSON.stringify(text)}: ${why}`, { where: '--input-kafka-offset' });
  let parts: ReturnType<typeof splitLimit>;
  try {
    parts = splitLimit(text);
  } catch (err) {
    throw bad((err as Error).message);
  }
  const value = parts.address.trim();
  if (!/^-?\d+$/.test(value)) throw bad('expected -1 (newest), -2 (oldest) or an offset ≥ 0');
  const n = BigInt(value);
  if (n < -2n) throw bad('offsets below -2 mean nothing');
  // Kafka offsets are int64 (gor parses the flag as one and dies on more); a larger one was sent on as is.
  if (n > MAX_OFFSET) throw bad(`beyond the largest Kafka offset, ${MAX_OFFSET}`);
  const start: ConsumerOptions['start'] = n === -1n ? 'latest' : n === -2n ? 'earliest' : n;
  if (parts.limit.kind !== 'none' && parts.limit.kind !== 'percent')
    throw bad('only a |N% speed may follow the offset');
  if (n === -1n) return { start }; // gor: no pacing from the newest offset
  const speed = parts.limit.kind === 'percent' ? parts.limit.percent / 100 : 1;
  if (!(speed > 0)) throw bad('the speed must be > 0%');
  return { start, speed };
}

export const kafkaInputPlugin: InputPluginDef = {
  ...kafkaInputDecl,
  create({ address, limit, flags, ctx }) {
    // gor takes input-kafka's limit from the offset ('-2|200%': a speed, spec §5.1); on the host a percent
    // was a random drop here, which a gor user meaning a speed would not expect.
    if (limit.kind === 'percent' || limit.kind === 'max') {
      const given = limit.kind === 'max' ? 'max' : `${limit.percent}%`;
      throw new TaplineError(
        ERROR_CODES.USAGE,
        `|${given} on input-kafka is a replay speed, given on the offset as in gor: --input-kafka-offset '-2|${limit.kind === 'max' ? '100000' : limit.percent}%'`,
        { where: `--input-kafka-host ${address}|${given}` },
      );
    }
    const { connection, topic } = connectionFrom(address, flags, 'input-kafka', ctx.log);
    const { start, speed } = parseKafkaOffset(flags.string('input-kafka-offset'));
    const group = flags.string('input-kafka-group');
    const consumer = createConsumer(connection, { topic, start, ...(group ? { group } : {}) });
    const input = kafkaInput(
      consumer,
      { topic, format: flags.bool('input-kafka-json-format') ? 'json' : 'raw', ...(speed ? { speed } : {}) },
      ctx,
    );
    // `|N` on the host: at most N messages a second, the rest dropped and counted, as on other inputs.
    return limitInput(input, limit);
  },
};
