/**
 * Debian's `kcat` (librdkafka) as an independent Kafka client for cross-checks: what tapline produces, kcat
 * must read byte for byte, and what kcat produces, tapline must read. Values go through files (one file = one
 * message) and come back length-prefixed, so binary payloads with newlines survive both ways.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface KcatRecord {
  partition: number;
  offset: number;
  key: Buffer | null;
  value: Buffer;
}

/**
 * Produces each value as one message (to `partition`, or spread by librdkafka's partitioner), compressed with
 * `compression` (kcat's -z: snappy, lz4, zstd, gzip) when given.
 */
export async function kcatProduce(
  bootstrap: string,
  topic: string,
  values: readonly Buffer[],
  partition?: number,
  compression?: string,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tapline-kcat-'));
  try {
    const files = await Promise.all(
      values.map(async (v, i) => {
        const f = join(dir, `m${String(i).padStart(6, '0')}`);
        await writeFile(f, v);
        return f;
      }),
    );
    const part = partition === undefined ? [] : ['-p', String(partition)];
    const codec = compression === undefined ? [] : ['-z', compression];
    await run('kcat', ['-P', '-b', bootstrap, '-t', topic, ...part, ...codec, ...files], { timeout: 20_000 });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Reads every message of `topic` from the beginning of each partition to its current end. */
export async function kcatConsume(bootstrap: string, topic: string): Promise<KcatRecord[]> {
  const { stdout } = await run(
    'kcat',
    ['-C', '-b', bootstrap, '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%p %o %K %S\n%k%s'],
    { timeout: 20_000, encoding: 'buffer', maxBuffer: 512 << 20 },
  );
  const out: KcatRecord[] = [];
  let at = 0;
  while (at < stdout.length) {
    const nl = stdout.indexOf(0x0a, at);
    if (nl === -1) throw new Error(`kcat output cut short at byte ${at}`);
    const [p, o, k, s] = stdout.toString('latin1', at, nl).split(' ').map(Number) as [number, number, number, number];
    at = nl + 1;
    const key = k < 0 ? null : stdout.subarray(at, at + k);
    at += Math.max(0, k);
    const value = stdout.subarray(at, at + Math.max(0, s));
    at += Math.max(0, s);
    out.push({ partition: p, offset: o, key, value });
  }
  return out;
}
