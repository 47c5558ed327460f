/**
 * Bandwidth analytics: where the bytes go, per route, per host, live and from files.
 *
 *   Message ─▶ observe() ─▶ ExchangeTracker (pairs by id) ─▶ Exchange ─┬─▶ Aggregator (whole run) ─▶ snapshot()
 *                                                                     ├─▶ window slices (1 s each) ─▶ window(ms)
 *                                                                     └─▶ onExchange listeners (Parquet, …)
 *
 * The API every consumer uses (the --stats line, `tapline report`, budgets, alerts, exporters, dashboard):
 *
 *   const analytics = createAnalytics({ routes: ['/users/:id'] });
 *   analytics.observe(msg);            // every message: requests (1), original (2) and replayed (3) responses
 *   analytics.snapshot();              // AnalyticsSnapshot (types.ts) of everything counted so far; pure: reading
 *                                      // changes nothing, so every consumer may call it on its own schedule
 *   analytics.window(30_000);          // the same shape for exchanges completed in the last 30 s (wall clock)
 *   analytics.onExchange((e) => …);    // each Exchange as it completes; returns an unsubscribe function
 *   analytics.finish();                // end of input: requests still waiting are counted as no-response
 *
 * Everything is synchronous and single-threaded: observe() runs on the pipeline's hot path (a Processor
 * that returns the message untouched), consumers read snapshots from timers. Memory is bounded (see
 * tracker.ts, aggregator.ts, routes.ts).
 */
import type { Message } from '../core/message.js';
import type { RawRun } from '../core/plugin.js';
import { Aggregator, type AggregatorOptions, type Tally } from './aggregator.js';
import { NativeTracker } from './native-tracker.js';
import { RecentRate } from './recent-rate.js';
import { RouteNamer } from './routes.js';
import { statsAddon } from './stats-addon.js';
import { type ExchangeSink, ExchangeTracker, type TrackerCounters, type TrackerOptions } from './tracker.js';
import type { AnalyticsSnapshot, Exchange } from './types.js';

export type { Breach, Budgets } from './budgets.js';
export { budgetsFromFlags, evaluateBudgets, hasBudgets } from './budgets.js';
export { SparseHistogram } from './histogram.js';
export { NO_REQUEST_ROUTE, OVERFLOW_ROUTE, templatePath } from './routes.js';
export type * from './types.js';

export interface AnalyticsOptions extends TrackerOptions, AggregatorOptions {
  /** `--route` patterns (first match wins). */
  routes?: readonly string[];
  /**
   * Longest window() asked for, ms (slices older than this are dropped). Default 5 minutes. Slices are 1 s up to
   * a 5-minute window and wider beyond (at most WINDOW_SLICES of them), so a long --alert-window costs no more
   * memory than 5 minutes does; window(ms) then counts whole slices (up to one slice more than `ms`).
   */
  maxWindowMs?: number;
  /** Top routes in `top_endpoints`. Default 10. */
  top?: number;
  /**
   * What elapsed_s and bandwidth_bytes_per_s measure: 'wall' (live runs: the run's time, and bandwidth over
   * the last `rateWindowMs` of wall-clock time) or 'input' (files: first to last request timestamp, and
   * bandwidth over that span). Default 'wall'.
   */
  timeBase?: 'wall' | 'input';
  /** Live runs: bandwidth_bytes_per_s covers exchanges completed in this much wall-clock time. Default 5 s. */
  rateWindowMs?: number;
  /** Wall clock in ms (tests pass their own). */
  now?: () => number;
  /**
   * 'auto' (default): the stats addon's C++ core when it is built (not with TAPLINE_STATS_ADDON=off) and no
   * onExchange listener exists at the first message; 'js': the JavaScript tracker always (tests compare both).
   */
  engine?: 'auto' | 'js';
}

export interface Analytics {
  observe(msg: Message): void;
  /**
   * `.gor` bytes straight into the native core (report-input.ts): the records of `chunk` from `from` on, read
   * in C++ without record objects, until it needs more bytes (`needsMore`) or meets a record the JavaScript
   * reader must read (CRLF, malformed, empty). undefined when the native core is not in use: use observe().
   */
  scanGor(chunk: Buffer, from: number): { next: number; records: number; needsMore: boolean } | undefined;
  /**
   * The records of a raw run (core/plugin.ts), as observe() would take them one by one: its parts go through
   * scanGor when the native core is in use, the records it does not take (and all of them without the core)
   * through observe().
   */
  observeRun(run: RawRun): void;
  snapshot(): AnalyticsSnapshot;
  window(ms: number): AnalyticsSnapshot;
  onExchange(listener: (exchange: Exchange) => void): () => void;
  finish(): void;
  /** Message numbers (from 0, in the order observed) where the input started a new round (tracker.ts). */
  roundStarts(): readonly number[];
  /** The tracker's counters so far (a copy; cheaper than snapshot(): `report` reads them after each file). */
  counters(): TrackerCounters;
}

/** The largest part of a raw run observeRun() hands to scanGor. */
const SCAN_MAX = 0x7fffffff;

/** window() slices kept at most: 1 s each over the default 5-minute window. */
const WINDOW_SLICES = 300;

