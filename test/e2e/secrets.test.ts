/**
 * Secrets given in flags never reach what tapline prints (docs/errors.md, "Secrets in messages"): a run against
 * real receivers on 127.0.0.1 that fail in each of their ways (refused, 500, a redirect whose Location carries
 * the query, a WebSocket upgrade answered with plain HTTP), start-up errors that quote the URL, and a middleware
 * that exits. stdout, stderr (warnings, errors, the summary) and --stats are searched for every secret, and
 * still name the host and port.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SEPARATOR } from '../../src/core/gor-format.js';
import { runTapline } from '../support/cli.js';

const SECRETS = [
  'Pw0rdUser1nfo',
  'QueryT0kenValue',
  'Influx1Passw0rd',
  'Xk9dT2mQ7vLp4sRw8nYb3cZf', // a Slack-like webhook token in the path
  'Sig4tureVal',
  'MwT0kenArg',
];

const dir = mkdtempSync(join(tmpdir(), 'tapline-secrets-'));
const servers: Server[] = [];
let answer500 = 0;
let redirecting = 0;
let plainHttp = 0;
let closed = 0;
let file = '';

function listen(handler: Parameters<typeof createServer>[1]): Promise<number> {
  const server = createServer(handler);
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

before(async () => {
  answer500 = await listen((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(500).end(`Cannot POST ${req.url}`)); // as a proxy's page may
  });
  // Sends the POST elsewhere as a GET, its query (secrets included) in the Location.
  redirecting = await listen((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(302, { location: `/moved${req.url}` }).end());
  });
  plainHttp = await listen((req, res) => {
    req.resume();
    res.writeHead(204).end();
  });
  closed = await listen(() => {});
  await new Promise((r) => servers.pop()!.close(r));
  const records: Buffer[] = [];
  const ts = BigInt(Date.now()) * 1_000_000n;
  for (let i = 0; i < 5; i++) {
    const id = (0xfeed00 + i).toString(16).padStart(24, '0');
    records.push(Buffer.from(`1 ${id} ${ts}\nGET /api/items/${i} HTTP/1.1\r\nHost: shop.test\r\n\r\n`), SEPARATOR);
  }
  file = join(dir, 'five.gor');
  writeFileSync(file, Buffer.concat(records));
});

after(() => {
  for (const s of servers) s.close();
  rmSync(dir, { recursive: true, force: true });
});

function assertNoSecret(text: string, what: string): void {
  for (const secret of SECRETS) assert.ok(!text.includes(secret), `${what} holds ${secret}:\n${text}`);
}

describe('secrets in what tapline prints', () => {
  it('warnings, errors, the summary and --stats of a run whose receivers all fail', async () => {
    const webhook = `http://alerts:Pw0rdUser1nfo@127.0.0.1:${redirecting}/services/T01/B02/Xk9dT2mQ7vLp4sRw8nYb3cZf?sig=Sig4tureVal`;
    const influx = `http://127.0.0.1:${answer500}/write?db=tap&u=bob&p=Influx1Passw0rd`;
    const http = `http://bob:Pw0rdUser1nfo@127.0.0.1:${closed}/replay?token=QueryT0kenValue`;
    const ws = `ws://bob:Pw0rdUser1nfo@127.0.0.1:${plainHttp}/feed?access_token=QueryT0kenValue`;
    const r = await runTapline(
      [
        ...['--input-file', file, '--stats', '--output-http', http, '--output-ws', ws],
        ...['--output-influxdb', influx, '--max-total', '1', '--alert-webhook', webhook],
      ],
      { timeoutMs: 60_000 },
    );
    const out = `${r.stdout.toString()}${r.stderr}`;
    assertNoSecret(out, 'the output');
    // Each failure was said, naming where it went.
    assert.match(
      r.stderr,
      new RegExp(`output-http\\(http://bob:\\*\\*\\*@127\\.0\\.0\\.1:${closed}/replay\\?token=\\*\\*\\*\\)`),
    );
    assert.match(r.stderr, /"outputs":\{[^\n]*output-http\(http:\/\/bob:\*\*\*@/); // --stats names the output
    assert.match(
      r.stderr,
      new RegExp(`output-ws\\(ws://127\\.0\\.0\\.1:${plainHttp}/feed\\?access_token=\\*\\*\\*\\)`),
    );
    assert.match(
      r.stderr,
      new RegExp(
        `write to http://127\\.0\\.0\\.1:${answer500}/write\\?[^ ]*p=\\*\\*\\*[^ ]* failed: answered 500: Cannot POST /write\\?[^ ]*p=\\*\\*\\*`,
      ),
    );
    assert.match(
      r.stderr,
      new RegExp(
        `POST to http://alerts:\\*\\*\\*@127\\.0\\.0\\.1:${redirecting}/services/T01/B02/\\*\\*\\*\\?sig=\\*\\*\\* failed: answered 302, a redirect to http://127\\.0\\.0\\.1:${redirecting}/moved/services/T01/B02/\\*\\*\\*\\?sig=\\*\\*\\*`,
      ),
    );
  });

  it('start-up errors that quote the URL', async () => {
    const cases: string[][] = [
      ['--output-influxdb', `http://127.0.0.1:${answer500}/api/v2/write?org=o&token=QueryT0kenValue`],
      ['--output-http-elasticsearch', 'http://elastic:Pw0rdUser1nfo@127.0.0.1:9200/gor/'],
      ['--output-http', 'ftp://bob:Pw0rdUser1nfo@127.0.0.1:8080/?token=QueryT0kenValue'],
      ['--output-http', 'http://bob:Pw0rdUser1nfo@127.0.0.1:0/?token=QueryT0kenValue'],
      ['--output-ws', 'http://bob:Pw0rdUser1nfo@127.0.0.1:8080/?token=QueryT0kenValue'],
      ['--output-file', 's3://bkt/x.gor', '--s3-endpoint', 'ftp://key:Pw0rdUser1nfo@127.0.0.1:9000'],
      ['--http-set-header', 'Authorization Bearer QueryT0kenValue'],
      ['--http-set-header', 'X-Api-Key: Pw0rdUser1nfo\x01x'],
      ['--http-set-param', 'access_token QueryT0kenValue'],
      ['--stats', 'http://bob:Pw0rdUser1nfo@127.0.0.1:9/x'], // a value after a boolean flag
      ['--exit-after', 'http://127.0.0.1:9/x?token=QueryT0kenValue'],
      [
        ...['--max-total', '1', '--alert-webhook', 'http://127.0.0.1:9/a?token=QueryT0kenValue'],
        ...['--alert-webhook', 'http://bob:Pw0rdUser1nfo@127.0.0.1:9/b'],
      ],
    ];
    for (const flag of cases) {
      const r = await runTapline(['--input-file', file, '--output-null', ...flag]);
      assert.equal(r.code, 2, `${flag.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /127\.0\.0\.1|\*\*\*/, r.stderr); // what was masked is still named
      assertNoSecret(`${r.stdout.toString()}${r.stderr}`, flag.join(' '));
    }
  });

  it('a middleware command line with a token in its arguments', async () => {
    const r = await runTapline([
      '--input-file',
      file,
      '--output-null',
      '--middleware',
      "/bin/false --token MwT0kenArg --api-key 'MwT0kenArg' | tee log",
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /middleware "\/bin\/false --token \*\*\* --api-key '\*\*\*' \| tee log"/);
    assert.match(r.stderr, /is given "'\*\*\*'", "\|" as plain argument/); // the quoting hint
    assertNoSecret(`${r.stdout.toString()}${r.stderr}`, 'the output');
  });
});
