// Capture flag values checked when the input is created: a mistake is a usage error (exit 2) before the run,
// whatever the engine, never a failure when the input opens (exit 1) nor a value ignored in silence.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runTapline } from '../../../test/support/cli.js';
import { ERROR_CODES, TaplineError } from '../../core/errors.js';
import { checkTimestampType } from './libpcap.js';

describe('--input-raw-timestamp-type', () => {
  it('takes libpcap names in either spelling and go; refuses anything else, naming the flag', () => {
    for (const ok of ['', 'go', 'host', 'HOST_HIPREC', 'PCAP_TSTAMP_ADAPTER_UNSYNCED', 'host_hiprec_unsynced']) {
      assert.doesNotThrow(() => checkTimestampType(ok), ok);
    }
    for (const bad of ['bogus', 'hostt', 'PCAP_TSTAMP_', 'Go ']) {
      assert.throws(
        () => checkTimestampType(bad),
        (err: unknown) =>
          err instanceof TaplineError &&
          err.code === ERROR_CODES.USAGE &&
          err.where === '--input-raw-timestamp-type' &&
          err.message.startsWith(`unknown time stamp type ${JSON.stringify(bad)}`),
        bad,
      );
    }
  });

  it('an unknown name stops the run before it starts (exit 2) with af_packet (was ignored) and libpcap (was exit 1)', async () => {
    for (const engine of ['af_packet', 'libpcap']) {
      const r = await runTapline([
        '--input-raw',
        'lo:1',
        '--input-raw-engine',
        engine,
        '--input-raw-timestamp-type',
        'bogus',
        '--output-null',
        '--exit-after',
        '5s',
      ]);
      assert.equal(r.code, 2, `${engine}: ${r.stderr}`);
      assert.match(r.stderr, /--input-raw-timestamp-type: unknown time stamp type "bogus" .*TAPLINE_ERR_USAGE/);
    }
  });
});

describe('--input-raw-snaplen', () => {
  it('a value neither live engine takes (64 to 16 MiB) is a usage error before the run (was exit 1 at open)', async () => {
    for (const [value, why] of [
      ['10', /below the smallest value accepted, 64/],
      ['100mb', /above the largest value accepted, 16mb/],
    ] as const) {
      const r = await runTapline([
        '--input-raw',
        'lo:1',
        '--input-raw-snaplen',
        value,
        '--output-null',
        '--exit-after',
        '5s',
      ]);
      assert.equal(r.code, 2, `${value}: ${r.stderr}`);
      assert.match(r.stderr, /--input-raw-snaplen: /);
      assert.match(r.stderr, why);
    }
  });
});

describe('engine ranges', () => {
  it("a value outside the engine's range is a usage error before the run (was exit 1 when the input opened)", async () => {
    const cases = [
      ['af_packet', '--input-raw-buffer-timeout', '2m', /block timeout 120000 ms must be an integer from 0 to 60000/],
      ['libpcap', '--input-raw-buffer-timeout', '2h', /read timeout 7200000 ms must be an integer from 0 to 3600000/],
      ['libpcap', '--input-raw-buffer-size', '3gb', /buffer size 3221225472 must be an integer from 0 to 2147483647/],
      // A ring above the machine's memory: the kernel's 'Cannot allocate memory (PACKET_RX_RING)' at open, exit 1.
      [
        'af_packet',
        '--input-raw-buffer-size',
        '64tb',
        /a ring of 70368744177664 bytes is more than this machine's memory/,
      ],
      // Node's 'Could not get or set buffer size: uv_recv_buffer_size returned EINVAL' when the listener opened.
      ['vxlan', '--input-raw-buffer-size', '3gb', /receive buffer of 3221225472 bytes must be an integer from 0 to/],
    ] as const;
    for (const [engine, flag, value, why] of cases) {
      const args = [
        '--input-raw',
        'lo:1',
        '--input-raw-engine',
        engine,
        flag,
        value,
        '--output-null',
        '--exit-after',
        '5s',
      ];
      const r = await runTapline(args);
      assert.equal(r.code, 2, `${engine} ${flag} ${value}: ${r.stderr}`);
      assert.match(r.stderr, why);
    }
  });
});

describe('a port list longer than the af_packet filter takes', () => {
  // 2000 ports: about 11000 BPF instructions, above the kernel's 4096 (BPF_MAXINSNS).
  const many = Array.from({ length: 2000 }, (_, i) => i + 1).join(',');
  it('is a usage error before the run (exit 2, was exit 1 when the input opened), in the same words', async () => {
    for (const address of [`:${many}`, `lo:${many}`]) {
      const r = await runTapline(['--input-raw', address, '--output-null', '--exit-after', '5s']);
      assert.equal(r.code, 2, `${address.slice(0, 10)}…: ${r.stderr}`);
      assert.match(
        r.stderr,
        /--input-raw: the generated BPF program has \d+ instructions; the kernel accepts at most 4096 \(too many hosts or ports\) \(TAPLINE_ERR_USAGE\)/,
      );
    }
  });

  it('a list that fits is not refused (600 ports)', async () => {
    const fits = Array.from({ length: 600 }, (_, i) => i + 1).join(',');
    const r = await runTapline(['--input-raw', `lo:${fits}`, '--output-null', '--exit-after', '200ms']);
    // Without the right to capture the open fails (exit 1); what matters is that the command line is taken.
    assert.notEqual(r.code, 2, r.stderr);
    assert.doesNotMatch(r.stderr, /BPF program/);
  });
});
