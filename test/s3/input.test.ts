/**
 * --input-file s3://… against s3rver (started in this process on port 0): which keys a pattern takes (prefix, or
 * glob element by element), objects merged by timestamp as local files are (interleaved across objects, out of
 * order within one, plain and gzip), original pacing, and the staging directory removed at the end.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { isTaplineError } from '../../src/core/errors.js';
import { encodeRecord } from '../../src/core/gor-format.js';
import { memoryLogger } from '../../src/core/log.js';
import { type Message, makeMeta } from '../../src/core/message.js';
import { keyMatcher, s3Input } from '../../src/inputs/s3.js';
import { S3TestServer } from '../support/s3-server.js';

const s3 = new S3TestServer();
const buffer = mkdtempSync(join(tmpdir(), 'tapline-s3-in-'));
const T0 = 1_700_000_000_000_000_000n;

after(async () => {
  await s3.stop();
  rmSync(buffer, { recursive: true, force: true });
});

function record(ms: number): Message {
  return {
    meta: makeMeta({
      type: '1',
      id: ms.toString(16).padStart(24, '0'),
      timestampNs: T0 + BigInt(ms) * 1_000_000n,
      latencyNs: 0n,
    }),
    data: Buffer.from(`GET /t/${ms} HTTP/1.1\r\nHost: a\r\n\r\n`),
  };
}

async function put(key: string, body: Buffer): Promise<void> {
  await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: body }));
}

async function readAll(
  pattern: string,
  speed = Number.POSITIVE_INFINITY,
  log = memoryLogger(),
): Promise<{ ms: number[]; stats: Record<string, number | string> }> {
  const input = s3Input(s3.client, {
    location: { bucket: s3.bucket, key: pattern },
    speed,
    bufferDir: buffer,
    log,
  });
  const ms: number[] = [];
  for await (const batch of input.read())
    for (const m of batch) ms.push(Number((m.meta.timestampNs - T0) / 1_000_000n));
  return { ms, stats: input.stats!() };
}

before(async () => {
  await s3.start();
  // Two writers' chunks: timestamps interleave across objects; one record out of order inside an object.
  await put('logs/a_0.gor', Buffer.concat([0, 20, 10, 40].map((t) => encodeRecord(record(t)))));
  await put('logs/b_0.gor.gz', gzipSync(Buffer.concat([5, 15, 35].map((t) => encodeRecord(record(t))))));
  await put('logs/sub/c_0.gor', encodeRecord(record(25)));
  await put('logs-old/z.gor', encodeRecord(record(1)));
});

test('keys: no glob character means a prefix (gor PRO); a glob matches element by element', () => {
  const prefix = keyMatcher('logs/');
  assert.equal(prefix.prefix, 'logs/');
  assert.ok(prefix.matches('logs/sub/c_0.gor'));
  const glob = keyMatcher('logs/*.gor*');
  assert.equal(glob.prefix, 'logs/');
  assert.ok(glob.matches('logs/a_0.gor'));
  assert.ok(glob.matches('logs/b_0.gor.gz'));
  assert.ok(!glob.matches('logs/sub/c_0.gor'), '* does not cross /');
  assert.ok(keyMatcher('logs/*/c_?.gor').matches('logs/sub/c_0.gor'));
});

test('objects merged by timestamp, as local files are: across objects, gzip or not, window-sorted inside one', async () => {
  const { ms, stats } = await readAll('logs/*.gor*');
  assert.deepEqual(ms, [0, 5, 10, 15, 20, 35, 40]);
  assert.equal(stats.objects, 2);
  assert.equal(stats.records, 7);
  const prefix = await readAll('logs/');
  assert.deepEqual(prefix.ms, [0, 5, 10, 15, 20, 25, 35, 40], 'the prefix takes logs/sub/ too, not logs-old/');
  assert.deepEqual(readdirSync(buffer), [], 'the staging directory is removed');
});

test('original pacing: 40 ms of recorded time take about 40 ms (never less)', async () => {
  const started = performance.now();
  const { ms } = await readAll('logs/*.gor*', 1);
  assert.equal(ms.length, 7);
  assert.ok(performance.now() - started >= 35, 'the replay waited between records');
});

