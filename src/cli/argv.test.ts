import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTaplineError } from '../core/errors.js';
import type { FlagSpec } from '../core/flags.js';
import { parseArgv } from './argv.js';

const specs = new Map<string, FlagSpec>([['input-dummy', { kind: 'string', help: '', section: 'General' }]]);

test('--version among other arguments says it works alone, not that it is unknown', () => {
  for (const arg of ['--version', '-version']) {
    assert.throws(
      () => parseArgv(['--input-dummy', 'x', arg], specs),
      (err: unknown) =>
        isTaplineError(err) &&
        err.code === 'TAPLINE_ERR_USAGE' &&
        /prints the version on its own: run tapline --version/.test(err.describe()) &&
        !/unknown flag/.test(err.describe()),
    );
  }
});
