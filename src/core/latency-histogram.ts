/**
 * A small log-bucketed histogram for percentiles of non-negative values (latencies in ms, sizes in bytes…).
 * Bucket i holds values in [base^i, base^(i+1)) with base = 1 + relativeError, so any percentile read back
 * is within `relativeError` of a value that was recorded; memory stays a few KiB whatever the count.
 * Values below `minValue` share bucket 0 (they read back as `minValue`). Exact min, max, sum and count are
 * kept alongside.
 *
 *   const h = new LatencyHistogram();   // 1% relative error, values ≥ 0.001
 *   h.record(12.5); h.percentile(99);
 */
export interface HistogramOptions {
  /** Largest relative error of a percentile (default 0.01). */
  relativeError?: number;
  /** Values below this are counted in the lowest bucket (default 0.001). */
  minValue?: number;
}

export interface HistogramSummary {
  count: number;
  min: number;
  max: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
}

export class LatencyHistogram {
  private readonly logBase: number;
  private readonly base: number;
  private readonly minValue: number;
  private buckets: number[] = [];
  count = 0;
  sum = 0;
  min = Number.POSITIVE_INFINITY;
  max = 0;

  constructor(options: HistogramOptions = {}) {
    const error = options.relativeError ?? 0.01;
    if (!(error > 0 && error < 1)) throw new RangeError(`relativeError must be in (0, 1), got ${error}`);
    this.minValue = options.minValue ?? 0.001;
    if (!(this.minValue > 0)) throw new RangeError(`minValue must be positive, got ${this.minValue}`);
    this.base = 1 + error;
    this.logBase = Math.log(this.base);
  }

  record(value: number): void {
    if (!(value >= 0) || value === Number.POSITIVE_INFINITY) return; // NaN, negative, ∞: not a measurement
    const index = value < this.minValue ? 0 : Math.floor(Math.log(value / this.minValue) / this.logBase) + 1;
    const buckets = this.buckets;
    while (buckets.length <= index) buckets.push(0);
    buckets[index]!++;
    this.count++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }

  /** The value at percentile p (0–100); 0 when empty. Clamped to the exact min and max. */
  percentile(p: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil((Math.min(100, Math.max(0, p)) / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i]!;
      if (seen >= rank) {
        // The middle of the bucket (geometric), so the error is at most half a bucket either way.
        const value = i === 0 ? this.minValue : this.minValue * this.base ** (i - 1) * Math.sqrt(this.base);
        return Math.min(this.max, Math.max(this.min, value));
      }
    }
    return this.max;
  }

  /** Adds another histogram's counts (same options). */
  merge(other: LatencyHistogram): void {
    if (other.base !== this.base || other.minValue !== this.minValue) {
      throw new RangeError('cannot merge histograms with different buckets');
    }
    while (this.buckets.length < other.buckets.length) this.buckets.push(0);
    for (let i = 0; i < other.buckets.length; i++) this.buckets[i]! += other.buckets[i]!;
    this.count += other.count;
    this.sum += other.sum;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
  }

  reset(): void {
    this.buckets = [];
    this.count = 0;
    this.sum = 0;
    this.min = Number.POSITIVE_INFINITY;
    this.max = 0;
  }

  summary(): HistogramSummary {
    return {
      count: this.count,
      min: this.count ? this.min : 0,
      max: this.max,
      mean: this.count ? this.sum / this.count : 0,
      p50: this.percentile(50),
      p95: this.percentile(95),
      p99: this.percentile(99),
    };
  }
}
