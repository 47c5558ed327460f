// A package tapline loads only when a flag needs it, missing from node_modules: one line, not a stack trace.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { it } from 'node:test';
import { cliArgv } from '../support/cli.js';
import { REPO_ROOT } from '../support/corpus.js';

it('--output-file s3://… with @aws-sdk/lib-storage not installed: exit 1 naming the package and the fix', () => {
  const [node, ...rest] = cliArgv('--input-dummy', '0', '--output-file', 's3://bucket/x.gor', '--exit-after', '5s');
  const hide = join(REPO_ROOT, 'test', 'support', 'hide-package.mjs');
  const res = spawnSync(node!, ['--import', hide, ...rest], { encoding: 'utf8', timeout: 30_000, cwd: REPO_ROOT });
  assert.equal(res.status, 1, res.stderr);
  assert.match(
    res.stderr,
    /^tapline: error: cannot load tapline-test-missing-lib-storage \(imported by \S+s3\.[jt]s\): a package tapline needs is not installed; run npm ci in \/\S+ \(TAPLINE_ERR_FILE_IO\)$/m,
  );
  assert.doesNotMatch(res.stderr, /TAPLINE_ERR_INTERNAL|\n\s+at /);
});
