/**
 * gor's spawn rule for `--middleware "cmd args"` (spec §4.1): no shell; the string is split on every single
 * space, so quotes are not interpreted and two spaces make an empty argument. The program is looked up on
 * PATH when it has no slash (execvp, as Go's exec.Command does).
 */
import { ERROR_CODES, TaplineError } from '../core/errors.js';

export interface MiddlewareCommand {
  readonly program: string;
  readonly args: readonly string[];
  /** The flag value, for messages. */
  readonly text: string;
}

export function parseMiddlewareCommand(text: string): MiddlewareCommand {
  const [program = '', ...args] = text.split(' ');
  if (program === '') {
    throw new TaplineError(
      ERROR_CODES.USAGE,
      `needs a program to run, e.g. --middleware "python3 mw.py" (got ${JSON.stringify(text)}; it is split on single spaces, with no shell)`,
      { where: '--middleware' },
    );
  }
  return { program, args, text };
}
