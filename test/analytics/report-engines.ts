/**
 * `tapline report` run with each tracker: the stats addon off (the JavaScript tracker, TAPLINE_STATS_ADDON=off)
 * or on (the native core, when it is built). Tests that compare the two use this.
 */
import { statsAddon } from '../../src/analytics/stats-addon.js';
import { type CliResult, runTapline } from '../support/cli.js';

/** The trackers to run: 'off' always, 'on' when the addon is built. */
export const engines = statsAddon() === null ? ['off'] : ['off', 'on'];

/** `tapline report ARGS` with the stats addon off (the JavaScript tracker) or on. */
export async function report(args: string[], addon: string): Promise<CliResult> {
  const was = process.env.TAPLINE_STATS_ADDON;
  if (addon === 'off') process.env.TAPLINE_STATS_ADDON = 'off';
  else delete process.env.TAPLINE_STATS_ADDON;
  try {
    return await runTapline(['report', ...args], { timeoutMs: 60_000 });
  } finally {
    if (was === undefined) delete process.env.TAPLINE_STATS_ADDON;
    else process.env.TAPLINE_STATS_ADDON = was;
  }
}
