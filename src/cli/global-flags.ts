/** Flags that belong to the run as a whole rather than to one plugin. */
import { ERROR_CODES, TaplineError } from '../core/errors.js';
import type { FlagSet, FlagSpec } from '../core/flags.js';

const GENERAL = 'General';

export const globalFlags: Readonly<Record<string, FlagSpec>> = {
  verbose: {
    kind: 'int',
    min: '0',
    default: '0',
    section: GENERAL,
    value: 'N',
    help: 'Log more to stderr: 1 info, 2 details, 3 a line per message. Errors and warnings always show.',
  },
  stats: {
    kind: 'bool',
    section: GENERAL,
    help: 'Print pipeline statistics and where the bytes went (per-route header/body bytes, status classes, latency percentiles; docs/analytics.md) to stderr as one JSON object per line, every --stats-interval and at exit.',
    gorNote: 'gor prints nothing for --stats alone',
  },
  'stats-interval': {
    kind: 'duration',
    min: '10ms',
    default: '5s',
    section: GENERAL,
    help: 'How often --stats prints; also the window of the live bandwidth rate (bandwidth_bytes_per_s) that --metrics, --dashboard and --output-influxdb show.',
  },
  'exit-after': {
    kind: 'duration',
    min: '0',
    default: '0',
    section: GENERAL,
    help: 'Stop after this long (e.g. 30s, 5m), flush every output and exit 0.',
  },
  'split-output': {
    kind: 'bool',
    section: GENERAL,
    help: 'Send each request to one output in turn (round-robin) instead of to all; a response follows its request.',
  },
  'copy-buffer-size': {
    kind: 'size',
    min: '0',
    default: '0',
    section: GENERAL,
    value: 'SIZE',
    help: 'Cut payloads longer than this (counted and reported). 0 = never cut.',
    gorNote: 'gor cuts silently at 5mb by default',
  },
  progress: {
    kind: 'bool',
    default: 'true',
    section: GENERAL,
    help: 'Show a live status line while replaying files (only when stderr is a terminal that can redraw a line, TERM not dumb, and --output-stdout does not write to it too).',
  },
  'http-pprof': {
    kind: 'string',
    section: 'Profiling',
    value: 'ADDR',
    help: 'Serve /debug/vars (counters), /debug/pprof/profile (CPU profile) and /debug/pprof/heap (heap snapshot) on ADDR. A bare :port listens on 127.0.0.1 only.',
  },
  cpuprofile: {
    kind: 'string',
    section: 'Profiling',
    value: 'FILE',
    help: 'Write a V8 CPU profile of the whole run to FILE (open it in Chrome DevTools).',
  },
  memprofile: {
    kind: 'string',
    section: 'Profiling',
    value: 'FILE',
    help: 'Write a V8 heap snapshot to FILE when the run ends.',
  },
};

/**
 * A flag that shapes something this run does not do is refused, as the analytics flags are
 * (`--stats-interval 1s` without --stats printed nothing, exit 0: the user waited for stats that never came).
 * `analytics`: an analytics or live-consumer flag is given (their bandwidth rate is over --stats-interval too).
 */
export function refuseIdleGlobalFlags(flags: FlagSet, analytics: boolean): void {
  if (flags.has('stats-interval') && !flags.bool('stats') && !analytics) {
    throw new TaplineError(
      ERROR_CODES.USAGE,
      'has no effect on this run: it needs --stats (or --metrics, --dashboard, --output-influxdb)',
      { where: '--stats-interval' },
    );
  }
}

/**
 * gor's queue statistics (`--output-http-stats`, `--output-tcp-stats`, `--output-ws-stats`) print only with
 * --stats, in gor as here: without it the run printed nothing and said nothing. Warned, not refused: gor takes
 * such a command line, and a script may carry it.
 */
export function idleQueueStatsWarnings(flags: FlagSet): string[] {
  if (flags.bool('stats')) return [];
  return ['output-http-stats', 'output-tcp-stats', 'output-ws-stats']
    .filter((name) => flags.bool(name))
    .map((name) => `--${name} prints gor's queue statistics only with --stats (as in gor): add --stats to see them`);
}
