/**
 * mkdir -p without Node's recursive mode, which loops forever (async and sync alike, Node 20) where a parent
 * exists but says ENOENT for any new entry in it: '/proc/2024/x' never returns. It also says ENOENT for a
 * directory it could not make whatever the reason (a read-only file system reads as 'does not exist'). Made one
 * at a time from the first that exists down, each directory fails with its real reason, named.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describeIoError } from './errors.js';

/** The directories of `dir` (absolute) that do not exist yet, outermost first. */
export function missingDirectories(dir: string): string[] {
  const missing: string[] = [];
  for (let d = resolve(dir); !existsSync(d); d = dirname(d)) {
    missing.push(d);
    if (dirname(d) === d) break;
  }
  return missing.reverse();
}

/**
 * Why `mkdir(dir)` (not recursive) failed, for a user; undefined for EEXIST (made meanwhile by another output or
 * run: fine as long as it is a directory, which the next step finds out).
 */
export function mkdirProblem(dir: string, err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EEXIST') return undefined;
  if (code === 'ENOENT' && existsSync(dirname(dir)))
    return `${dirname(dir)} exists but takes no new directories (ENOENT; a kernel file system such as /proc or /sys?)`;
  return describeIoError(err);
}
