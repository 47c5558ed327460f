/**
 * `--input-raw localhost:PORT` filtered on 127.0.0.1 only, as gor reads localhost: a client that reached
 * localhost over ::1 (Node 17 and later try it first where /etc/hosts names ::1 localhost, as Debian's does)
 * was not captured, without a word: 'fetch("http://localhost:PORT/")' beside 'curl http://localhost:PORT/'
 * gave 1 request of 2. localhost now means both loopback addresses.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { describe, it } from 'node:test';
import { runTapline, waitForStderr } from '../../../test/support/cli.js';
import { parseRawAddress } from './address.js';

const hasV6Loopback = (networkInterfaces().lo ?? []).some((a) => a.address === '::1');
const skip =
  process.getuid?.() !== 0 ? 'live capture needs root (CAP_NET_RAW)' : hasV6Loopback ? false : 'lo has no ::1';

function get(host: string, port: number, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('input-raw: localhost', () => {
  it('is 127.0.0.1 for the address, and marked so a live capture adds ::1', () => {
    const a = parseRawAddress('localhost:80');
    assert.equal(a.host, '127.0.0.1');
    assert.equal(a.localhost, true);
    assert.equal(parseRawAddress('127.0.0.1:80').localhost, undefined);
  });

  it('live: requests to 127.0.0.1 and to ::1 are both captured', { skip, timeout: 60_000 }, async () => {
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    server.listen(0, '::');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    let child: ChildProcess | undefined;
    try {
      const run = runTapline(
        ['--input-raw', `localhost:${port}`, '--input-raw-track-response', '--output-stdout', '--verbose', '1'],
        {
          timeoutMs: 50_000,
          onStart: (c) => {
            child = c;
          },
        },
      );
      await waitForStderr(child!, /BPF Filter/, 30_000);
      await get('127.0.0.1', port, '/four');
      await get('::1', port, '/six');
      child!.kill('SIGINT');
      const r = await run;
      const out = r.stdout.toString('latin1');
      assert.match(r.stderr, /dst host 127\.0\.0\.1 or dst host ::1/);
      assert.ok(out.includes('GET /four HTTP/1.1'), r.stderr);
      assert.ok(out.includes('GET /six HTTP/1.1'), r.stderr);
      assert.match(r.stderr, /requests 2, responses 2/);
    } finally {
      server.close();
    }
  });
});
