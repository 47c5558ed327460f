/** Helpers shared by the benchmarks: running the CLI with measurements, timing reference commands, printing. */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const TMP = join(ROOT, '.bench-tmp');

export function freshTmp(name: string): string {
  const dir = join(TMP, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

export interface Measured {
  code: number;
  ms: number;
  userMs: number;
  systemMs: number;
  maxRssKb: number;
  stderr: string;
}

/** Runs `tapline ARGS` (the built CLI) under bench/measure.mjs; fails loudly on a non-zero exit. */
export async function measureTapline(args: string[], timeoutMs = 300_000): Promise<Measured> {
  const child = spawn(process.execPath, [join(ROOT, 'bench', 'measure.mjs'), ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await new Promise((r) => child.on('close', r));
  clearTimeout(timer);
  const line = stderr.split('\n').find((l) => l.startsWith('MEASURE '));
  if (!line) throw new Error(`tapline ${args.join(' ')} did not finish:\n${stderr.slice(-2000)}`);
  const m = JSON.parse(line.slice(8));
  if (m.code !== 0) throw new Error(`tapline ${args.join(' ')} exited ${m.code}:\n${stderr.slice(-2000)}`);
  return { ...m, stderr };
}

/** Wall time of a shell command (a reference such as `cat`). */
export async function timeShell(command: string, timeoutMs = 300_000): Promise<number> {
  const started = performance.now();
  const child = spawn('sh', ['-c', command], { stdio: 'ignore' });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((r) => child.on('close', r));
  clearTimeout(timer);
  if (code !== 0) throw new Error(`reference command failed (${code}): ${command}`);
  return performance.now() - started;
}

/**
 * How `cat SRC > DST` copies here, seen with `strace -c` when it is installed: `copy_file_range` (an in-kernel
 * page-cache copy, coreutils ≥ 9 on Linux), `read/write`, or `copy method unknown`.
 */
export async function catCopyMethod(src: string, dst: string): Promise<string> {
  const child = spawn('sh', ['-c', `strace -f -c -e trace=copy_file_range,read,write cat '${src}' > '${dst}'`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let summary = '';
  child.stderr.on('data', (d) => {
    summary += d;
  });
  const code = await new Promise<number | null>((r) => child.on('close', r));
  if (code !== 0) return 'copy method unknown';
  return /\bcopy_file_range\b/.test(summary) ? 'copy_file_range' : 'read/write';
}

export interface Row {
  what: string;
  value: string;
  reference?: string;
  ratio?: string;
  target?: string;
  ok?: boolean;
}

export function printTable(rows: Row[]): void {
  const cols: (keyof Row)[] = ['what', 'value', 'reference', 'ratio', 'target'];
  const cell = (r: Row, c: keyof Row) =>
    c === 'target' && r.target ? `${r.target} ${r.ok ? 'OK' : 'MISSED'}` : String(r[c] ?? '');
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r, c).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ');
  console.log(line(cols as string[]));
  for (const r of rows) console.log(line(cols.map((c) => cell(r, c))));
}

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}
