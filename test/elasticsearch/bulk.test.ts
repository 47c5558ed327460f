/**
 * The Elasticsearch output against the project's `_bulk` server (test/support/es-bulk-server.ts: no real
 * Elasticsearch can be installed here, so this stand-in answers in the documented `_bulk` shape): pairing of
 * requests with replayed responses, batching, the URL forms, retries on 429/5xx (whole and per item), documents
 * the cluster rejects, and a cluster that is not there at all. Every document ends counted.
 */
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { memoryLogger } from '../../src/core/log.js';
import { type Message, makeMeta } from '../../src/core/message.js';
import type { Output } from '../../src/core/plugin.js';
import {
  type ElasticsearchOutputOptions,
  elasticsearchOutput,
  parseElasticsearchUrl,
} from '../../src/outputs/elasticsearch.js';
import { EsBulkServer } from '../support/es-bulk-server.js';

const es = new EsBulkServer();
before(() => es.start());
after(() => es.stop());

const OPTIONS: ElasticsearchOutputOptions = {
  bulkSize: 10,
  flushIntervalMs: 20,
  maxInFlight: 2,
  retryForMs: 5_000,
  requestTimeoutMs: 5_000,
  routes: [],
  maxWaiting: 1000,
};

function id(n: number): string {
  return n.toString(16).padStart(24, '0');
}

function request(n: number): Message {
  return {
    meta: makeMeta({ type: '1', id: id(n), timestampNs: 1_700_000_000_000_000_000n + BigInt(n), latencyNs: 0n }),
    data: Buffer.from(`GET /items/${n} HTTP/1.1\r\nHost: shop\r\nUser-Agent: t/${n}\r\n\r\n`),
  };
}

function replayed(n: number, status = 200): Message {
  return {
    meta: makeMeta({
      type: '3',
      id: id(n),
      timestampNs: 1_700_000_000_000_000_000n,
      latencyNs: BigInt(n) * 1_000_000n,
    }),
    data: Buffer.from(`HTTP/1.1 ${status} OK\r\nContent-Length: 2\r\n\r\nok`),
  };
}

