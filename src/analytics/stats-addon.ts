/**
 * tapline's optional stats addon (native/src/stats_core.cc, built by scripts/build-native.mjs): the accounting
 * core of the tracker in C++ (native-tracker.ts). Without it (not built, not Linux, built for another Node) or
 * with TAPLINE_STATS_ADDON=off, analytics runs the JavaScript tracker (tracker.ts): the same numbers, slower.
 * TAPLINE_STATS_ADDON=/path/to/tapline_stats.node loads that file instead of native/build's.
 */

import { loadAddon } from '../core/native-addon.js';

/** One accounting core (see native/src/stats_core.cc for the layouts of the arrays). */
export interface StatsCore {
  prepare(
    buffers: readonly Buffer[],
    ids: Buffer,
    recs: Int32Array,
    metas: Float64Array,
    n: number,
    jobs: Int32Array,
    /** The wall-clock time of each record (the records that need no job are counted during the call). */
    times?: Float64Array,
  ): number;
  scanGor(chunk: Buffer, from: number, jobs: Int32Array, state: Int32Array, times?: Float64Array): number;
  commit(answers: Float64Array, out: Float64Array, times?: Float64Array): number;
  take(out: Float64Array): number;
  flush(out: Float64Array, atMs?: number): number;
  aggregate(
    routeLimit: number,
    hostLimit: number,
    seriesSlots: number,
    logBase: number,
    recentWindowMs: number,
    bucketOf: (ms: number) => number,
  ): void;
  setTallies(on: boolean): void;
  aggregateState(): Float64Array;
  recentPerSecond(nowMs: number, sinceMs: number): number;
  counters(out: Float64Array): void;
  usedIndexes(routes: Uint8Array, hosts: Uint8Array): void;
}

export interface StatsAddon {
  StatsCore: new (
    maxPending: number,
    timeoutMs: number,
    preferReplayed: boolean,
    responses: number,
    simpleTemplates: boolean,
    latestReplayed: boolean,
  ) => StatsCore;
  /** Whether `chunk` holds a separator followed by a type-3 record's start (report-input.ts's byte search). */
  hasReplayed(chunk: Uint8Array): boolean;
  abiVersion: number;
}

// 6: responses that come before their request (an early 413) wait for it (765c497); an addon built before
// counts them as responses without request while the JavaScript tracker pairs them.
// 7: the latest replay's answer is accounted (latestReplayed), rounds are told (repeated_rounds), counters() has
// 9 counts and the round starts; an addon built before has neither.
// 8: records marked incomplete=REASON are counted (counters() has 2 more after the round starts), and prepare()
// reads a message's type plus 256 as marked; an addon built before read that type as not HTTP.
const ABI_VERSION = 8;
let addon: StatsAddon | null | undefined;

/** The addon, or null when it cannot be used. */
export function statsAddon(): StatsAddon | null {
  if (addon !== undefined) return addon;
  addon = null;
  const setting = process.env.TAPLINE_STATS_ADDON || undefined;
  if (setting === 'off') return addon;
  // Without it (not built, another version) the JavaScript tracker counts.
  addon = loadAddon<StatsAddon>('tapline_stats.node', ABI_VERSION, setting).addon;
  return addon;
}
