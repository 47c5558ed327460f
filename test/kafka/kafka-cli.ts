/**
 * Helpers for the Kafka tests: .gor fixtures, and running a tapline Kafka reader until it has printed a
 * number of records (Kafka inputs never end on their own).
 */
import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { encodeRecord, SEPARATOR } from '../../src/core/gor-format.js';
import { type Message, makeMeta } from '../../src/core/message.js';
import { rdkafkaAddon, rdkafkaUnavailable } from '../../src/kafka/rdkafka-producer.js';
import { type CliResult, collect, startTapline } from '../support/cli.js';

/**
 * The producer clients a test runs with: librdkafka (skipped, saying why, when its addon is not built) and
 * kafkajs.
 */
export const PRODUCER_CLIENTS: { client: 'librdkafka' | 'kafkajs'; skip: string | false }[] = [
  { client: 'librdkafka', skip: rdkafkaAddon() ? false : rdkafkaUnavailable() },
  { client: 'kafkajs', skip: false },
];

/**
 * Runs `body` with `vars` set in this process's environment, which the tapline processes it starts inherit;
 * the tests of a file run one at a time, so no other test sees them.
 */
export async function withEnv<T>(vars: Record<string, string>, body: () => Promise<T>): Promise<T> {
  const before = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await body();
  } finally {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** Runs `body` with TAPLINE_KAFKA_CLIENT=`client` for the tapline processes it starts. */
export const withKafkaClient = <T>(client: string, body: () => Promise<T>): Promise<T> =>
  withEnv({ TAPLINE_KAFKA_CLIENT: client }, body);

/** A request and its response per id, with bytes that stress framing (LF, CR, NUL, 0xff, a fake separator). */
export function exchange(i: number, id = `${i.toString(16).padStart(24, '0')}`): Message[] {
  const ts = 1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n;
  const body = Buffer.concat([Buffer.from(`{"n":${i},"s":"a\\nb"}\n\r\0`), Buffer.from([0xff, 0xfe])]);
  const request = Buffer.concat([
    Buffer.from(
      `POST /items/${i}?x=<y> HTTP/1.1\r\nHost: shop.test\r\nX-Req: ${i}\r\nContent-Length: ${body.length}\r\n\r\n`,
    ),
    body,
  ]);
  const response = Buffer.from(`HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok`);
  return [
    { meta: makeMeta({ type: '1', id, timestampNs: ts, latencyNs: 0n }), data: request },
    { meta: makeMeta({ type: '2', id, timestampNs: ts + 500_000n, latencyNs: 500_000n }), data: response },
  ];
}

export async function writeGor(file: string, messages: readonly Message[]): Promise<void> {
  await writeFile(file, Buffer.concat(messages.map(encodeRecord)));
}

/** `<meta>\n<data>` of each record in a .gor stream. */
export function splitGor(stream: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (let i = stream.indexOf(SEPARATOR); i !== -1; i = stream.indexOf(SEPARATOR, at)) {
    out.push(stream.subarray(at, i));
    at = i + SEPARATOR.length;
  }
  return out;
}

const count = (buf: Buffer) => {
  let n = 0;
  for (let i = buf.indexOf(SEPARATOR); i !== -1; i = buf.indexOf(SEPARATOR, i + 1)) n++;
  return n;
};

/**
 * Starts tapline with `args` (a Kafka input and --output-stdout), stops it with SIGINT once `records` records
 * are on stdout (or after `timeoutMs`, which the caller's assertions then catch), and returns the result.
 */
export function runUntilRecords(
  args: string[],
  records: number,
  timeoutMs = 20_000,
): Promise<CliResult & { child: ChildProcess }> {
  const child = startTapline(args);
  let seen = Buffer.alloc(0);
  const timer = setTimeout(() => child.kill('SIGINT'), timeoutMs);
  child.stdout!.on('data', (d: Buffer) => {
    seen = Buffer.concat([seen, d]);
    if (count(seen) >= records) {
      clearTimeout(timer);
      child.kill('SIGINT');
    }
  });
  return collect(child, timeoutMs + 10_000).then((r) => {
    clearTimeout(timer);
    return { ...r, child };
  });
}