test('nothing matching is an error naming the address; a malformed glob is a usage error', async () => {
  await assert.rejects(readAll('nope/*'), /no object matches s3:\/\/tapline-test\/nope\/\*/);
  assert.throws(
    () => s3Input(s3.client, { location: { bucket: s3.bucket, key: 'logs/[' }, log: memoryLogger() }),
    /TAPLINE_ERR_USAGE|bad glob/,
  );
});

test('close() during the downloads ends the input quietly and removes the staging directory', async () => {
  const input = s3Input(s3.client, {
    location: { bucket: s3.bucket, key: 'logs/' },
    bufferDir: buffer,
    log: memoryLogger(),
  });
  const it = input.read()[Symbol.asyncIterator]();
  const first = it.next();
  await input.close();
  const result = await first;
  assert.equal(result.done, true);
  assert.deepEqual(readdirSync(buffer), []);
});

test('a bad record or a cut gzip object is named by its S3 key, not by the staged copy (a file gone at the end)', async () => {
  await put('bad/notes.txt', Buffer.from('not a gor file at all\n'));
  await put('bad/cut.gor.gz', gzipSync(encodeRecord(record(7))).subarray(0, 20));
  const log = memoryLogger();
  await assert.rejects(readAll('bad/', Number.POSITIVE_INFINITY, log), /see the warnings above/);
  const text = log.lines.join('\n');
  assert.match(text, /s3:\/\/tapline-test\/bad\/notes\.txt: record 1 \(byte 0\)/);
  assert.match(text, /s3:\/\/tapline-test\/bad\/cut\.gor\.gz: cannot read/);
  assert.doesNotMatch(text, /tapline-s3-|\d{6}_/, text);
});

/**
 * A client of the same s3rver that deletes `doomed` keys (through another client) just before it asks for them:
 * the race of a retention job between the listing and the download, made certain.
 */
function clientThatLosesObjects(doomed: Set<string>): S3Client {
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Bucket?: string; Key?: string };
      if (context.commandName === GetObjectCommand.name && input.Key && doomed.has(input.Key))
        await s3.client.send(new DeleteObjectCommand({ Bucket: input.Bucket, Key: input.Key }));
      return next(args);
    },
    { step: 'initialize' },
  );
  return client;
}

test('an object deleted between the listing and its download is warned and counted; the others are replayed, then exit 1', async () => {
  await put('gone/a.gor', Buffer.concat([1, 3].map((t) => encodeRecord(record(t)))));
  await put('gone/b.gor', Buffer.concat([2, 4].map((t) => encodeRecord(record(t)))));
  const client = clientThatLosesObjects(new Set(['gone/a.gor']));
  const log = memoryLogger();
  const input = s3Input(client, { location: { bucket: s3.bucket, key: 'gone/' }, bufferDir: buffer, log });
  const ms: number[] = [];
  try {
    await assert.rejects(
      (async () => {
        for await (const batch of input.read())
          for (const m of batch) ms.push(Number((m.meta.timestampNs - T0) / 1_000_000n));
      })(),
      (err: unknown) =>
        isTaplineError(err) &&
        err.code === 'TAPLINE_ERR_FILE_IO' &&
        /1 object was deleted between the listing and the download \(see the warnings above\); the other objects were replayed/.test(
          err.message,
        ),
    );
  } finally {
    client.destroy();
  }
  assert.deepEqual(ms, [2, 4], 'the other object is replayed');
  assert.equal(input.stats!().objects_gone, 1);
  assert.equal(input.stats!().objects, 1);
  assert.match(
    log.lines.join('\n'),
    /s3:\/\/tapline-test\/gone\/a\.gor: cannot download: NoSuchKey.*deleted after the listing/,
  );
  assert.deepEqual(readdirSync(buffer), [], 'the staging directory is removed');
});

test('every object listed deleted before its download: the error says so, nothing replayed', async () => {
  await put('allgone/a.gor', encodeRecord(record(1)));
  const client = clientThatLosesObjects(new Set(['allgone/a.gor']));
  const log = memoryLogger();
  const input = s3Input(client, { location: { bucket: s3.bucket, key: 'allgone/' }, bufferDir: buffer, log });
  try {
    await assert.rejects(async () => {
      for await (const _ of input.read()) assert.fail('nothing to replay');
    }, /1 object was deleted between the listing and the download/);
  } finally {
    client.destroy();
  }
  assert.equal(input.stats!().objects_gone, 1);
});
