/**
 * Runs the tapline CLI in a child process, so end-to-end tests exercise argument parsing, signals, exit codes and
 * stdio exactly as a user sees them, without needing `npm run build`.
 *
 * Which code the child runs: `npm test` (scripts/run-tests.mjs) transpiles src/ once per run into a directory of
 * its own and names it in TAPLINE_TEST_BUILD; the child then starts that JavaScript as bin/tapline.js starts dist/
 * (about 0.3 s a start instead of 0.8 s through tsx, and a suite starts the CLI over a thousand times). A test file
 * run by hand (`node --import tsx --test FILE`) has no such directory: the child runs the sources through tsx.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './corpus.js';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

const ENTRY = join(REPO_ROOT, 'test', 'support', 'cli-entry.ts');
const BUILD = process.env.TAPLINE_TEST_BUILD;
/** node's arguments before the CLI's own: the transpiled entry, or the source entry through tsx (see above). */
const NODE_ARGS: readonly string[] = BUILD ? [join(BUILD, 'tapline.js')] : ['--import', 'tsx', ENTRY];

/** The whole command line of a CLI run, for tests that start it their own way (a shell, script(1), capsh). */
export function cliArgv(...args: string[]): string[] {
  return [process.execPath, ...NODE_ARGS, ...args];
}

/** cliArgv() as words for sh -c, each in single quotes (none of the paths here holds one). */
export function cliShell(...args: string[]): string {
  return cliArgv(...args)
    .map((a) => `'${a}'`)
    .join(' ');
}

/** A `skip` reason when script(1) (util-linux), which gives a run a terminal, is not installed; else false. */
export const noScript = spawnSync('script', ['--version']).error
  ? 'needs script(1) (util-linux) for a terminal'
  : false;

/** The file's text, or '' while it does not exist yet. */
export const readIfThere = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : '');

/** Polls `done` every `stepMs` until it holds; throws after `timeoutMs`. */
export async function waitFor(done: () => boolean, timeoutMs: number, stepMs = 50): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > until) throw new Error(`not within ${timeoutMs}ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** `ownGroup`: tapline leads a process group of its own, so a test can signal the group as a terminal does. */
export function startTapline(args: string[], options: { cwd?: string; ownGroup?: boolean } = {}): ChildProcess {
  return spawn(process.execPath, [...NODE_ARGS, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    detached: options.ownGroup ?? false,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, FORCE_COLOR: '0' },
  });
}

/** Runs to completion (killed after `timeoutMs`, which fails the test through the null exit code). */
export function runTapline(
  args: string[],
  options: { cwd?: string; timeoutMs?: number; stdin?: Buffer | string; onStart?: (child: ChildProcess) => void } = {},
): Promise<CliResult> {
  const child = startTapline(args, options);
  options.onStart?.(child);
  return collect(child, options.timeoutMs ?? 30_000, options.stdin);
}

export function collect(child: ChildProcess, timeoutMs: number, stdin?: Buffer | string): Promise<CliResult> {
  const out: Buffer[] = [];
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => out.push(d));
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  if (stdin !== undefined) child.stdin!.end(stdin);
  else child.stdin!.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out), stderr });
    });
  });
}

/** Resolves when the child's stderr has printed something matching `pattern`. */
export function waitForStderr(child: ChildProcess, pattern: RegExp, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`stderr never matched ${pattern}: ${seen}`)), timeoutMs);
    child.stderr!.on('data', (d: Buffer) => {
      seen += d.toString();
      if (pattern.test(seen)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}
