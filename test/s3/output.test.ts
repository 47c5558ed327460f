/**
 * --output-file s3://… against s3rver (test/support/s3-server.ts, started in this process on port 0): chunk
 * rotation by records, size and date, gor's `_<n>` numbering continued after what the bucket holds, gzip, a
 * multipart upload for a chunk above the part size, and a failed upload that keeps the chunk and says where.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { isTaplineError } from '../../src/core/errors.js';
import { encodeRecord } from '../../src/core/gor-format.js';
import { memoryLogger } from '../../src/core/log.js';
import { type Message, makeMeta } from '../../src/core/message.js';
import { s3Output } from '../../src/outputs/s3.js';
import { createS3Client, listObjects } from '../../src/storage/s3.js';
import { S3TestServer } from '../support/s3-server.js';

const s3 = new S3TestServer();
const buffer = mkdtempSync(join(tmpdir(), 'tapline-s3-buffer-'));
before(async () => {
  await s3.start();
  Object.assign(process.env, s3.env()); // for clients built the way the CLI builds them (standard AWS variables)
});
after(async () => {
  await s3.stop();
  rmSync(buffer, { recursive: true, force: true });
});

function message(n: number, bodyBytes = 10): Message {
  return {
    meta: makeMeta({
      type: '1',
      id: n.toString(16).padStart(24, '0'),
      timestampNs: 1_700_000_000_000_000_000n + BigInt(n),
      latencyNs: 0n,
    }),
    data: Buffer.concat([
      Buffer.from(`POST /r/${n} HTTP/1.1\r\nHost: a\r\n\r\n`),
      Buffer.alloc(bodyBytes, 97 + (n % 26)),
    ]),
  };
}

async function write(out: ReturnType<typeof s3Output>, messages: Message[]): Promise<void> {
  for (const m of messages) await out.write(m);
  await out.close();
}

async function keys(prefix: string): Promise<string[]> {
  return (await listObjects(s3.client, s3.bucket, prefix)).map((o) => o.key);
}

test('chunks of --output-file-queue-limit records, numbered as gor does, each uploaded byte-exact', async () => {
  const messages = Array.from({ length: 10 }, (_, i) => message(i));
  const out = s3Output(s3.client, {
    location: { bucket: s3.bucket, key: 'q/requests.gor' },
    queueLimit: 4,
    bufferDir: buffer,
    log: memoryLogger(),
  });
  await write(out, messages);
  assert.deepEqual(await keys('q/'), ['q/requests_0.gor', 'q/requests_1.gor', 'q/requests_2.gor']);
  const expected = [messages.slice(0, 4), messages.slice(4, 8), messages.slice(8)];
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(await s3.get(`q/requests_${i}.gor`), Buffer.concat(expected[i]!.map(encodeRecord)));
  }
  const stats = out.stats!();
  assert.equal(stats.chunks, 3);
  assert.equal(stats.uploaded, 3);
  assert.equal(stats.upload_failed, 0);
  assert.deepEqual(readdirSync(buffer), [], 'uploaded chunks are deleted from the buffer directory');
});

test('a date template and .gz: gzip chunks under the dated key; a new day starts a new chunk at _0', async () => {
  let now = new Date(2026, 0, 2, 23, 59, 0);
  const out = s3Output(s3.client, {
    location: { bucket: s3.bucket, key: 'd/traffic-%Y-%m-%d.gor.gz' },
    queueLimit: 0,
    bufferDir: buffer,
    now: () => now,
    log: memoryLogger(),
  });
  const first = [message(1), message(2)];
  for (const m of first) await out.write(m);
  now = new Date(2026, 0, 3, 0, 0, 1);
  await out.write(message(3));
  await out.close();
  // gor's numbering goes before the last extension: x.gor.gz → x.gor_0.gz (spec §6.2).
  assert.deepEqual(await keys('d/'), ['d/traffic-2026-01-02.gor_0.gz', 'd/traffic-2026-01-03.gor_0.gz']);
  assert.deepEqual(gunzipSync(await s3.get('d/traffic-2026-01-02.gor_0.gz')), Buffer.concat(first.map(encodeRecord)));
  assert.deepEqual(gunzipSync(await s3.get('d/traffic-2026-01-03.gor_0.gz')), encodeRecord(message(3)));
});

test('numbering continues after the highest chunk already in the bucket (a restart), others left alone', async () => {
  for (const key of ['r/x_7.gor', 'r/x_12.gor', 'r/x_3.gor', 'r/xsub/x_99.gor', 'r/x_5.gor.gz']) {
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: 'old' }));
  }
  const out = s3Output(s3.client, {
    location: { bucket: s3.bucket, key: 'r/x.gor' },
    queueLimit: 1,
    bufferDir: buffer,
    log: memoryLogger(),
  });
  await write(out, [message(1), message(2)]);
  assert.deepEqual(
    (await keys('r/x_1')).filter((k) => k.endsWith('.gor')),
    ['r/x_12.gor', 'r/x_13.gor', 'r/x_14.gor'],
  );
  assert.deepEqual(await s3.get('r/x_12.gor'), Buffer.from('old'));
  assert.deepEqual(await s3.get('r/x_14.gor'), encodeRecord(message(2)));
});

test('a chunk above the part size goes as a multipart upload and arrives whole', async () => {
  s3.requests.length = 0;
  const messages = Array.from({ length: 12 }, (_, i) => message(i, 1024 * 1024));
  const out = s3Output(s3.client, {
    location: { bucket: s3.bucket, key: 'm/big.gor' },
    queueLimit: 0,
    sizeLimit: 64 * 1024 * 1024,
    partSize: 5 * 1024 * 1024,
    bufferDir: buffer,
    log: memoryLogger(),
  });
  await write(out, messages);
  assert.deepEqual(await keys('m/'), ['m/big_0.gor']);
  const body = await s3.get('m/big_0.gor');
  assert.ok(body.equals(Buffer.concat(messages.map(encodeRecord))), 'the object is the records, byte for byte');
  const multipart = s3.multipartRequests();
  assert.ok(
    multipart.some((r) => r.method === 'POST' && /[?&]uploads\b/.test(r.url)),
    'a multipart upload was started',
  );
  assert.equal(
    multipart.filter((r) => r.method === 'PUT' && /partNumber=/.test(r.url)).length,
    3,
    '12+ MiB in 5 MiB parts',
  );
  assert.equal(out.stats!().multipart_uploads, 1);
});

test('size limit rotates too (compressed size for .gz is what counts)', async () => {
  const out = s3Output(s3.client, {
    location: { bucket: s3.bucket, key: 's/x.gor' },
    queueLimit: 0,
    sizeLimit: 300,
    bufferDir: buffer,
    log: memoryLogger(),
  });
  await write(
    out,
    Array.from({ length: 6 }, (_, i) => message(i, 100)),
  );
  assert.equal((await keys('s/')).length, 3);
});

test('an upload that fails keeps the chunk in the buffer directory, names it, and close() fails the output', async () => {
  const log = memoryLogger();
  const out = s3Output(s3.client, { location: { bucket: 'no-such-bucket', key: 'x.gor' }, bufferDir: buffer, log });
  await assert.rejects(
    write(out, [message(1)]),
    (err: unknown) =>
      isTaplineError(err) &&
      err.code === 'TAPLINE_ERR_PEER' &&
      /cannot list s3:\/\/no-such-bucket\/x\*/.test(err.message) &&
      /NoSuchBucket/.test(err.message),
  );
  // Listing passes but the upload is refused: a store that lists but denies writes (403 AccessDenied).
  const denying = createServer((req, res) => {
    req.resume();
    if (req.method === 'GET') {
      res.setHeader('content-type', 'application/xml');
      res.end(
        '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>b</Name><IsTruncated>false</IsTruncated></ListBucketResult>',
      );
      return;
    }
    res.statusCode = 403;
    res.setHeader('content-type', 'application/xml');
    res.end(
      '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>',
    );
  });
  await new Promise<void>((r) => denying.listen(0, '127.0.0.1', r));
  const kept = mkdtempSync(join(tmpdir(), 'tapline-s3-kept-'));
  const client = await createS3Client(
    { endpoint: `http://127.0.0.1:${(denying.address() as { port: number }).port}`, region: 'us-east-1' },
    'test',
  );
  try {
    const out2 = s3Output(client, { location: { bucket: 'b-denied', key: 'k/x.gor' }, bufferDir: kept, log });
    await out2.write(message(1));
    await assert.rejects(
      out2.close(),
      (err: unknown) => isTaplineError(err) && /1 chunk\(s\) not uploaded; kept in /.test(err.message),
    );
    const files = readdirSync(kept);
    assert.equal(files.length, 1);
    assert.deepEqual(readFileSync(join(kept, files[0]!)), encodeRecord(message(1)));
    assert.match(
      log.lines.join('\n'),
      /s3:\/\/b-denied\/k\/x_0\.gor not uploaded: AccessDenied.*\(HTTP 403\); its 1 records are kept in /,
    );
    assert.equal(out2.stats!().upload_failed, 1);
  } finally {
    client.destroy();
    denying.closeAllConnections();
    denying.close();
    rmSync(kept, { recursive: true, force: true });
  }
});

