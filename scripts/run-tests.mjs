#!/usr/bin/env node
// Runs every *.test.ts under src/ and test/ with node:test through tsx.
// Node 20's --test does not expand globs, so the file list is built here.
// Usage: npm test [-- substring ...]   (only files whose path contains one of the substrings)
//
// The end-to-end tests start the CLI in a child process over a thousand times. Through tsx each start costs
// ~0.8 s (its loader, then every module transformed on the way); from plain JavaScript ~0.3 s, as bin/tapline.js
// starts dist/. So the sources are transpiled here once per run (esbuild, the transformer tsx itself uses, so the
// same JavaScript; ~0.5 s) into a directory of this run's own, .test-dist-PID/ beside src/ (at the same depth:
// the modules find native/build and package.json as from src/ and dist/), which test/support/cli.ts starts the CLI
// from (TAPLINE_TEST_BUILD). It is removed when the run ends. Tests that import modules in-process still import
// the sources.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const roots = ['src', 'test'];
const filters = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const passThrough = process.argv.slice(2).filter((a) => a.startsWith('-'));
const files = roots
  .flatMap((root) => {
    try {
      return readdirSync(root, { recursive: true }).map((f) => join(root, String(f)));
    } catch {
      return [];
    }
  })
  .filter((f) => f.endsWith('.test.ts'))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();

if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}

/** The transpiled copy of src/ with the CLI's entry, or undefined (then the tests start the CLI through tsx). */
async function transpile() {
  const out = resolve(`.test-dist-${process.pid}`);
  const sources = readdirSync('src', { recursive: true })
    .map(String)
    .filter((f) => (f.endsWith('.ts') && !f.endsWith('.test.ts')) || f.endsWith('.mjs'))
    .map((f) => join('src', f));
  try {
    const { build } = await import('esbuild');
    await build({
      entryPoints: sources,
      outdir: out,
      outbase: 'src',
      format: 'esm',
      platform: 'node',
      target: 'node20',
      logLevel: 'error',
    });
    // bin/tapline.js itself, pointed at this copy instead of dist/.
    const bin = readFileSync('bin/tapline.js', 'utf8');
    const entry = bin.replace("'../dist/cli/main.js'", "'./cli/main.js'");
    if (entry === bin) throw new Error("bin/tapline.js no longer imports '../dist/cli/main.js'");
    writeFileSync(join(out, 'tapline.js'), entry);
    return out;
  } catch (err) {
    rmSync(out, { recursive: true, force: true });
    console.error(`run-tests: the CLI runs through tsx (transpiling src/ failed: ${err?.message ?? err})`);
    return undefined;
  }
}

const build = await transpile();
const reporter = process.env.CI ? ['--test-reporter=spec'] : [];
const env = build ? { ...process.env, TAPLINE_TEST_BUILD: build } : process.env;
// Ctrl-C reaches the test processes too (one process group); this one only waits for them, then cleans up.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => {});
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', ...reporter, ...passThrough, ...files],
  { stdio: 'inherit', env },
);
if (build) rmSync(build, { recursive: true, force: true });
process.exit(result.status ?? 1);
