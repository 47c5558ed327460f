/**
 * What a signal does to a running pipeline. main.ts installs the handler (it alone touches process.*).
 *
 *   SIGINT / SIGTERM / SIGHUP ─▶ stop(): inputs stop, everything read is written and flushed, exit 0
 *   the same signal again within SAME_REQUEST_MS ─▶ one request delivered twice: said, not acted on
 *   any of them again, later (or a different one) ─▶ exitNow(): exit at once (130), counts as they stand
 *
 * One request often arrives twice: `timeout` signals its command and then the command's whole process group,
 * and `npx`/`npm run` forward the terminal's Ctrl-C to a child that got it from the terminal already. Taken
 * as "again", that second copy cut the flush short (exit 130 with the outputs' last messages unwritten).
 *
 * SIGHUP (the terminal or SSH session went away) is a stop like SIGTERM: by default it killed the process
 * with whatever the outputs still held. Node resets an ignored SIGHUP at start, so `nohup` never kept it
 * running anyway. SIGQUIT keeps its default (quit at once, as Ctrl-\ asks).
 *
 * `tapline report` takes the same rule (report.ts): the first signal stops reading and prints the report of
 * what was read, marked partial, exiting with signalExitCode(); a second one leaves at once.
 *
 * SIGUSR1 (sent by habit to reopen logs) made node open its debugger on 127.0.0.1:9229, where any local user
 * could run code as tapline's user, root for a capture. tapline has no use for it: it is said and ignored.
 */
import { constants as osConstants } from 'node:os';
import type { Logger } from '../core/log.js';

export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Signals that do nothing here but would do something unwanted by default (see above). */
export const IGNORED_SIGNALS = ['SIGUSR1'] as const;

export function ignoredSignalLine(signal: NodeJS.Signals): string {
  return `tapline: ${signal} ignored (SIGINT, SIGTERM or SIGHUP stop the run)`;
}

/**
 * What a subcommand (`tapline report`) may ask of the process, main.ts alone touching process.*: the stop
 * signals routed to its handler (the ignored ones are said, as for a run; remove() gives them back), and
 * leaving at once with a code.
 */
export interface SubcommandProcess {
  onStopSignals(handler: (signal: NodeJS.Signals) => void, log: Logger): { remove(): void };
  exit(code: number): never;
}

/** The shell's code for a command a signal ended (128 + its number): 130 SIGINT, 143 SIGTERM, 129 SIGHUP. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (osConstants.signals[signal] ?? 0);
}

/** A repeat of the same signal sooner than this is the same request delivered twice. */
export const SAME_REQUEST_MS = 500;

export interface SignalHandlerOptions {
  /** Has a stop begun (by a signal, --exit-after or the pipeline itself)? */
  isStopping(): boolean;
  stop(): void;
  /** Leaves without waiting for the outputs (prints the counts, exits 130). */
  exitNow(signal: NodeJS.Signals): void;
  log: Logger;
  now?: () => number;
  /** What the first signal starts, for its line (default: flushing outputs). */
  stopping?: string;
  /** What leaving at once gives up, for the second signal's line (default: waiting for outputs to flush). */
  abandoning?: string;
}

export function createSignalHandler(options: SignalHandlerOptions): (signal: NodeJS.Signals) => void {
  const now = options.now ?? (() => performance.now());
  let first: { signal: NodeJS.Signals; at: number } | undefined;
  return (signal) => {
    if (first && first.signal === signal && now() - first.at < SAME_REQUEST_MS) {
      // Said, so that a quick double tap that meant "exit now" is not left wondering: one more does it.
      options.log.write(
        `tapline: ${signal} again within ${SAME_REQUEST_MS}ms: taken as the same request (once more to exit at once)`,
      );
      return;
    }
    if (options.isStopping()) {
      options.log.write(
        `tapline: ${signal} again: exiting without ${options.abandoning ?? 'waiting for outputs to flush'}`,
      );
      options.exitNow(signal);
      return;
    }
    first = { signal, at: now() };
    options.log.write(
      `tapline: ${signal}: stopping; ${options.stopping ?? 'flushing outputs'} (send ${signal} again to exit at once)`,
    );
    options.stop();
  };
}
