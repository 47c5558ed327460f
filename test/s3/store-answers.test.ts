/**
 * Answers no S3 store gives, from a stand-in store: a node:http server on 127.0.0.1:0 that answers each request
 * as the test scripts it (s3rver, the real store of the other tests, cannot be made to misbehave). A listing
 * whose continuation token comes back, a truncated listing without a token, a web page where a listing or an
 * upload answer should be, a proxy's 502 page: each is said in words, and nothing is deleted or skipped
 * without a word.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { S3Client } from '@aws-sdk/client-s3';
import { isTaplineError } from '../../src/core/errors.js';
import { encodeRecord } from '../../src/core/gor-format.js';
import { memoryLogger } from '../../src/core/log.js';
import { makeMeta } from '../../src/core/message.js';
import { s3Input } from '../../src/inputs/s3.js';
import { s3Output } from '../../src/outputs/s3.js';
import { createS3Client, describeS3Error, listObjects } from '../../src/storage/s3.js';
import { collect, runTapline, startTapline } from '../support/cli.js';

type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void;

/** Runs `body` with a client of a store that answers every request through `handler`; counts the requests. */
async function withStore(
  handler: Handler,
  body: (client: S3Client, requests: () => number) => Promise<void>,
  idleTimeoutMs?: number,
) {
  let n = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => handler(req, res, ++n));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = await createS3Client(
    {
      endpoint: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
      region: 'us-east-1',
      ...(idleTimeoutMs ? { idleTimeoutMs } : {}),
    },
    'test',
  );
  try {
    await body(client, () => n);
  } finally {
    client.destroy();
    server.closeAllConnections();
    server.close();
  }
}

function listing(keys: string[], truncated: boolean, token?: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>b</Name>' +
    `<KeyCount>${keys.length}</KeyCount><IsTruncated>${truncated}</IsTruncated>` +
    (token ? `<NextContinuationToken>${token}</NextContinuationToken>` : '') +
    keys.map((k) => `<Contents><Key>${k}</Key><Size>1</Size></Contents>`).join('') +
    '</ListBucketResult>'
  );
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type });
  res.end(body);
}