export function createAnalytics(options: AnalyticsOptions = {}): Analytics {
  const now = options.now ?? Date.now;
  const startedMs = now();
  // Built now, not at the first message, so a malformed --route is a usage error before any input is read.
  const routes = new RouteNamer({ rules: options.routes ?? [] });
  const maxWindowMs = options.maxWindowMs ?? 5 * 60_000;
  const sliceMs = Math.max(1000, Math.ceil(maxWindowMs / WINDOW_SLICES / 1000) * 1000);
  const aggregator = new Aggregator(options);
  const listeners = new Set<(e: Exchange) => void>();
  /** Per-second aggregators for window(), newest last; only kept while someone asks for windows. */
  const slices: { at: number; agg: Aggregator }[] = [];
  let windowsWanted = options.maxWindowMs !== undefined; // else from the first window() call on
  const wall = options.timeBase !== 'input';
  const recent = new RecentRate(options.rateWindowMs ?? 5000);

  /** Adds `t` to the window() slice of wall-clock time `nowMs`. */
  const addToSlice = (t: Tally, nowMs: number) => {
    const at = Math.floor(nowMs / sliceMs) * sliceMs;
    let last = slices[slices.length - 1];
    if (!last || last.at !== at) {
      last = { at, agg: aggregator.fresh() };
      slices.push(last);
      while (slices.length > 0 && slices[0]!.at < at - maxWindowMs) slices.shift();
    }
    last.agg.add(t);
  };
  const sink: ExchangeSink = {
    wantsExchanges: () => listeners.size > 0,
    add(t: Tally, e: Exchange | undefined, atMs?: number) {
      aggregator.add(t);
      if (wall || windowsWanted) {
        const now_ = atMs ?? now();
        if (wall)
          recent.add(now_, t.requestHeaderBytes + t.requestBodyBytes + t.responseHeaderBytes + t.responseBodyBytes);
        if (windowsWanted) addToSlice(t, now_);
      }
      if (e) for (const l of listeners) l(e);
    },
  };
  /** The native core adds up the whole run and the live rate itself; tallies come only for window() slices. */
  const sliceSink: ExchangeSink = {
    wantsExchanges: () => false,
    add(t: Tally, _e: Exchange | undefined, atMs?: number) {
      if (windowsWanted) addToSlice(t, atMs ?? now());
    },
  };
  // The C++ core (native-tracker.ts) when the stats addon is there and nobody wants Exchange objects, decided at
  // the first message: every consumer subscribes before traffic flows (report --parquet, --metrics).
  let chosen: ExchangeTracker | NativeTracker | undefined;
  const tracker = (): ExchangeTracker | NativeTracker => {
    if (chosen) return chosen;
    const addon = listeners.size === 0 && options.engine !== 'js' ? statsAddon() : null;
    const stamp = () => (wall || windowsWanted ? now() : 0);
    if (!addon) {
      chosen = new ExchangeTracker(routes, sink, options);
      return chosen;
    }
    const native = new NativeTracker(addon, routes, sliceSink, options, stamp);
    native.aggregate({
      routeLimit: options.routeLimit ?? 1000,
      hostLimit: options.hostLimit ?? 200,
      seriesSlots: options.seriesSlots ?? 720,
      recentWindowMs: wall ? (options.rateWindowMs ?? 5000) : 0,
    });
    if (windowsWanted) native.setTallies(true);
    chosen = native;
    return chosen;
  };
  /** The whole run's totals: the native core's, or the JavaScript aggregator's. */
  const whole = (): Aggregator => {
    const t = tracker();
    return t instanceof NativeTracker ? t.loadAggregate(aggregator.fresh()) : aggregator;
  };

  const context = (elapsedS: number, bandwidth?: number) => ({
    elapsedS,
    counters: tracker().counters,
    pending: tracker().pendingCount,
    top: options.top ?? 10,
    ...(bandwidth !== undefined ? { bandwidthBytesPerS: bandwidth } : {}),
  });

  return {
    observe: (msg) => tracker().observe(msg),
    scanGor(chunk, from) {
      const t = tracker();
      if (!(t instanceof NativeTracker)) return undefined;
      const state = t.scanGor(chunk, from);
      return { next: state[0]!, records: state[1]!, needsMore: state[2] === 1 };
    },
    observeRun(run) {
      const t = tracker();
      let taken = 0;
      if (t instanceof NativeTracker) {
        for (const part of run.parts) {
          if (part.length > SCAN_MAX) break; // (the core's offsets are 32-bit)
          const state = t.scanGor(part, 0);
          taken += state[1]!;
          if (state[0] !== part.length) break;
        }
        if (taken === run.count) return;
      }
      const records = run.records();
      for (let i = taken; i < records.length; i++) t.observe(records[i]!);
    },
    snapshot() {
      tracker().sync();
      // Pure: no timer is restarted and nothing is expired here (requests past their timeout are answered as
      // the next request arrives), so a Prometheus scrape cannot shorten the --stats line's interval.
      const all = whole();
      if (!wall) return all.snapshot(context(all.spanS));
      const t = now();
      const tr = tracker();
      const rate = tr instanceof NativeTracker ? tr.recentPerSecond(t, startedMs) : recent.perSecond(t, startedMs);
      return all.snapshot(context((t - startedMs) / 1000, rate));
    },
    window(ms) {
      const tr = tracker();
      tr.sync();
      if (!windowsWanted && tr instanceof NativeTracker) tr.setTallies(true);
      windowsWanted = true;
      const t = now();
      const from = t - ms;
      const sum = aggregator.fresh();
      for (const s of slices) if (s.at + sliceMs > from) sum.merge(s.agg);
      const seconds = Math.min(ms, t - startedMs) / 1000;
      return sum.snapshot({ ...context(seconds), pending: tracker().pendingCount });
    },
    onExchange(listener) {
      if (chosen instanceof NativeTracker) throw new Error('analytics: onExchange() after the first message');
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    finish: () => tracker().flush(),
    roundStarts: () => [...tracker().roundStarts],
    counters: () => ({ ...tracker().counters }),
  };
}
