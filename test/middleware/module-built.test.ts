/**
 * `--middleware-module file.ts` with the built CLI (bin/tapline.js, what users run), not under the test runner's
 * tsx: there the first import of a .ts file fails (ERR_UNKNOWN_FILE_EXTENSION) and tapline registers tsx itself.
 * Node keeps that failed import for the URL, so importing the same URL again failed too: every TypeScript module,
 * the README's example included, was 'cannot load …: Unknown file extension ".ts"' (exit 1). The tests run under
 * tsx never took that path. dist/ is built by `npm ci` (prepare); a dist/ older than the module loader is refused
 * rather than tested.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { fixture, request, response, writeGor } from './support.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BUILT = join(ROOT, 'dist', 'middleware', 'module.js');
const dir = mkdtempSync(join(tmpdir(), 'tapline-mw-built-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the built CLI over one request with the module; returns the run and what it wrote. */
function runBuilt(module: string, name: string) {
  assert.ok(existsSync(BUILT), 'dist/ is missing: run npm run build (npm ci does)');
  const source = statSync(join(ROOT, 'src', 'middleware', 'module.ts')).mtimeMs;
  assert.ok(statSync(BUILT).mtimeMs >= source, 'dist/ is older than src/middleware/module.ts: run npm run build');
  const input = writeGor(join(dir, `${name}.gor`), [request(1, '/a'), response(1)]);
  const out = join(dir, `${name}-out.gor`);
  const run = spawnSync(
    process.execPath,
    [
      join(ROOT, 'bin', 'tapline.js'),
      '--input-file',
      input,
      '--middleware-module',
      module,
      '--output-file',
      out,
      '--output-file-append',
    ],
    // No tsx in this process: NODE_OPTIONS from the test runner would bring it in.
    { encoding: 'utf8', timeout: 30_000, env: { ...process.env, NODE_OPTIONS: '' } },
  );
  return { run, written: existsSync(out) ? readFileSync(out, 'latin1') : '' };
}

it('the built CLI loads a TypeScript --middleware-module (tsx registered on demand)', () => {
  const { run, written } = runBuilt(fixture('modules/add-header.ts'), 'esm');
  assert.equal(run.status, 0, run.stderr);
  assert.match(written, /GET \/a HTTP\/1\.1\r\nX-Middleware: module\r\n/);
});

it('the built CLI loads a TypeScript module from a directory that is no ESM package (README: ./mw.ts)', () => {
  // The temporary directory has no package.json with "type": "module": tsx compiles the file to CommonJS. It
  // failed inside Node: 'cannot load ./mw.ts: Cannot require() ES Module … not yet fully loaded … This is
  // caused by either a bug in Node.js …' (ERR_INTERNAL_ASSERTION), exit 1.
  const mw = join(dir, 'mw.ts');
  writeFileSync(join(dir, 'header.ts'), "export const NAME: string = 'X-From-Mw';\n");
  writeFileSync(
    mw,
    "import { NAME } from './header';\nexport default (m: { setHeader(n: string, v: string): unknown; isRequest: boolean }) =>\n  m.isRequest ? m.setHeader(NAME, 'ts') : m;\n",
  );
  const { run, written } = runBuilt(mw, 'cjs');
  assert.equal(run.status, 0, run.stderr);
  assert.match(written, /GET \/a HTTP\/1\.1\r\nX-From-Mw: ts\r\n/);
});
