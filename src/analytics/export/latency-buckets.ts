/**
 * Fixed-bucket latency histograms per route, for exporters whose format wants cumulative buckets
 * (Prometheus `le` buckets). Fed one exchange at a time; memory is bounded by `maxSeries` (routes past it share
 * one series, counted in `overflowed`), on top of the aggregator's own route cardinality limit.
 */
import type { Exchange } from '../types.js';

/** Upper bounds in seconds: 1 ms … 10 s, roughly ×2.5 apart (the usual Prometheus spread for HTTP). */
export const LATENCY_BOUNDS_S: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

export const OVERFLOW_SERIES = '(other)';

export interface LatencySeries {
  readonly route: string;
  readonly host: string;
  /** counts[i] = exchanges with latency ≤ LATENCY_BOUNDS_S[i] and > the previous bound (not cumulative). */
  readonly counts: number[];
  /** Exchanges above the last bound (the +Inf bucket minus the others). */
  above: number;
  count: number;
  sumSeconds: number;
}

export class LatencyBuckets {
  private readonly series = new Map<string, LatencySeries>();
  /** Exchanges filed under OVERFLOW_SERIES because `maxSeries` was reached. */
  overflowed = 0;

  constructor(private readonly maxSeries = 5000) {}

  observe(exchange: Exchange): void {
    if (exchange.latencyNs === undefined) return;
    const seconds = Number(exchange.latencyNs) / 1e9;
    if (!(seconds >= 0)) return;
    let key = `${exchange.host}\u0000${exchange.route}`;
    let s = this.series.get(key);
    if (!s) {
      if (this.series.size >= this.maxSeries) {
        this.overflowed++;
        key = `\u0000${OVERFLOW_SERIES}`;
        s = this.series.get(key);
      }
      if (!s) {
        const overflow = key.startsWith('\u0000') && key.endsWith(OVERFLOW_SERIES);
        s = {
          route: overflow ? OVERFLOW_SERIES : exchange.route,
          host: overflow ? '' : exchange.host,
          counts: LATENCY_BOUNDS_S.map(() => 0),
          above: 0,
          count: 0,
          sumSeconds: 0,
        };
        this.series.set(key, s);
      }
    }
    const i = LATENCY_BOUNDS_S.findIndex((bound) => seconds <= bound);
    if (i === -1) s.above++;
    else s.counts[i]!++;
    s.count++;
    s.sumSeconds += seconds;
  }

  all(): IterableIterator<LatencySeries> {
    return this.series.values();
  }
}
