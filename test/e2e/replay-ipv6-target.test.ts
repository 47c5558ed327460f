/**
 * `--output-http` to IPv6 targets, as gor takes them: `http://[::1]:PORT`, and one with a zone
 * (`http://[::1%25lo]:PORT`, RFC 6874, which Go's URL parser reads and Node's WHATWG URL refuses). Both
 * clients (the native sender resolves with getaddrinfo, which takes a zone name on link-local addresses only,
 * so tapline gives it the interface's index) against a node:http target on ::1 that records the Host header:
 * the zone is dialed, never sent (Go's client leaves it out of Host too).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { httpAddon } from '../../src/outputs/http-native.js';
import { runTapline } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tapline-replay-ipv6-'));
const file = join(dir, 'requests.gor');
const hosts: string[] = [];
let server: Server | undefined;
let port = 0;
/** The loopback interface's name, for the zone (`lo` on Linux). */
const loopback = Object.entries(networkInterfaces()).find(([, list]) =>
  (list ?? []).some((a) => a.internal && a.family === 'IPv6'),
)?.[0];

const SEP = '\n🐵🙈🙉\n';
const RECORDS = 5;

before(async () => {
  writeFileSync(
    file,
    Array.from(
      { length: RECORDS },
      (_, i) => `1 r${i} ${1_700_000_000_000_000_000n + BigInt(i)} 0\nGET /r${i} HTTP/1.1\r\nHost: a\r\n\r\n${SEP}`,
    ).join(''),
  );
  server = createServer((req, res) => {
    hosts.push(req.headers.host ?? '');
    res.end('ok');
  });
  await new Promise<void>((resolve, reject) => {
    server!.once('error', reject);
    server!.listen(0, '::1', () => resolve());
  });
  port = (server.address() as { port: number }).port;
});

after(() => {
  server?.closeAllConnections();
  server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const clients = ['js', ...(httpAddon() ? ['native'] : [])];
for (const client of clients) {
  for (const zoned of [false, true]) {
    const name = zoned ? 'a target with a zone (http://[::1%25lo]:PORT)' : 'http://[::1]:PORT';
    test(`${client} client: ${name} gets every request, Host without the zone`, {
      skip: zoned && !loopback,
    }, async () => {
      hosts.length = 0;
      const target = zoned ? `http://[::1%25${loopback}]:${port}` : `http://[::1]:${port}`;
      process.env.TAPLINE_HTTP_CLIENT = client;
      const res = await runTapline(['--input-file', file, '--output-http', target, '--output-http-timeout', '2s'], {
        timeoutMs: 20_000,
      }).finally(() => {
        delete process.env.TAPLINE_HTTP_CLIENT;
      });
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stderr, new RegExp(`requests ${RECORDS}, responses ${RECORDS}, status 2xx ${RECORDS},`));
      assert.deepEqual(hosts, Array(RECORDS).fill(`[::1]:${port}`), res.stderr);
    });
  }
}

test('an IPv6 target written without brackets, or with a bare % before its zone, is refused saying how to write it', async () => {
  for (const [target, hint] of [
    ['http://::1:8080', 'an IPv6 address goes in brackets: http://[::1]:8080'],
    ['http://[fe80::1%eth0]:8080', "an IPv6 zone's % is written %25"],
  ] as const) {
    const res = await runTapline(['--input-file', file, '--output-http', target], { timeoutMs: 20_000 });
    assert.equal(res.code, 2, res.stderr);
    assert.ok(res.stderr.includes(hint), res.stderr);
    assert.match(res.stderr, /TAPLINE_ERR_BAD_ADDRESS/);
  }
});
