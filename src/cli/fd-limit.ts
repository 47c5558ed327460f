/**
 * A run whose open-file limit is too low (`ulimit -n 40`) fails where it opens a file, and most of its opens
 * are node's own: the modules a flag needs are loaded when the run starts (src/plugins.ts), and node's loader
 * opens them many at a time. Such a failure is no bug in tapline: it is said in one line, naming the limit.
 * bin/tapline.js says the same when the CLI's first modules cannot be loaded (it cannot import this file then).
 */
import { readFileSync } from 'node:fs';

/**
 * The soft limit on open files (`ulimit -n`), from /proc/self/limits; undefined where that cannot be read. Right
 * after an EMFILE the loader's other opens may still hold every descriptor: a few tries, 20 ms apart.
 */
export async function openFileLimit(): Promise<number | undefined> {
  for (let i = 0; i < 5; i++) {
    try {
      const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
      return m ? Number(m[1]) : undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EMFILE') return undefined;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  return undefined;
}

/** The line for an EMFILE or ENFILE no code caught (a module that could not be loaded), or undefined. */
export async function tooManyOpenFiles(err: unknown): Promise<string | undefined> {
  const e = err as NodeJS.ErrnoException | undefined;
  if (e?.code !== 'EMFILE' && e?.code !== 'ENFILE') return undefined;
  const what = e.path ? `cannot open ${e.path}` : 'cannot open a file';
  if (e.code === 'ENFILE') return `${what}: the system's table of open files is full (ENFILE); try again later`;
  const limit = await openFileLimit();
  const now = limit === undefined ? 'is' : `is ${limit},`;
  return `${what}: too many open files (EMFILE): the open-file limit (ulimit -n) ${now} too low for this run; raise it (ulimit -n 4096)`;
}
