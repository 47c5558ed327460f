/**
 * What --output-http sends for odd recorded requests, with both clients (the native sender and the JavaScript
 * one), against a node:http target on 127.0.0.1 that lists the requests it parsed: a request recorded
 * incomplete (marked `incomplete=REASON`, or a body shorter than its framing) is not sent, as gor; bytes after
 * a request's framed end are not sent (the target would read them as a request of its own); a request whose
 * framing gor's parser refuses is skipped. Each is counted in the summary and said once.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { httpAddon } from '../../src/outputs/http-native.js';
import { runTapline } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tapline-replay-framing-'));
const file = join(dir, 'odd.gor');
let url = '';
/** `METHOD url body` of every request the target parsed. */
const seen: string[] = [];
const server = createServer((req, res) => {
  let body = '';
  req.setEncoding('latin1');
  req.on('data', (d: string) => {
    body += d;
  });
  req.on('end', () => {
    seen.push(`${req.method} ${req.url} ${body}`);
    res.end('ok');
  });
});

const SEP = '\n🐵🙈🙉\n';
const PLAIN = 'GET /fill HTTP/1.1\r\nHost: h\r\n\r\n';
let ts = 1_700_000_000_000_000_000n;
function record(id: string, payload: string, extra = ''): string {
  ts += 1_000_000n;
  return `1 ${id} ${ts} 0${extra}\n${payload}${SEP}`;
}

before(async () => {
  const fill = (from: number) => Array.from({ length: 20 }, (_, i) => record(`f${from + i}`, PLAIN));
  // Plain requests around the odd ones, enough for `|max` to hand the file over in raw runs, which the native
  // sender reads itself (http_sender.cc ParseRunRecord): the odd records must still come back to JavaScript.
  const records = [
    ...fill(0),
    // Whole by its framing, but the capture marked it: the mark is what keeps it back.
    record('a1', 'GET /marked HTTP/1.1\r\nHost: h\r\n\r\n', ' incomplete=gap'),
    record('a2', 'POST /short HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n12345'),
    record(
      'a3',
      'POST /extra HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabcGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n',
    ),
    record('a4', 'GET /nolength HTTP/1.1\r\nHost: h\r\n\r\nxyz'),
    record(
      'a5',
      'POST /chunked HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\nGET /smuggled2 HTTP/1.1\r\n\r\n',
    ),
    record('a6', 'POST /chunked-short HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n'),
    record('a7', 'POST /two-lengths HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab'),
    record('a8', 'GET /head-cut HTTP/1.1\r\nHost: h\r\n'),
    record('a9', 'POST /ok HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi'),
    ...fill(20),
  ];
  writeFileSync(file, records.join(''));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

after(() => {
  server.closeAllConnections();
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

const clients = ['js', ...(httpAddon() ? ['native'] : [])];
for (const client of clients) {
  test(`${client} client: incomplete requests not sent, bytes after a request's end not sent, both counted and said once`, async () => {
    seen.length = 0;
    process.env.TAPLINE_HTTP_CLIENT = client;
    try {
      const res = await runTapline(
        ['--input-file', `${file}|max`, '--output-http', url, '--output-http-timeout', '2s'],
        {
          timeoutMs: 20_000,
        },
      );
      assert.equal(res.code, 0, res.stderr);
      assert.equal(seen.filter((s) => s === 'GET /fill ').length, 40, res.stderr);
      assert.deepEqual(
        seen.filter((s) => s !== 'GET /fill ').sort(),
        ['GET /nolength ', 'POST /chunked abc', 'POST /extra abc', 'POST /ok hi'],
        res.stderr,
      );
      assert.match(res.stderr, /requests 44, responses 44, status 2xx 44,/);
      assert.match(res.stderr, /incomplete skipped 4, bad framing skipped 1, bytes after request ignored 65 B/);
      assert.doesNotMatch(res.stderr, /error timeout|unsolicited/);
      // Said once each, naming why.
      assert.equal(res.stderr.match(/not sent: it was recorded incomplete/g)?.length, 1, res.stderr);
      assert.match(
        res.stderr,
        /request a1 not sent: it was recorded incomplete \(its record is marked incomplete=gap\)/,
      );
      assert.equal(res.stderr.match(/after its end/g)?.length, 1, res.stderr);
      assert.match(res.stderr, /request a3 has 35 bytes after its end \("GET \/smuggled/);
      assert.match(res.stderr, /request a7 skipped: it has differing Content-Length values/);
    } finally {
      delete process.env.TAPLINE_HTTP_CLIENT;
    }
  });
}

test('a short body is named in the warning when it is the first incomplete request', async () => {
  const one = join(dir, 'short.gor');
  writeFileSync(one, record('b1', 'POST /short HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n12345'));
  seen.length = 0;
  const res = await runTapline(['--input-file', one, '--output-http', url], { timeoutMs: 20_000 });
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(seen, []);
  assert.match(res.stderr, /request b1 not sent: it was recorded incomplete \(Content-Length 10, 5 body bytes\)/);
});
