/**
 * One Host line reaches the target, as gor sends it, for requests captured with more than one: gor parses the
 * request (Go keeps the first Host value) and Go's client writes a single Host line, so strict servers (nginx,
 * Go) never see the two that would make them answer 400. Both clients (the native sender, here also reading
 * a `|max` raw run itself, and the JavaScript one), with and without --http-original-host, against a node:net
 * target on 127.0.0.1 that records the raw bytes of every request.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { httpAddon } from '../../src/outputs/http-native.js';
import { runTapline } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tapline-replay-host-'));
const file = join(dir, 'hosts.gor');
let url = '';
let authority = '';
/** Every request the target read, as raw bytes (latin1), head and body. */
const seen: string[] = [];
const sockets = new Set<Socket>();
const server = createServer((socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    // Bounded: each pass takes one whole request off `pending` or waits for more bytes.
    for (let i = 0; i < 1000; i++) {
      const end = pending.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = pending.subarray(0, end + 4).toString('latin1');
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      if (pending.length < end + 4 + length) return;
      seen.push(pending.subarray(0, end + 4 + length).toString('latin1'));
      pending = pending.subarray(end + 4 + length);
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    }
  });
});

const SEP = '\n🐵🙈🙉\n';
let ts = 1_700_000_000_000_000_000n;
function record(id: string, payload: string): string {
  ts += 1_000_000n;
  return `1 ${id} ${ts} 0\n${payload}${SEP}`;
}
const fill = (from: number) =>
  Array.from({ length: 20 }, (_, i) => record(`f${from + i}`, `GET /fill HTTP/1.1\r\nHost: h\r\n\r\n`));

/** The requests with more than one Host line, by path: the captured head lines after the title. */
const ODD: Record<string, string> = {
  '/two': 'Host: a\r\nX-A: 1\r\nHost: b\r\n',
  '/three': 'HOST: a\r\nhost: b\r\nX-A: 1\r\nHo\u017ft: c\r\n',
  '/last': 'X-A: 1\r\nHost: a\r\nhOsT:b\r\n',
};

before(async () => {
  const odd = Object.entries(ODD).map(([path, lines], i) => record(`o${i}`, `GET ${path} HTTP/1.1\r\n${lines}\r\n`));
  // A Host-shaped line in a body is body: sent as captured.
  const body = 'Host: c\r\n';
  const post = record('p', `POST /body HTTP/1.1\r\nHost: a\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  // Enough plain records around them for `|max` to hand the file over in raw runs, which the native sender
  // reads itself (http_sender.cc ParseRunRecord): the odd records are among them.
  writeFileSync(file, [...fill(0), ...odd, post, ...fill(20)].join(''));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  authority = `127.0.0.1:${(server.address() as { port: number }).port}`;
  url = `http://${authority}`;
});

after(() => {
  for (const s of sockets) s.destroy();
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The request the target read for `path`. */
function sent(path: string): string {
  const found = seen.filter((s) => s.startsWith(`${path.startsWith('/body') ? 'POST' : 'GET'} ${path} `));
  assert.equal(found.length, 1, `${path}: ${JSON.stringify(seen.slice(0, 3))}`);
  return found[0]!;
}

const clients = ['js', ...(httpAddon() ? ['native'] : [])];
for (const client of clients) {
  for (const originalHost of [false, true]) {
    const mode = originalHost ? 'with --http-original-host the first value' : "the target's host";
    test(`${client} client: a request with several Host lines is sent with one (${mode}), as gor`, async () => {
      seen.length = 0;
      process.env.TAPLINE_HTTP_CLIENT = client;
      const res = await runTapline(
        [
          '--input-file',
          `${file}|max`,
          '--output-http',
          url,
          '--output-http-timeout',
          '2s',
          ...(originalHost ? ['--http-original-host'] : []),
        ],
        { timeoutMs: 20_000 },
      ).finally(() => {
        delete process.env.TAPLINE_HTTP_CLIENT;
      });
      assert.equal(res.code, 0, res.stderr);
      assert.equal(seen.length, 44, res.stderr);
      assert.match(res.stderr, /requests 44, responses 44, status 2xx 44,/);
      const host = originalHost ? 'a' : authority;
      assert.equal(sent('/two'), `GET /two HTTP/1.1\r\nHost: ${host}\r\nX-A: 1\r\n\r\n`);
      assert.equal(sent('/three'), `GET /three HTTP/1.1\r\nHOST: ${host}\r\nX-A: 1\r\n\r\n`);
      assert.equal(sent('/last'), `GET /last HTTP/1.1\r\nX-A: 1\r\nHost: ${host}\r\n\r\n`);
      assert.equal(sent('/body'), `POST /body HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 9\r\n\r\nHost: c\r\n`);
      // Bytes read as latin1: U+017F is C5 BF.
      for (const s of seen) assert.equal(s.match(/\r\nho(s|\xc5\xbf)t:/gi)?.length, s.startsWith('POST') ? 2 : 1, s);
    });
  }
}
