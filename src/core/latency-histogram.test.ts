import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LatencyHistogram } from './latency-histogram.js';

test('percentiles are within the relative error of the exact ones', () => {
  const h = new LatencyHistogram({ relativeError: 0.01 });
  const values = Array.from({ length: 10_000 }, (_, i) => ((i * 7919) % 10_000) / 10 + 0.5); // 0.5 … 1000
  for (const v of values) h.record(v);
  const sorted = [...values].sort((a, b) => a - b);
  for (const p of [50, 90, 95, 99, 99.9]) {
    const exact = sorted[Math.ceil((p / 100) * sorted.length) - 1]!;
    const got = h.percentile(p);
    assert.ok(Math.abs(got - exact) / exact <= 0.01, `p${p}: ${got} vs ${exact}`);
  }
  assert.equal(h.count, 10_000);
  assert.equal(h.min, 0.5);
  assert.equal(h.max, 1000.4);
  assert.equal(h.percentile(100), 1000.4);
});

test('empty, tiny, invalid values, merge and reset', () => {
  const h = new LatencyHistogram();
  assert.deepEqual(h.summary(), { count: 0, min: 0, max: 0, mean: 0, p50: 0, p95: 0, p99: 0 });
  h.record(0);
  h.record(Number.NaN);
  h.record(-1);
  h.record(Number.POSITIVE_INFINITY);
  assert.equal(h.count, 1);
  assert.equal(h.percentile(50), 0);
  const other = new LatencyHistogram();
  for (let i = 0; i < 99; i++) other.record(100);
  h.merge(other);
  assert.equal(h.count, 100);
  assert.ok(Math.abs(h.percentile(99) - 100) <= 1);
  assert.throws(() => h.merge(new LatencyHistogram({ relativeError: 0.05 })), /different buckets/);
  h.reset();
  assert.equal(h.count, 0);
  assert.equal(h.percentile(50), 0);
});
