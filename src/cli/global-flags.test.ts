import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTaplineError } from '../core/errors.js';
import type { FlagSpec } from '../core/flags.js';
import { parseArgv } from './argv.js';
import { globalFlags, refuseIdleGlobalFlags } from './global-flags.js';

const specs = new Map<string, FlagSpec>(Object.entries(globalFlags));
const flags = (...argv: string[]) => parseArgv(argv, specs).flags;

test('--stats-interval with nothing that reads it is refused, naming what it needs', () => {
  for (const argv of [
    ['--stats-interval', '1s'],
    ['--stats-interval', '1s', '--stats=false'],
  ]) {
    assert.throws(
      () => refuseIdleGlobalFlags(flags(...argv), false),
      (err: unknown) =>
        isTaplineError(err) &&
        /--stats-interval: has no effect on this run: it needs --stats \(or --metrics, --dashboard, --output-influxdb\)/.test(
          err.describe(),
        ),
      argv.join(' '),
    );
  }
  refuseIdleGlobalFlags(flags('--stats-interval', '1s', '--stats'), false);
  refuseIdleGlobalFlags(flags('--stats-interval', '1s'), true); // --metrics and the like read its rate window
  refuseIdleGlobalFlags(flags('--stats'), false);
});
