/**
 * A small leveled logger for stderr. gor's levels (spec §9.6): 0 errors, 1 warnings and info, 2 details,
 * 3 a trace line per message. Warnings that repeat (a bad record per line of a broken file) are shown a few
 * times per kind and then only counted, so a bad input never floods the terminal; the final summary has the
 * totals.
 */

export interface Logger {
  readonly verbose: number;
  error(message: string): void;
  warn(message: string, kind?: string): void;
  info(message: string): void;
  debug(level: number, message: string): void;
  /** Writes above any status line (see StatusLine). */
  readonly write: (line: string) => void;
}

export interface LoggerOptions {
  verbose?: number;
  /** Where lines go (default: stderr). */
  write?: (line: string) => void;
  /** How many warnings of one kind are shown before they are only counted. */
  repeatLimit?: number;
}

export function createLogger(options: LoggerOptions = {}): Logger & { suppressed(): Map<string, number> } {
  const verbose = options.verbose ?? 0;
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const limit = options.repeatLimit ?? 5;
  const seen = new Map<string, number>();
  const suppressed = new Map<string, number>();
  return {
    verbose,
    write,
    error: (m) => write(`tapline: error: ${m}`),
    warn(m, kind) {
      if (kind !== undefined) {
        const n = (seen.get(kind) ?? 0) + 1;
        seen.set(kind, n);
        if (n > limit) {
          suppressed.set(kind, (suppressed.get(kind) ?? 0) + 1);
          return;
        }
        if (n === limit) {
          write(`tapline: warning: ${m} (further "${kind}" warnings are counted in the summary only)`);
          return;
        }
      }
      write(`tapline: warning: ${m}`);
    },
    info: (m) => {
      if (verbose >= 1) write(`tapline: ${m}`);
    },
    debug: (level, m) => {
      if (verbose >= level) write(`tapline: [debug${level}] ${m}`);
    },
    suppressed: () => suppressed,
  };
}

/** A logger that records lines, for tests. */
export function memoryLogger(verbose = 0): Logger & { lines: string[] } {
  const lines: string[] = [];
  const base = createLogger({ verbose, write: (l) => lines.push(l) });
  return Object.assign(base, { lines });
}
