/**
 * `--input-raw 127.0.0.1:` (a colon, no port) captures every port, as gor reads it, but it was taken without a
 * word: a user who forgot the port got every port's traffic. The input now says so once, naming the value.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runTapline } from '../../../test/support/cli.js';
import { CORPUS_DIR } from '../../../test/support/corpus.js';
import { parseRawAddress } from './address.js';

const WARNING = 'no port after the colon: capturing every port, as gor does';

describe('input-raw: an empty port', () => {
  it('reads as every port, marked so, for an address, every interface, IPv6 and a file', () => {
    for (const text of ['127.0.0.1:', ':', '[::1]:', 'lo:', 'dump.pcap:']) {
      const a = parseRawAddress(text);
      assert.deepEqual(a.ports, [], text);
      assert.equal(a.emptyPort, true, text);
    }
    for (const text of ['127.0.0.1', ':0', '[::1]:80', 'lo:0', 'dump.pcap', ':80,8080']) {
      assert.equal(parseRawAddress(text).emptyPort, undefined, text);
    }
  });

  it('the CLI warns once, naming the value, and reads every port as gor does', { timeout: 30_000 }, async () => {
    const file = join(CORPUS_DIR, 'gopacket-test_loopback.pcap');
    const r = await runTapline(['--input-raw', `${file}:`, '--output-stdout'], { timeoutMs: 20_000 });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stderr.split('\n').filter((l) => l.includes(WARNING));
    assert.equal(lines.length, 1, r.stderr);
    assert.ok(lines[0]!.includes(`input-raw(${file}:)`), lines[0]);
    const whole = await runTapline(['--input-raw', file, '--output-stdout'], { timeoutMs: 20_000 });
    assert.ok(!whole.stderr.includes(WARNING), whole.stderr);
    assert.ok(r.stdout.length > 0);
    assert.deepEqual(r.stdout, whole.stdout, 'the same messages as no port at all');
  });

  const skip = process.getuid?.() === 0 ? false : 'live capture needs root (CAP_NET_RAW)';
  it('live: 127.0.0.1:, : and [::1]: each warn once', { skip, timeout: 60_000 }, async () => {
    for (const text of ['127.0.0.1:', ':', '[::1]:']) {
      const r = await runTapline(['--input-raw', text, '--output-null', '--exit-after', '200ms'], {
        timeoutMs: 20_000,
      });
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stderr.split('\n').filter((l) => l.includes(WARNING));
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, new RegExp(`warning: input-raw\\(${text.replace(/[[\].]/g, '\\$&')}\\): `));
    }
  });
});