const ENV = { AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' };
Object.assign(process.env, ENV);

test('a store that hands back a continuation token it already gave: an error, not a listing for ever (it looped)', async () => {
  await withStore(
    (_req, res, n) => send(res, 200, 'application/xml', listing([`k${n}`], true, 'same')),
    async (client, requests) => {
      // Bounded: without the check the listing never ended.
      await assert.rejects(listObjects(client, 'b', '', AbortSignal.timeout(5000)), (err: unknown) =>
        /the store gave the same continuation token twice after 2 key\(s\): the listing would never end/.test(
          describeS3Error(err),
        ),
      );
      assert.equal(requests(), 2);
    },
  );
});

test('a truncated listing without a continuation token: an error, not the first page taken for all', async () => {
  await withStore(
    (_req, res) => send(res, 200, 'application/xml', listing(['a', 'b'], true)),
    async (client) => {
      await assert.rejects(listObjects(client, 'b', ''), (err: unknown) =>
        /the listing goes on after 2 key\(s\) but the store gave no continuation token/.test(describeS3Error(err)),
      );
    },
  );
});

test('pages are followed by their tokens to the end', async () => {
  await withStore(
    (req, res) => {
      const token = new URL(req.url ?? '/', 'http://x').searchParams.get('continuation-token');
      if (!token) send(res, 200, 'application/xml', listing(['a', 'b'], true, 't1'));
      else if (token === 't1') send(res, 200, 'application/xml', listing(['c'], true, 't2'));
      else send(res, 200, 'application/xml', listing(['d'], false));
    },
    async (client) => {
      assert.deepEqual(
        (await listObjects(client, 'b', '')).map((o) => o.key),
        ['a', 'b', 'c', 'd'],
      );
    },
  );
});

test('a web page where the listing should be is said as such (it was an empty bucket: "no object matches")', async () => {
  await withStore(
    (_req, res) => send(res, 200, 'text/html', '<html><body>Object storage console</body></html>'),
    async (client) => {
      await assert.rejects(
        listObjects(client, 'b', 'x/'),
        (err: unknown) =>
          describeS3Error(err) ===
          'the answer to the listing is not an S3 listing (HTTP 200, no ListBucketResult): is the endpoint an S3 API?',
      );
    },
  );
});

test("a proxy's error page or an empty error is said with its status, not as 'Unknown: UnknownError'", async () => {
  await withStore(
    (_req, res, n) =>
      n <= 3 ? send(res, 502, 'text/html', '<html><body>Bad Gateway</body></html>') : send(res, 403, 'text/plain', ''),
    async (client) => {
      await assert.rejects(listObjects(client, 'b', ''), (err: unknown) => {
        assert.equal(describeS3Error(err), 'HTTP 502, and the answer is no S3 error or result ("Bad Gateway")');
        return true;
      });
      await assert.rejects(listObjects(client, 'b', ''), (err: unknown) => {
        assert.equal(describeS3Error(err), 'HTTP 403, and the answer is no S3 error or result');
        return true;
      });
    },
  );
});

test('an upload answered 200 without an ETag keeps the chunk (it was counted uploaded and deleted)', async () => {
  const kept = mkdtempSync(join(tmpdir(), 'tapline-s3-kept-'));
  const log = memoryLogger();
  const msg = {
    meta: makeMeta({ type: '1', id: '1'.padStart(24, '0'), timestampNs: 1_700_000_000_000_000_000n, latencyNs: 0n }),
    data: Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n'),
  };
  try {
    await withStore(
      (req, res) =>
        req.method === 'GET'
          ? send(res, 200, 'application/xml', listing([], false))
          : send(res, 200, 'text/html', '<html>welcome</html>'),
      async (client) => {
        const out = s3Output(client, { location: { bucket: 'b', key: 'x.gor' }, bufferDir: kept, log });
        await out.write(msg);
        await assert.rejects(
          out.close(),
          (err: unknown) => isTaplineError(err) && /1 chunk\(s\) not uploaded; kept in /.test(err.message),
        );
        assert.equal(out.stats!().uploaded, 0);
        assert.equal(out.stats!().upload_failed, 1);
      },
    );
    assert.deepEqual(readFileSync(join(kept, readdirSync(kept)[0]!)), encodeRecord(msg));
    assert.match(log.lines.join('\n'), /x_0\.gor not uploaded: the store answered HTTP 200 without an ETag/);
  } finally {
    rmSync(kept, { recursive: true, force: true });
  }
});

test('one object whose download is refused (AccessDenied: a policy covering some keys) is warned and counted; the others are replayed, exit 1', async () => {
  const record = encodeRecord({
    meta: makeMeta({ type: '1', id: 'b1', timestampNs: 1_700_000_000_000_000_000n }),
    data: Buffer.from('GET /kept HTTP/1.1\r\nHost: h\r\n\r\n'),
  });
  const denied =
    '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>';
  let port = 0;
  const server = createServer((req, res) => {
    req.resume();
    if (req.url?.includes('list-type=2')) send(res, 200, 'application/xml', listing(['x/a.gor', 'x/b.gor'], false));
    else if (req.url?.startsWith('/bkt/x/a.gor')) send(res, 403, 'application/xml', denied);
    else if (req.url?.startsWith('/bkt/x/b.gor')) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': record.length });
      res.end(record);
    } else send(res, 404, 'text/plain', 'no');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
  try {
    const r = await runTapline([
      '--input-file',
      's3://bkt/x/*.gor',
      '--s3-endpoint',
      `http://127.0.0.1:${port}`,
      '--output-stdout',
      '--stats',
      '--stats-interval',
      '1h',
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout.toString(), /GET \/kept HTTP\/1\.1/);
    assert.match(
      r.stderr,
      /s3:\/\/bkt\/x\/a\.gor: cannot download: .*AccessDenied.*the store refused this object; the other objects are replayed/,
    );
    assert.match(
      r.stderr,
      /1 object's download was refused \(see the warnings above\); the other objects were replayed/,
    );
    assert.match(r.stderr, /"objects_denied":1/);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

/** A store listing `keys` under /bkt/x/ that answers each object's download through `answer` (300 ms idle timeout). */
function withObjectStore(
  keys: string[],
  answer: (key: string, res: ServerResponse) => void,
  body: (client: S3Client, gets: () => string[]) => Promise<void>,
): Promise<void> {
  const gets: string[] = [];
  return withStore(
    (req, res) => {
      const url = req.url ?? '/';
      if (url.includes('list-type=2')) return send(res, 200, 'application/xml', listing(keys, false));
      const key = decodeURIComponent(url.replace(/^\/bkt\//, '').replace(/\?.*$/, ''));
      gets.push(key);
      answer(key, res);
    },
    (client) => body(client, () => gets),
    300,
  );
}

function gorRecord(path: string): Buffer {
  return encodeRecord({
    meta: makeMeta({ type: '1', id: path.padStart(24, '0'), timestampNs: 1_700_000_000_000_000_000n }),
    data: Buffer.from(`GET /${path} HTTP/1.1\r\nHost: h\r\n\r\n`),
  });
}

/**
 * Reads s3://bkt/x/ to its end, staged under `buffer` (bounded: a run that hangs fails the test); the input, the
 * paths read and the error.
 */
async function readWithin(client: S3Client, buffer: string, ms: number, log = memoryLogger()) {
  const input = s3Input(client, { location: { bucket: 'bkt', key: 'x/' }, bufferDir: buffer, log });
  const paths: string[] = [];
  const run = (async () => {
    for await (const batch of input.read()) for (const m of batch) paths.push(m.data.toString().split(' ')[1]!);
  })().then(
    () => undefined,
    (err: unknown) => err,
  );
  const hung = new Promise<string>((r) => setTimeout(() => r('hung'), ms).unref());
  const error = await Promise.race([run, hung]);
  assert.notEqual(error, 'hung', 'the input did not end');
  return { input, paths, error };
}

test('an object the store stalls on (before its answer, or in the middle of its body) is skipped, warned with the time waited, counted; the others are replayed (it failed the whole input)', async () => {
  const buffer = mkdtempSync(join(tmpdir(), 'tapline-s3-stall-'));
  const log = memoryLogger();
  try {
    await withObjectStore(
      ['x/a.gor', 'x/b.gor', 'x/c.gor'],
      (key, res) => {
        const body = gorRecord(key.slice(2, 3));
        if (key === 'x/a.gor') return; // takes the request, never answers
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
        if (key === 'x/b.gor')
          res.write(body.subarray(0, 10)); // stalls in the middle of the body
        else res.end(body);
      },
      async (client, gets) => {
        const { input, paths, error } = await readWithin(client, buffer, 20_000, log);
        assert.deepEqual(paths, ['/c']);
        assert.ok(
          isTaplineError(error) &&
            error.message ===
              'the store stalled on 2 objects (see the warnings above); the other objects were replayed',
          String(error),
        );
        const stats = input.stats!();
        assert.equal(stats.objects, 1);
        assert.equal(stats.objects_stalled, 2);
        const lines = log.lines.join('\n');
        assert.match(
          lines,
          /s3:\/\/bkt\/x\/a\.gor: cannot download: TimeoutError: the store sent nothing for 300 ms \(tried 3 times\): the store stalled on this object \(\d+\.\d s waited\); the other objects are replayed/,
        );
        assert.match(
          lines,
          /s3:\/\/bkt\/x\/b\.gor: cannot download: TimeoutError: the store sent nothing for 300 ms \(tried once\): the store stalled on this object \(\d+\.\d s waited\); the other objects are replayed/,
        );
        assert.equal(gets().filter((k) => k === 'x/a.gor').length, 3, 'the SDK tries a silent store 3 times');
      },
    );
  } finally {
    rmSync(buffer, { recursive: true, force: true });
  }
});

test('a store that stalls on every download fails the input after 8 in a row, not after waiting out each object', async () => {
  const buffer = mkdtempSync(join(tmpdir(), 'tapline-s3-stall-'));
  const keys = Array.from({ length: 40 }, (_, i) => `x/${String(i).padStart(2, '0')}.gor`);
  try {
    await withObjectStore(
      keys,
      () => {},
      async (client, gets) => {
        const { error } = await readWithin(client, buffer, 30_000);
        assert.ok(
          isTaplineError(error) &&
            / the store stalled on 8 objects in a row without finishing any: it has stopped answering downloads$/.test(
              error.message,
            ),
          String(error),
        );
        assert.ok(new Set(gets()).size < 12, `${new Set(gets()).size} objects tried`);
      },
    );
  } finally {
    rmSync(buffer, { recursive: true, force: true });
  }
});

test('SIGINT while the store stalls on a download stops the run at once, the other input flushed to its output', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tapline-s3-stall-int-'));
  const local = join(dir, 'local.gor');
  const out = join(dir, 'out.gor');
  writeFileSync(local, Buffer.concat(['l1', 'l2', 'l3'].map(gorRecord)));
  let asked!: () => void;
  const stalled = new Promise<void>((r) => {
    asked = r;
  });
  try {
    // Takes the download and never answers: 30 s of silence, three tries, 90 s without the stop.
    const server = createServer((req, res) => {
      req.resume();
      if (req.url?.includes('list-type=2')) send(res, 200, 'application/xml', listing(['x/a.gor'], false));
      else asked();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const child = startTapline([
        '--input-file',
        's3://bkt/x/',
        '--input-file',
        local,
        '--s3-endpoint',
        `http://127.0.0.1:${(server.address() as { port: number }).port}`,
        '--output-file',
        out,
        '--output-file-append', // one file, not gor's out_0.gor chunks
      ]);
      const done = collect(child, 20_000);
      await stalled;
      await new Promise((r) => setTimeout(r, 500));
      child.kill('SIGINT');
      const r = await done;
      assert.notEqual(r.code, null, `killed after 20 s: the stall held the run (${r.stderr})`);
      assert.match(r.stderr, /SIGINT: stopping/);
      assert.deepEqual(
        readFileSync(out)
          .toString()
          .match(/GET \/\w+/g),
        ['GET /l1', 'GET /l2', 'GET /l3'],
      );
    } finally {
      server.closeAllConnections();
      server.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an object the store fails with an XML error (500 InternalError, after the retries) is the error said, the other downloads cut, nothing left staged (it was "ENOTEMPTY: directory not empty, rmdir …")', async () => {
  const buffer = mkdtempSync(join(tmpdir(), 'tapline-s3-fail-'));
  const keys = Array.from({ length: 200 }, (_, i) => `x/${String(i).padStart(3, '0')}.gor`);
  const internal =
    '<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>';
  try {
    await withObjectStore(
      keys,
      (key, res) => {
        if (key === 'x/003.gor') return send(res, 500, 'application/xml', internal);
        const body = gorRecord(key.slice(2, 5));
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
        res.end(body);
      },
      async (client, gets) => {
        const { error } = await readWithin(client, buffer, 20_000);
        assert.ok(
          isTaplineError(error) &&
            error.where === 's3://bkt/x/003.gor' &&
            /^cannot download: InternalError: We encountered an internal error\. \(HTTP 500\)$/.test(error.message),
          String(error),
        );
        assert.deepEqual(readdirSync(buffer), [], 'the staging directory is removed');
        const asked = gets().length;
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(gets().length, asked, 'no download goes on after the input ended');
        assert.ok(new Set(gets()).size < keys.length, 'the downloads after the failure are not made');
      },
    );
  } finally {
    rmSync(buffer, { recursive: true, force: true });
  }
});
