/**
 * --output-http-elasticsearch through the CLI: a recorded file replayed to a node:http target, every replayed
 * exchange indexed in the project's `_bulk` server (test/support/es-bulk-server.ts; no Elasticsearch can be
 * installed here), the counters in the summary, and the usage errors.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runTapline } from '../support/cli.js';
import { EsBulkServer } from '../support/es-bulk-server.js';

const dir = mkdtempSync(join(tmpdir(), 'tapline-es-cli-'));
const file = join(dir, 'requests.gor');
const es = new EsBulkServer();
let target = '';
const server = createServer((req, res) => {
  res.setHeader('content-type', 'text/plain');
  res.statusCode = req.url?.startsWith('/missing') ? 404 : 200;
  res.end(`hi ${req.url}`);
});

before(async () => {
  let text = '';
  for (let i = 0; i < 30; i++) {
    const path = i % 10 === 0 ? `/missing/${i}` : `/users/${i}/cart`;
    text += `1 ${i.toString(16).padStart(24, '0')} ${1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n} 0\n`;
    text += `GET ${path} HTTP/1.1\r\nHost: prod\r\nUser-Agent: agent-${i}\r\nAccept: text/plain\r\n\r\n\n🐵🙈🙉\n`;
  }
  writeFileSync(file, text);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  target = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  await es.start();
});

after(async () => {
  server.closeAllConnections();
  server.close();
  await es.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('every replayed exchange becomes one document: request fields, response fields, RTT, sizes, route', async () => {
  const res = await runTapline([
    '-input-file',
    `${file}|max`,
    '-output-http',
    target,
    '-output-http-track-response',
    '-output-http-elasticsearch',
    `${es.url}/replays`,
  ]);
  assert.equal(res.code, 0, res.stderr);
  assert.equal(es.documents.length, 30);
  for (const { index, doc } of es.documents) {
    assert.equal(index, 'replays');
    const n = Number((doc.Req_URL as string).split('/')[2]);
    assert.equal(doc.Req_Method, 'GET');
    assert.equal(doc['Req_User-Agent'], `agent-${n}`);
    assert.equal(doc.Req_Accept, 'text/plain');
    assert.equal(doc.Resp_Status, n % 10 === 0 ? '404' : '200');
    assert.equal(doc['Resp_Content-Type'], 'text/plain');
    assert.equal(doc.Resp_Proto, 'HTTP/1.1');
    assert.equal(typeof doc.RTT, 'number');
    assert.ok((doc.RTT as number) >= 0);
    assert.equal(doc.route, n % 10 === 0 ? '/missing/:id' : '/users/:id/cart');
    assert.equal(doc.response_body_bytes, `hi ${doc.Req_URL}`.length);
    assert.match(doc.Timestamp as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  }
  // Zero counters are left out of the summary: no failed, no retries, nothing without its pair.
  assert.match(
    res.stderr,
    /output-http-elasticsearch\([^)]*\/replays\): 60 written; documents 30, indexed 30, bulk requests \d+\n/,
  );
});

test('--route rules name the route field', async () => {
  es.documents.length = 0;
  const res = await runTapline([
    '--input-file',
    `${file}|max`,
    '--output-http',
    target,
    '--output-http-track-response',
    '--output-http-elasticsearch',
    `${es.url}/replays`,
    '--route',
    '/users/*',
  ]);
  assert.equal(res.code, 0, res.stderr);
  assert.equal(es.documents.filter((d) => d.doc.route === '/users/*').length, 27);
});

test('a recording that holds requests and replayed responses (types 1 and 3) is indexed without replaying', async () => {
  es.documents.length = 0;
  const recorded = join(dir, 'replayed.gor');
  let text = '';
  for (let i = 0; i < 3; i++) {
    const id = (100 + i).toString(16).padStart(24, '0');
    text += `1 ${id} ${1_700_000_000_000_000_000n + BigInt(i)} 0\nGET /orders/${i} HTTP/1.1\r\nHost: shop\r\n\r\n\n🐵🙈🙉\n`;
    text += `3 ${id} ${1_700_000_000_000_000_000n + BigInt(i)} 2500000000\nHTTP/1.1 500 Oops\r\nContent-Length: 1\r\n\r\nx\n🐵🙈🙉\n`;
  }
  writeFileSync(recorded, text);
  const res = await runTapline([
    '--input-file',
    `${recorded}|max`,
    '--output-http-elasticsearch',
    `${es.url}/recorded`,
  ]);
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(
    es.documents.map((d) => [d.index, d.doc.Req_URL, d.doc.Resp_Status, d.doc.RTT, d.doc.route]),
    [0, 1, 2].map((i) => ['recorded', `/orders/${i}`, '500', 2500, '/orders/:id']),
  );
});

test('a file without replayed responses indexes nothing, and says so (it looked like a run that worked)', async () => {
  es.documents.length = 0;
  const res = await runTapline(['--input-file', `${file}|max`, '--output-http-elasticsearch', `${es.url}/plain`]);
  assert.equal(res.code, 0, res.stderr);
  assert.equal(es.documents.length, 0);
  assert.match(res.stderr, /nothing was indexed: none of the 30 request\(s\) came with a replayed response \(type 3\)/);
  assert.match(res.stderr, /--output-http-track-response/);
});

test('usage errors exit 2 naming the flag: bad URL, replay without tracked responses, bad bulk size', async () => {
  const base = ['--input-file', file, '--output-http', target];
  for (const [args, pattern] of [
    [[...base, '--output-http-track-response', '--output-http-elasticsearch', 'localhost:9200/gor'], /expected scheme/],
    [[...base, '--output-http-track-response', '--output-http-elasticsearch', `${es.url}`], /no index name/],
    [[...base, '--output-http-elasticsearch', `${es.url}/gor`], /add --output-http-track-response/],
    [
      [
        ...base,
        '-output-http-track-response',
        '-output-http-elasticsearch',
        `${es.url}/g`,
        '-output-http-elasticsearch-bulk-size',
        '0',
      ],
      /--output-http-elasticsearch-bulk-size: must be > 0/,
    ],
  ] as const) {
    const res = await runTapline([...args]);
    assert.equal(res.code, 2, `${args.join(' ')}\n${res.stderr}`);
    assert.match(res.stderr, pattern);
    assert.match(res.stderr, /--output-http-elasticsearch/);
    assert.doesNotMatch(res.stderr, /\n\s+at /);
  }
});