test('a store that takes the upload and never answers: the request times out, the chunk is kept and named (it hung for ever)', async () => {
  const sockets = new Set<import('node:net').Socket>();
  const silent = createServer((req, res) => {
    sockets.add(req.socket);
    req.resume();
    if (req.method === 'GET') {
      res.setHeader('content-type', 'application/xml');
      res.end(
        '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>b</Name><IsTruncated>false</IsTruncated></ListBucketResult>',
      );
    } // a PUT is never answered
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const kept = mkdtempSync(join(tmpdir(), 'tapline-s3-kept-'));
  const client = await createS3Client(
    {
      endpoint: `http://127.0.0.1:${(silent.address() as { port: number }).port}`,
      region: 'us-east-1',
      idleTimeoutMs: 300,
    },
    'test',
  );
  const log = memoryLogger();
  try {
    const out = s3Output(client, { location: { bucket: 'b-silent', key: 'x.gor' }, bufferDir: kept, log });
    await out.write(message(1));
    const closed = out.close().then(
      () => 'closed',
      (err: unknown) => err,
    );
    // While the upload waits, the stats name the chunk's local file: a run left then (a second SIGINT) says
    // where its records are (the summary said only 'uploading 1').
    for (let i = 0; i < 100 && out.stats!().uploading === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const uploadingFrom = String(out.stats!().uploading_from);
    assert.equal(uploadingFrom, join(kept, readdirSync(kept)[0]!));
    assert.deepEqual(readFileSync(uploadingFrom), encodeRecord(message(1)));
    const hung = new Promise<string>((r) => setTimeout(() => r('hung'), 20_000).unref());
    const result = await Promise.race([closed, hung]);
    assert.ok(isTaplineError(result) && /1 chunk\(s\) not uploaded; kept in /.test(result.message), String(result));
    assert.deepEqual(readFileSync(join(kept, readdirSync(kept)[0]!)), encodeRecord(message(1)));
    assert.match(
      log.lines.join('\n'),
      /s3:\/\/b-silent\/x_0\.gor not uploaded: TimeoutError: the store sent nothing for 300 ms \(tried 3 times\); its 1 records are kept in /,
    );
    assert.equal(out.stats!().uploading_from, '', 'no upload running');
  } finally {
    client.destroy();
    for (const s of sockets) s.destroy();
    silent.close();
    rmSync(kept, { recursive: true, force: true });
  }
});
