import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatGoDuration } from '../core/values.js';
import { formatDryRunReport, formatGoDurationNs } from './file-dry-run.js';
import { GorWaits, MAX_INT64 } from './file-timing.js';

describe('Go time.Duration.String on int64 ns', () => {
  const table: [bigint, string][] = [
    [0n, '0s'],
    [1n, '1ns'],
    [999n, '999ns'],
    [1_000n, '1µs'],
    [1_100n, '1.1µs'],
    [2_200_000n, '2.2ms'],
    [150_000_000n, '150ms'],
    [1_000_000_000n, '1s'],
    [1_500_000_000n, '1.5s'],
    [60_000_000_000n, '1m0s'],
    [3_600_000_000_000n, '1h0m0s'],
    [3_723_004_005_006n, '1h2m3.004005006s'],
    [-1_500_000_000n, '-1.5s'],
    [-5_000n, '-5µs'],
    [MAX_INT64, '2562047h47m16.854775807s'],
    [-MAX_INT64 - 1n, '-2562047h47m16.854775808s'],
  ];
  for (const [ns, want] of table) it(`${ns} → ${want}`, () => assert.equal(formatGoDurationNs(ns), want));

  it('agrees with formatGoDuration (ms) where a double is exact', () => {
    for (const ms of [0, 0.000001, 0.5, 1, 150, 1500, 59_999, 60_000, 3_600_000, 90_061_001]) {
      assert.equal(formatGoDurationNs(BigInt(Math.round(ms * 1e6))), formatGoDuration(ms), String(ms));
    }
  });
});

describe('dry-run report', () => {
  it('prints gor’s exact text', () => {
    const waits = new GorWaits({ speed: 1, maxWaitNs: 0n });
    for (const ts of [100_000_000n, 150_000_000n, 250_000_000n, 120_000_000n, 1_250_000_000n]) waits.next(ts);
    assert.equal(
      formatDryRunReport({ records: 5, files: 2, bytes: 1234, waits }),
      'Records found: 5\n' +
        'Files processed: 2\n' +
        'Bytes processed: 1234\n' +
        'Max wait: 1s\n' +
        'Min wait: 50ms\n' +
        'First wait: 50ms\n' +
        'It will take `1.15s` to replay at current speed.\n' +
        'Found 1 records with out of order timestamp\n',
    );
  });

  it('prints the max int64 "Min wait" when there was a single record', () => {
    const waits = new GorWaits({ speed: 1, maxWaitNs: 0n });
    waits.next(42n);
    assert.equal(
      formatDryRunReport({ records: 1, files: 1, bytes: 10, waits }),
      'Records found: 1\nFiles processed: 1\nBytes processed: 10\nMax wait: 0s\n' +
        'Min wait: 2562047h47m16.854775807s\nFirst wait: 0s\n' +
        'It will take `0s` to replay at current speed.\nFound 0 records with out of order timestamp\n',
    );
  });
});