async function feed(out: Output, messages: Message[]): Promise<void> {
  for (const m of messages) await out.write(m);
  await out.close();
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** An output to the stand-in whose batches hold up to 100 documents, logging to `log`. */
function oneBatchOutput(log: ReturnType<typeof memoryLogger>): Output {
  return elasticsearchOutput(
    parseElasticsearchUrl(`${es.url}/gor`),
    { ...OPTIONS, bulkSize: 100 },
    {
      log,
      signal: new AbortController().signal,
    },
  );
}

function fresh(): void {
  es.documents.length = 0;
  es.requests.length = 0;
}

test('one document per request answered by a replayed response, in bulks, into the index of the URL', async () => {
  fresh();
  const log = memoryLogger();
  const out = elasticsearchOutput(parseElasticsearchUrl(`${es.url}/replays`), OPTIONS, {
    log,
    signal: new AbortController().signal,
  });
  const messages: Message[] = [];
  for (let n = 1; n <= 25; n++) messages.push(request(n));
  // Original responses (type 2) are not indexed; request 25 is never answered; a stray type 3 has no request.
  messages.push({ ...replayed(1), meta: makeMeta({ type: '2', id: id(1), timestampNs: 1n, latencyNs: 0n }) });
  for (let n = 1; n <= 24; n++) messages.push(replayed(n, n % 5 === 0 ? 503 : 200));
  messages.push(replayed(99));
  await feed(out, messages);

  assert.equal(es.documents.length, 24);
  assert.ok(es.documents.every((d) => d.index === 'replays'));
  const byUrl = new Map(es.documents.map((d) => [d.doc.Req_URL, d.doc]));
  for (let n = 1; n <= 24; n++) {
    const doc = byUrl.get(`/items/${n}`)!;
    assert.equal(doc['Req_User-Agent'], `t/${n}`);
    assert.equal(doc.Resp_Status, n % 5 === 0 ? '503' : '200');
    assert.equal(doc.RTT, n);
    assert.equal(doc.route, '/items/:id');
  }
  // 24 documents in bulks of at most 10: at least 3 requests, each NDJSON to /_bulk.
  assert.ok(es.requests.length >= 3);
  assert.ok(
    es.requests.every((r) => r.path === '/_bulk' && r.contentType === 'application/x-ndjson' && r.documents <= 10),
  );
  assert.deepEqual(
    { ...out.stats!(), queued: 0 },
    {
      documents: 24,
      responses_without_request: 1,
      not_http: 0,
      skipped: 1,
      indexed: 24,
      failed: 0,
      bulk_requests: es.requests.length,
      bulk_retries: 0,
      bulk_splits: 0,
      queued: 0,
      in_flight_bulks: 0,
      requests_without_response: 1,
    },
  );
});

test('URL forms: a path prefix goes before /_bulk, userinfo becomes Basic authorization', async () => {
  fresh();
  const target = parseElasticsearchUrl(`${es.url.replace('http://', 'http://elastic:s%3Acret@')}/proxy/es/gor`);
  assert.equal(target.index, 'gor');
  assert.equal(target.bulkUrl, `${es.url}/proxy/es/_bulk`);
  const out = elasticsearchOutput(target, OPTIONS, { log: memoryLogger(), signal: new AbortController().signal });
  await feed(out, [request(1), replayed(1)]);
  assert.equal(es.requests.length, 1);
  assert.equal(es.requests[0]!.path, '/proxy/es/_bulk');
  assert.equal(es.requests[0]!.authorization, `Basic ${Buffer.from('elastic:s:cret').toString('base64')}`);
  assert.equal(es.documents[0]!.index, 'gor');
});

test("gor's URL rules: scheme, host and index are required", () => {
  for (const bad of [
    'localhost:9200/gor',
    'http://localhost:9200',
    'http://localhost:9200/',
    'ftp://h/gor',
    '/gor',
    '',
  ]) {
    assert.throws(() => parseElasticsearchUrl(bad), /TAPLINE_ERR_USAGE|expected scheme:\/\/host/, bad);
  }
});

test('a % that starts no escape, in the index or the credentials, is a usage error (was a URIError and its stack trace)', () => {
  for (const bad of [
    'http://localhost:9200/%zz',
    'http://a%zz:b@localhost:9200/gor',
    'http://a:50%@localhost:9200/gor',
  ]) {
    assert.throws(
      () => parseElasticsearchUrl(bad),
      (e: Error & { code?: string; where?: string }) =>
        e.code === 'TAPLINE_ERR_USAGE' &&
        e.where === '--output-http-elasticsearch' &&
        /a % that is not followed by two hex digits/.test(e.message),
      bad,
    );
  }
});

test('a trailing slash is named as what empties the index name', () => {
  assert.throws(() => parseElasticsearchUrl('http://localhost:9200/gor/'), /the URL ends with \/ \(drop it\)/);
});

test('an index name Elasticsearch refuses is a usage error naming why (the cluster refused every document, one by one)', () => {
  for (const [name, why] of [
    ['Replays', /must be lowercase/],
    ['my%20index', /cannot contain " "/],
    ['a*b', /cannot contain "\*"/],
    ['a%23b', /cannot contain "#"/],
    ['_replays', /cannot start with -, _ or \+/],
    ['a%3Ab', /cannot contain ":"/],
    ['r'.repeat(256), /longer than 255 bytes/],
  ] as const) {
    assert.throws(
      () => parseElasticsearchUrl(`http://localhost:9200/${name}`),
      (e: Error & { where?: string }) =>
        e.where === '--output-http-elasticsearch' &&
        /is not an Elasticsearch index name/.test(e.message) &&
        why.test(e.message),
      name,
    );
  }
  for (const good of ['replays', 'gor-2026.11.24', '.hidden', '%3Creplays-%7Bnow%2Fd%7D%3E'])
    assert.doesNotThrow(() => parseElasticsearchUrl(`http://localhost:9200/${good}`), good);
});

test('429 and 503 for the whole request, and 429 for single items, are retried until indexed', async () => {
  fresh();
  es.rejectNext(1, 429);
  es.rejectNext(1, 503);
  es.failItems(3, 429, 'es_rejected_execution_exception');
  const out = elasticsearchOutput(
    parseElasticsearchUrl(`${es.url}/gor`),
    { ...OPTIONS, bulkSize: 100 },
    {
      log: memoryLogger(),
      signal: new AbortController().signal,
    },
  );
  const messages: Message[] = [];
  for (let n = 1; n <= 8; n++) messages.push(request(n), replayed(n));
  await feed(out, messages);
  assert.equal(es.documents.length, 8);
  assert.deepEqual(new Set(es.documents.map((d) => d.doc.Req_URL)).size, 8);
  const s = out.stats!();
  assert.equal(s.indexed, 8);
  assert.equal(s.failed, 0);
  assert.equal(s.bulk_retries, 3);
  // 429, 503, then 8 documents of which 3 rejected, then those 3 again.
  assert.deepEqual(
    es.requests.map((r) => [r.status, r.documents]),
    [
      [429, 0],
      [503, 0],
      [200, 8],
      [200, 3],
    ],
  );
});

test('documents the cluster refuses (400 mapping errors) are counted as failed, named, and not retried', async () => {
  fresh();
  es.failItems(2, 400, 'mapper_parsing_exception');
  const log = memoryLogger();
  const out = oneBatchOutput(log);
  await feed(out, [request(1), request(2), request(3), replayed(1), replayed(2), replayed(3)]);
  const s = out.stats!();
  assert.equal(s.indexed, 1);
  assert.equal(s.failed, 2);
  assert.equal(s.bulk_requests, 1);
  // One warning for the two: the reason is said once, with the count.
  const said = log.lines.filter((l) => /not indexed/.test(l));
  assert.equal(said.length, 1, said.join('\n'));
  assert.match(said[0]!, /: 2 documents not indexed: status 400 mapper_parsing_exception: scripted/);
});

test('a bulk answered 413 (too large for the cluster or a proxy) is sent again in halves; a single document too large fails, named', async () => {
  fresh();
  const log = memoryLogger();
  const out = oneBatchOutput(log);
  const messages: Message[] = [];
  for (let n = 1; n <= 8; n++) messages.push(request(n), replayed(n));
  const big: Message = {
    meta: request(9).meta,
    data: Buffer.from(`GET /items/9 HTTP/1.1\r\nHost: shop\r\nCookie: ${'c'.repeat(4000)}\r\n\r\n`),
  };
  messages.push(big, replayed(9));
  es.maxBodyBytes = 1500; // about 3 ordinary documents; the one with the cookie alone is above
  try {
    await feed(out, messages);
  } finally {
    es.maxBodyBytes = Number.POSITIVE_INFINITY;
  }
  const s = out.stats!();
  assert.equal(s.indexed, 8);
  assert.equal(s.failed, 1);
  assert.ok(Number(s.bulk_splits) >= 3, String(s.bulk_splits));
  assert.deepEqual(new Set(es.documents.map((d) => d.doc.Req_URL)).size, 8);
  assert.ok(es.requests.filter((r) => r.status === 200).every((r) => r.documents <= 3));
  assert.match(log.lines.join('\n'), /document not indexed: HTTP 413 for a single document of \d+ bytes/);
});

test('no cluster at all: retried for --retry-for, then every document counted as failed with the reason and the real time spent', async () => {
  const log = memoryLogger();
  const out = elasticsearchOutput(
    parseElasticsearchUrl(`http://127.0.0.1:${await closedPort()}/gor`),
    { ...OPTIONS, retryForMs: 1000 },
    {
      log,
      signal: new AbortController().signal,
    },
  );
  const started = performance.now();
  await feed(out, [request(1), request(2), replayed(1), replayed(2)]);
  const took = performance.now() - started;
  const s = out.stats!();
  assert.equal(s.indexed, 0);
  assert.equal(s.failed, 2);
  assert.ok(Number(s.bulk_retries) >= 1);
  const text = log.lines.join('\n');
  // It said 'after retrying for 1000 ms' when it gave up after ~700 ms: the next wait would have passed the limit.
  const said =
    /2 document\(s\) not indexed: gave up after (\d+) tries in (\d+) ms \(the next, in (\d+) ms, would pass the retry limit of 1000 ms\): .*ECONNREFUSED/.exec(
      text,
    );
  assert.ok(said, text);
  const [tries, spent, next] = [Number(said[1]), Number(said[2]), Number(said[3])];
  assert.equal(tries, Number(s.bulk_retries) + 1);
  assert.ok(spent <= took + 1, `${spent} ms said, ${took} ms taken`);
  assert.ok(spent + next > 1000, 'the next wait would have passed the limit');
});

test('backpressure: write() waits while max-in-flight bulk requests are outstanding', async () => {
  fresh();
  es.rejectNext(1, 429); // the first bulk is slow to succeed
  const out = elasticsearchOutput(
    parseElasticsearchUrl(`${es.url}/gor`),
    { ...OPTIONS, bulkSize: 1, maxInFlight: 1 },
    {
      log: memoryLogger(),
      signal: new AbortController().signal,
    },
  );
  await out.write(request(1));
  await out.write(request(2));
  const first = out.write(replayed(1));
  assert.ok(first instanceof Promise, 'the in-flight bulk holds the next write');
  await first;
  await out.write(replayed(2));
  await out.close();
  assert.equal(es.documents.length, 2);
});

test('a stop releases backpressure: the last documents go out at once, so an absent cluster holds the stop for one --retry-for, not one per round of bulks', async () => {
  // A cluster that takes connections and never answers: each bulk waits for its 10 s request timeout.
  const sockets = new Set<import('node:net').Socket>();
  const silent = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const port = (silent.address() as { port: number }).port;
  const out = elasticsearchOutput(
    parseElasticsearchUrl(`http://127.0.0.1:${port}/gor`),
    { ...OPTIONS, bulkSize: 1, maxInFlight: 2, retryForMs: 200, requestTimeoutMs: 10_000 },
    { log: memoryLogger(), signal: new AbortController().signal },
  );
  for (const n of [1, 2, 3]) await out.write(request(n));
  assert.equal(out.write(replayed(1)), undefined);
  const held = out.write(replayed(2));
  assert.ok(held instanceof Promise, 'two bulks in flight hold the next write');
  out.stopping!();
  // Before, the write stayed held until a bulk gave up (its 10 s timeout, then its retries), and the next
  // documents got a retry budget of their own after that.
  const released = await Promise.race([
    held.then(() => true),
    new Promise<boolean>((r) => setTimeout(() => r(false), 2_000).unref()),
  ]);
  assert.ok(released, 'the stop let the held write through');
  assert.equal(out.write(replayed(3)), undefined, 'and the next one is not held');
  assert.equal(out.stats!().in_flight_bulks, 3, 'every document went out at once');
  const closing = out.close();
  // The cluster goes away: the bulks fail, are retried for 200 ms, and every document is counted.
  silent.close();
  for (const s of sockets) s.destroy();
  await closing;
  assert.equal(out.stats!().failed, 3);
});

test('https:// to a cluster without TLS: said in words, not retried (was "EPROTO" alone, after the whole retry budget)', async () => {
  // A plain HTTP listener (a real node:http server on 127.0.0.1) behind an https:// URL.
  const plain = createHttpServer((_req, res) => res.end());
  await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
  try {
    const log = memoryLogger();
    const port = (plain.address() as { port: number }).port;
    const out = elasticsearchOutput(parseElasticsearchUrl(`https://127.0.0.1:${port}/gor`), OPTIONS, {
      log,
      signal: new AbortController().signal,
    });
    await feed(out, [request(1), request(2), replayed(1), replayed(2)]);
    const s = out.stats!();
    assert.deepEqual([s.indexed, s.failed, s.bulk_requests, s.bulk_retries], [0, 2, 1, 0]);
    assert.match(
      log.lines.join('\n'),
      /2 documents not indexed: https:\/\/127\.0\.0\.1:\d+\/_bulk: the cluster does not speak TLS \(an https:\/\/ URL for a plain HTTP port\? give http:\/\/\)/,
    );
  } finally {
    await new Promise<void>((r) => plain.close(() => r()));
  }
});

/** A node:http server on 127.0.0.1 answering every bulk with `answer`; stopped after `body`. */
async function withCluster(
  answer: (res: import('node:http').ServerResponse) => void,
  body: (url: string) => Promise<void>,
): Promise<void> {
  const server = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => answer(res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    await body(`http://127.0.0.1:${(server.address() as { port: number }).port}/gor`);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

/** Feeds two exchanges to an output at `url`; resolves with its stats and log, or 'hung' after 20 s. */
async function twoDocuments(url: string, options: Partial<ElasticsearchOutputOptions>) {
  const log = memoryLogger();
  const out = elasticsearchOutput(
    parseElasticsearchUrl(url),
    { ...OPTIONS, ...options },
    {
      log,
      signal: new AbortController().signal,
    },
  );
  const fed = feed(out, [request(1), request(2), replayed(1), replayed(2)]).then(() => 'done' as const);
  const hung = new Promise<'hung'>((r) => setTimeout(() => r('hung'), 20_000).unref());
  const end = await Promise.race([fed, hung]);
  return { end, stats: out.stats!(), text: log.lines.join('\n') };
}

test('a reply sent a byte at a time is given up at the request timeout and retried (it held the run for ever)', async () => {
  // Headers, then a space every 20 ms, never the end: each byte kept an idle timeout from firing.
  const timers = new Set<NodeJS.Timeout>();
  await withCluster(
    (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const t = setInterval(() => res.write(' '), 20);
      timers.add(t);
      res.on('close', () => clearInterval(t));
    },
    async (url) => {
      const { end, stats, text } = await twoDocuments(url, { requestTimeoutMs: 300, retryForMs: 100 });
      for (const t of timers) clearInterval(t);
      assert.equal(end, 'done', 'the close came');
      assert.deepEqual([stats.indexed, stats.failed], [0, 2]);
      assert.match(text, /2 document\(s\) not indexed: gave up after \d+ tries .*no whole reply within 300 ms/);
    },
  );
});

test('a reply longer than a _bulk reply can be is not read on (it was read whole, without a bound)', async () => {
  let sent = 0;
  await withCluster(
    (res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      // Up to 8 MiB, a page at a time as the client takes it; the output stops reading past its 64 KiB.
      const page = Buffer.alloc(16 << 10, 0x20);
      const more = () => {
        while (sent < 8 << 20 && !res.destroyed) {
          sent += page.length;
          if (!res.write(page)) return void res.once('drain', more);
        }
        res.end();
      };
      more();
    },
    async (url) => {
      const { end, stats, text } = await twoDocuments(url, { maxReplyBytes: 64 << 10 });
      assert.equal(end, 'done');
      assert.deepEqual([stats.indexed, stats.failed, stats.bulk_retries], [0, 2, 0]);
      assert.match(
        text,
        /2 documents not indexed: http:\/\/127\.0\.0\.1:\d+\/_bulk: HTTP 200: the reply passed 65536 bytes, more than a _bulk reply for these documents holds, and was not read further \(is this an Elasticsearch endpoint\?\)/,
      );
      assert.ok(sent < 8 << 20, `the server sent ${sent} bytes: all of it was read`);
    },
  );
});

test('a port that answers something other than HTTP is said so, not retried (was "HPE_INVALID_CONSTANT" after the retry budget)', async () => {
  await withCluster(
    (res) => res.socket?.end('garbage\r\n\r\n'),
    async (url) => {
      const { end, stats, text } = await twoDocuments(url, {});
      assert.equal(end, 'done');
      assert.deepEqual([stats.indexed, stats.failed, stats.bulk_retries], [0, 2, 0]);
      assert.match(
        text,
        /2 documents not indexed: http:\/\/127\.0\.0\.1:\d+\/_bulk: the reply is not HTTP \(HPE_INVALID_CONSTANT\): is this an Elasticsearch port\?/,
      );
    },
  );
});
