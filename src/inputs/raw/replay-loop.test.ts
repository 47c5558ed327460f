/**
 * A capture that sees what the same run replays loops without end: '--input-raw lo:PORT --output-http
 * http://127.0.0.1:PORT' turned one curl into 458 requests in 2 s, without a word. It is now warned about.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runTapline } from '../../../test/support/cli.js';
import { parseRawAddress } from './address.js';
import { capturedReplayTargets } from './replay-loop.js';

const interfaces = {
  lo: [{ address: '127.0.0.1' }, { address: '::1' }],
  eth0: [{ address: '192.0.2.2' }, { address: 'fe80::1%eth0' }],
};

const targets = (input: string, http: string[], binary: string[] = []) =>
  capturedReplayTargets(parseRawAddress(input), { http, binary }, interfaces);

describe('input-raw: replaying to an address the capture sees', () => {
  it('names each replay target the capture sees: its port captured, its host one the capture filters on', () => {
    assert.deepEqual(targets('lo:8080', ['http://127.0.0.1:8080']), ['--output-http http://127.0.0.1:8080']);
    assert.deepEqual(targets(':8080', ['localhost:8080|50%']), ['--output-http localhost:8080']);
    assert.deepEqual(targets('127.0.0.1:8080', ['http://localhost:8080/api']), [
      '--output-http http://localhost:8080/api',
    ]);
    assert.deepEqual(targets('lo:0', ['http://[::1]:9000']), ['--output-http http://[::1]:9000']);
    assert.deepEqual(targets(':80,8080', ['http://192.0.2.2']), ['--output-http http://192.0.2.2']);
    assert.deepEqual(targets('lo:8080', [], ['127.0.0.1:8080']), ['--output-binary 127.0.0.1:8080']);
    // localhost captures ::1 too (docs/capture.md), so a replay to [::1] loops as well.
    assert.deepEqual(targets('localhost:8080', ['http://[::1]:8080']), ['--output-http http://[::1]:8080']);
  });

  it('leaves out targets it does not see: another port, another machine, an address reached over lo from eth0', () => {
    assert.deepEqual(targets('lo:8080', ['http://127.0.0.1:8081']), []);
    assert.deepEqual(targets(':8080', ['http://198.51.100.7:8080']), []);
    assert.deepEqual(targets('eth0:8080', ['http://192.0.2.2:8080', 'http://127.0.0.1:8080']), []);
    assert.deepEqual(targets('lo:8080', ['http://192.0.2.2:8080']), [], 'lo filters on its own addresses');
    assert.deepEqual(targets('dump.pcap:8080', ['http://127.0.0.1:8080']), [], 'a file');
    assert.deepEqual(targets(':8080', ['not a url ::']), []);
  });

  const skip = process.getuid?.() === 0 ? false : 'live capture needs root (CAP_NET_RAW)';
  it('the CLI warns once, naming the input and the output, and runs', { skip, timeout: 30_000 }, async () => {
    const r = await runTapline(
      ['--input-raw', 'lo:47123', '--output-http', 'http://127.0.0.1:47123', '--exit-after', '300ms'],
      { timeoutMs: 20_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stderr.split('\n').filter((l) => l.includes('replays to an address this capture sees'));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /warning: input-raw\(lo:47123\): --output-http http:\/\/127\.0\.0\.1:47123 replays/);
    const other = await runTapline(
      ['--input-raw', 'lo:47123', '--output-http', 'http://127.0.0.1:47124', '--exit-after', '300ms'],
      { timeoutMs: 20_000 },
    );
    assert.ok(!other.stderr.includes('replays to an address'), other.stderr);
  });
});
