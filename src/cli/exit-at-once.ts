/**
 * Leaving the process at once, for the second Ctrl-C (docs/errors.md, exit 130): through the tapline_process
 * addon's _exit (native/src/process_exit.cc), because process.exit() joins libuv's thread-pool threads first and
 * one blocked in write() on a FIFO nobody reads (--output-file-append into a named pipe) never returns: the
 * second Ctrl-C printed the summary and then the process stayed until SIGKILL. Without the addon (not built,
 * another version), process.exit(), which is the same in every other case.
 *
 * Whatever must be out (the summary on stderr) is written before: Node writes stderr synchronously.
 */
import { loadAddon } from '../core/native-addon.js';

interface ProcessAddon {
  exitNow(code: number): never;
  abiVersion: number;
}

/**
 * `exit`: main.ts's process.exit (the only module touching process.*), used when the addon is not there.
 * `exitListeners`: runs the process's 'exit' listeners, which process.exit() runs and _exit does not (main.ts
 * signals the middleware's process group there, so that it is not left running).
 */
export function exitAtOnce(code: number, exit: (code: number) => never, exitListeners: (code: number) => void): never {
  const load = loadAddon<ProcessAddon>('tapline_process.node', 1);
  if (!load.addon) return exit(code);
  exitListeners(code);
  return load.addon.exitNow(code);
}
