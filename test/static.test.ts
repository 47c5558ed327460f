/** The code base stays type-correct and lint-clean: the same checks a reviewer would run by hand. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { it } from 'node:test';
import { REPO_ROOT } from './support/corpus.js';

const bin = (name: string) => join(REPO_ROOT, 'node_modules', '.bin', name);

it('tsc: no type errors (strict)', { timeout: 180_000 }, () => {
  const res = spawnSync(bin('tsc'), ['-p', 'tsconfig.json'], { cwd: REPO_ROOT, encoding: 'utf8' });
  assert.equal(res.status, 0, res.stdout + res.stderr);
});

it('biome: lint and format clean', { timeout: 60_000 }, () => {
  // Biome's platform-independent wrapper cannot be locked here (its other platforms' packages are not on the
  // registry this project uses), so the Linux x64 binary is a direct dependency.
  const biome = join(REPO_ROOT, 'node_modules', '@biomejs', 'cli-linux-x64', 'biome');
  const res = spawnSync(biome, ['check', '.'], { cwd: REPO_ROOT, encoding: 'utf8' });
  assert.equal(res.status, 0, res.stdout + res.stderr);
});

it('package-lock.json lists every optional dependency, so `npm ci` accepts it on a fresh machine', () => {
  // npm install on this registry drops platform packages it cannot find; scripts/complete-lock.mjs restores them.
  const res = spawnSync(process.execPath, ['scripts/complete-lock.mjs', '--check'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  assert.equal(res.status, 0, `${res.stderr}run: node scripts/complete-lock.mjs`);
});
