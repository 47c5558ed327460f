/**
 * A sparse log-bucket histogram of latencies (ms) for per-route percentiles.
 *
 * Same bucketing idea as core/latency-histogram.ts (bucket i holds [min·b^(i-1), min·b^i), b = 1 + error,
 * so a percentile is within `error` of a recorded value), but the buckets live in a Map: core's dense array
 * grows to ~1,500 slots (12 KiB) as soon as one slow request is recorded, and analytics keeps one histogram
 * per route, per host and per sliding-window slice — thousands of them. A Map holds only the buckets used
 * (latencies of one route cluster in a few dozen). Mergeable, so window() can add slices together.
 */
const RELATIVE_ERROR = 0.02;
const BASE = 1 + RELATIVE_ERROR;
const LOG_BASE = Math.log(BASE);
/** Below this (1 µs) everything shares bucket 0. */
const MIN_MS = 0.001;

export class SparseHistogram {
  private readonly buckets = new Map<number, number>();
  count = 0;
  max = 0;
  min = Number.POSITIVE_INFINITY;

  /** The bucket `ms` falls in, or -1 when it cannot be recorded (negative, NaN, infinite). */
  static bucketOf(ms: number): number {
    if (!(ms >= 0) || ms === Number.POSITIVE_INFINITY) return -1;
    return ms < MIN_MS ? 0 : Math.floor(Math.log(ms / MIN_MS) / LOG_BASE) + 1;
  }

  record(ms: number): void {
    this.recordIn(SparseHistogram.bucketOf(ms), ms);
  }

  /** record(ms) with its bucketOf(ms) already known (one logarithm for the several histograms of an exchange). */
  recordIn(index: number, ms: number): void {
    if (index < 0) return;
    this.buckets.set(index, (this.buckets.get(index) ?? 0) + 1);
    this.count++;
    if (ms > this.max) this.max = ms;
    if (ms < this.min) this.min = ms;
  }

  /** Sets the state from the native core's copy (native-tracker.ts): `pairs` = bucket, count, bucket, count… */
  load(count: number, max: number, min: number, pairs: ArrayLike<number>, from: number, n: number): void {
    this.buckets.clear();
    for (let k = 0; k < n; k++) this.buckets.set(pairs[from + 2 * k]!, pairs[from + 2 * k + 1]!);
    this.count = count;
    this.max = max;
    this.min = min;
  }

  merge(other: SparseHistogram): void {
    for (const [i, n] of other.buckets) this.buckets.set(i, (this.buckets.get(i) ?? 0) + n);
    this.count += other.count;
    if (other.max > this.max) this.max = other.max;
    if (other.min < this.min) this.min = other.min;
  }

  /** The value at percentile p (0–100); 0 when empty; clamped to the exact min and max. */
  percentile(p: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil((Math.min(100, Math.max(0, p)) / 100) * this.count));
    const indexes = [...this.buckets.keys()].sort((a, b) => a - b);
    let seen = 0;
    for (const i of indexes) {
      seen += this.buckets.get(i)!;
      if (seen >= rank) {
        const value = i === 0 ? MIN_MS : MIN_MS * BASE ** (i - 1) * Math.sqrt(BASE);
        return Math.min(this.max, Math.max(this.min, value));
      }
    }
    return this.max;
  }

  /** How many recorded values are at most `ms` (bucket resolution): for cumulative exporter buckets. */
  countAtMost(ms: number): number {
    let n = 0;
    const limit = ms < MIN_MS ? 0 : Math.floor(Math.log(ms / MIN_MS) / LOG_BASE) + 1;
    for (const [i, c] of this.buckets) if (i <= limit) n += c;
    return n;
  }
}
