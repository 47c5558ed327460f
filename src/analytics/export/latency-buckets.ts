/**
 * Fixed-bucket latency histograms per route, for exporters whose format wants cumulative buckets
 * (Prometheus `le` buckets). Fed one exchange at a time and keyed by route alone, as the aggregator's route
 * totals are, so the exporter can give each histogram the labels of its route's counters (`renderPrometheus`
 * folds the routes the aggregator filed under `(other)` into that series). Memory is bounded by `maxSeries`
 * (routes past it share one series, counted in `overflowed`); the metrics server sets it above the route limit.
 */
import type { Exchange } from '../types.js';

/** Upper bounds in seconds: 1 ms … 10 s, roughly ×2.5 apart (the usual Prometheus spread for HTTP). */
export const LATENCY_BOUNDS_S: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

export const OVERFLOW_SERIES = '(other)';

export interface LatencySeries {
  readonly route: string;
  /** counts[i] = exchanges with latency ≤ LATENCY_BOUNDS_S[i] and > the previous bound (not cumulative). */
  readonly counts: number[];
  /** Exchanges above the last bound (the +Inf bucket minus the others). */
  above: number;
  count: number;
  sumSeconds: number;
}

export function emptySeries(route: string): LatencySeries {
  return { route, counts: LATENCY_BOUNDS_S.map(() => 0), above: 0, count: 0, sumSeconds: 0 };
}

/** Adds `from`'s counts into `into`. */
export function addSeries(into: LatencySeries, from: LatencySeries): void {
  for (let i = 0; i < into.counts.length; i++) into.counts[i]! += from.counts[i]!;
  into.above += from.above;
  into.count += from.count;
  into.sumSeconds += from.sumSeconds;
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
    let s = this.series.get(exchange.route);
    if (!s) {
      let route = exchange.route;
      if (this.series.size >= this.maxSeries) {
        this.overflowed++;
        route = OVERFLOW_SERIES;
        s = this.series.get(route);
      }
      if (!s) {
        s = emptySeries(route);
        this.series.set(route, s);
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
