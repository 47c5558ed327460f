/**
 * A capture file cut inside its last packet (a copy taken while tcpdump wrote it, a transfer that stopped)
 * exited 0 with a warning, so a recording job ('--input-raw dump.pcap --output-file out.gor') passed on part
 * of the file and looked done; tcpdump -r exits 1 on it, and so do 'tapline report' and a cut --input-file.
 * It now ends the input with an error (exit 1) after passing on what was read.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runTapline } from '../../../test/support/cli.js';
import { CORPUS_DIR } from '../../../test/support/corpus.js';

const ERROR =
  /error: input-raw\(.*\): the capture could not be read to its end \(see the warning above\); what was read was passed on \(TAPLINE_ERR_FILE_IO\)/;

describe('input-raw: a capture file cut short', () => {
  it('exits 1 naming the input, after passing on what was read; the whole file: exit 0', {
    timeout: 90_000,
  }, async () => {
    const whole = readFileSync(join(CORPUS_DIR, 'gopacket-test_loopback.pcap'));
    const dir = mkdtempSync(join(tmpdir(), 'tapline-cut-'));
    try {
      const cutFile = join(dir, 'cut.pcap');
      writeFileSync(cutFile, whole.subarray(0, whole.length - 10));
      const full = await runTapline([
        '--input-raw',
        join(CORPUS_DIR, 'gopacket-test_loopback.pcap'),
        '--output-stdout',
      ]);
      assert.equal(full.code, 0, full.stderr);
      assert.doesNotMatch(full.stderr, ERROR);

      const r = await runTapline(['--input-raw', cutFile, '--output-stdout']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /the input ends inside the last record \(10 bytes missing\)/);
      assert.match(r.stderr, ERROR);
      assert.match(r.stderr, /file cut short 1/);
      assert.ok(r.stdout.length > 0, 'the messages before the cut are passed on');

      const piped = await runTapline(['--input-raw', '-', '--output-null'], {
        stdin: whole.subarray(0, whole.length - 10),
      });
      assert.equal(piped.code, 1, piped.stderr);
      assert.match(piped.stderr, ERROR);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
