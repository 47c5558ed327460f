/**
 * `--input-raw-expire 1ns` was taken without a word: every connection that pauses between two packets is given up
 * and its message in progress cut. Accepted as gor accepts it; now said once, naming the value.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runTapline } from '../../../test/support/cli.js';
import { CORPUS_DIR } from '../../../test/support/corpus.js';

const WARNING = 'is very short: a connection with no packet for that long is given up';
const FILE = join(CORPUS_DIR, 'gopacket-test_loopback.pcap');

describe('input-raw: a very short --input-raw-expire', () => {
  it('below 100ms is warned about once, naming the value; 100ms, the default and 0 (1s) are not', {
    timeout: 60_000,
  }, async () => {
    for (const value of ['1ns', '99ms']) {
      const r = await runTapline(['--input-raw', FILE, '--input-raw-expire', value, '--output-null'], {
        timeoutMs: 20_000,
      });
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stderr.split('\n').filter((l) => l.includes(WARNING));
      assert.equal(lines.length, 1, r.stderr);
      assert.ok(lines[0]!.includes(`--input-raw-expire ${value} ${WARNING}`), lines[0]);
    }
    for (const extra of [['--input-raw-expire', '100ms'], [], ['--input-raw-expire', '0']]) {
      const r = await runTapline(['--input-raw', FILE, ...extra, '--output-null'], { timeoutMs: 20_000 });
      assert.equal(r.code, 0, r.stderr);
      assert.ok(!r.stderr.includes(WARNING), `${extra.join(' ')}: ${r.stderr}`);
    }
  });
});
