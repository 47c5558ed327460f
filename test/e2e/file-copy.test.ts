/**
 * The foundation's promise on real recordings: every corpus `.gor` file is read with the record counts of
 * its truth file, and copied byte for byte by `--input-file X --output-file Y --output-file-append`, at
 * several speed settings (files that end with a separator; the others are read, and rewritten normalised).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SEPARATOR } from '../../src/core/gor-format.js';
import { runTapline } from '../support/cli.js';
import { corpusFiles, readTruth } from '../support/corpus.js';

const dir = mkdtempSync(join(tmpdir(), 'tapline-e2e-copy-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function spanSeconds(file: string): number {
  const truth = readTruth(file);
  const ts = [...truth.requests, ...truth.responses, ...truth.replayed_responses].map(
    (r: { timestamp_ns: string | number }) => BigInt(r.timestamp_ns),
  );
  if (ts.length === 0) return 0;
  const min = ts.reduce((a: bigint, b: bigint) => (b < a ? b : a));
  const max = ts.reduce((a: bigint, b: bigint) => (b > a ? b : a));
  return Number(max - min) / 1e9;
}

describe('corpus .gor files through the CLI', () => {
  for (const file of corpusFiles(['.gor'])) {
    const name = basename(file);
    const original = readFileSync(file);
    const terminated = original.subarray(-SEPARATOR.length).equals(SEPARATOR);
    const span = spanSeconds(file);
    // Every file at |max and at a high multiplier; short recordings also in real time and at 10x.
    const speeds = ['|max', '|100000%', ...(span / 10 < 3 ? ['|1000%'] : []), ...(span < 3 ? [''] : [])];
    for (const speed of speeds) {
      it(`${name} copied${speed ? ` at ${speed.slice(1)}` : ' at recorded speed'}`, async () => {
        const out = join(dir, `${name}${speed.replace(/[|%]/g, '_')}.copy.gor`);
        const res = await runTapline(
          ['--input-file', `${file}${speed}`, '--output-file', out, '--output-file-append'],
          {
            timeoutMs: 20_000,
          },
        );
        assert.equal(res.code, 0, res.stderr);
        const copy = readFileSync(out);
        const truth = readTruth(file);
        const records = copy.toString('latin1').split(SEPARATOR.toString('latin1')).length - 1;
        assert.equal(records, truth.counts.records, 'record count');
        if (terminated) {
          assert.ok(copy.equals(original), `${name}: the copy differs from the original`);
        } else {
          // Files without a final separator come out with one. python-goreplay-test.gor also has 12 records
          // whose timestamps go backwards; input-file replays in timestamp order (as gor does), so the copy
          // holds the same records, re-sorted: compare them as sets, and check the copy is in time order.
          const split = (b: Buffer) => b.toString('latin1').split(SEPARATOR.toString('latin1'));
          const eofCore = SEPARATOR.subarray(0, 13).toString('latin1');
          const want = split(original)
            .map((r) => (r.endsWith(eofCore) ? r.slice(0, -eofCore.length) : r))
            .filter((r) => r.length > 0);
          const got = split(copy).slice(0, -1);
          assert.deepEqual([...got].sort(), [...want].sort());
          const stamps = got.map((r) => BigInt(r.slice(0, r.indexOf('\n')).split(' ')[2]!));
          assert.ok(
            stamps.every((t, i) => i === 0 || t >= stamps[i - 1]!),
            'copy is in timestamp order',
          );
        }
      });
    }
  }

  it('--output-stdout writes the same bytes as the file', async () => {
    const file = corpusFiles(['datadog-ecommerce-requests_0.gor'])[0]!;
    const res = await runTapline(['--input-file', `${file}|max`, '--output-stdout']);
    assert.equal(res.code, 0, res.stderr);
    assert.ok(res.stdout.equals(readFileSync(file)));
  });
});
