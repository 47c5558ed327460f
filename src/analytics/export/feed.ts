/**
 * What the live consumers (Prometheus, InfluxDB, alerts, the dashboard) need from the aggregator: a snapshot to
 * read and, for the consumers that keep their own per-exchange state (latency histograms), a stream of
 * exchanges. The aggregator (src/analytics/index.ts) satisfies this shape; tests build one from fixed data.
 *
 *   aggregator ─ snapshot() ─▶ exporters read cumulative totals when scraped / at each interval
 *              ─ onExchange ─▶ exporters that bucket per exchange (histograms)
 */
import type { AnalyticsSnapshot, Exchange } from '../types.js';

export interface AnalyticsFeed {
  /** Cumulative totals since the run started (routes, hosts, byte and status counts). */
  snapshot(): AnalyticsSnapshot;
  /** Calls `listener` for every finished exchange; returns the unsubscribe function. */
  onExchange(listener: (exchange: Exchange) => void): () => void;
}
