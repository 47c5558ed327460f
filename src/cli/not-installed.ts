/**
 * A package tapline needs that is not installed (an interrupted `npm ci`, a checkout copied without all of
 * node_modules): the run's plugins and subcommands load their code when their flags come up (src/plugins.ts),
 * so Node's ERR_MODULE_NOT_FOUND can come in the middle of a run, where it read as an internal failure with a
 * stack trace. Said in one line with the fix instead, as bin/tapline.js says it for what loads at start.
 */
import { fileURLToPath } from 'node:url';

/** tapline's own folder: src/cli/ or dist/cli/ is two levels below it. */
const INSTALL_DIR = fileURLToPath(new URL('../..', import.meta.url));

export function notInstalledLine(err: unknown): string | undefined {
  const e = err as NodeJS.ErrnoException | undefined;
  if (e?.code !== 'ERR_MODULE_NOT_FOUND' || typeof e.message !== 'string') return undefined;
  const m = /^Cannot find (package|module) '([^']+)' imported from (\S+)/.exec(e.message);
  if (m === null) return undefined;
  return (
    `cannot load ${m[2]} (imported by ${m[3]}): a ${m[1]} tapline needs is not installed; ` +
    `run npm ci in ${INSTALL_DIR.replace(/\/$/, '')}`
  );
}
