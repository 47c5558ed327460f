/**
 * gor's spawn rule for `--middleware "cmd args"` (spec §4.1): no shell; the string is split on every single
 * space, so quotes are not interpreted and two spaces make an empty argument. The program is looked up on
 * PATH when it has no slash (execvp, as Go's exec.Command does).
 */
import { ERROR_CODES, TaplineError } from '../core/errors.js';
import { redactArgs } from '../core/redact.js';

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

/** Words a shell would have taken as operators (pipes, redirections, lists, background). */
const SHELL_OPERATORS = new Set(['|', '||', '&&', ';', '&', '>', '>>', '<', '2>', '2>>', '2>&1', '>&2', '&>', '|&']);

/**
 * What in the command a user most likely meant for a shell, which gor (and tapline) does not run: each word
 * then reaches the program as an argument, so `"python3 mw.py | tee log"` runs mw.py with the arguments `|`,
 * `tee` and `log`, writes no log, and says nothing. The command still runs as gor runs it; these are said
 * once, as warnings. Also empty arguments (two spaces in a row, or a trailing space).
 */
export function commandHints(command: MiddlewareCommand): string[] {
  const hints: string[] = [];
  const shown = redactArgs(command.args); // a quoted token is shown as '***' (docs/errors.md)
  const shellWords = shown.filter((_, i) => {
    const a = command.args[i]!;
    return SHELL_OPERATORS.has(a) || /^["'`]|["'`]$/.test(a) || /^\$|^~\//.test(a) || /\$[({A-Za-z_]/.test(a);
  });
  if (shellWords.length > 0) {
    hints.push(
      `${command.program} is given ${shellWords.map((w) => JSON.stringify(w)).join(', ')} as plain argument(s): ` +
        'the command is run without a shell (as gor does), so pipes, redirections, quotes, variables and ~ are not ' +
        'interpreted; put the command in a script and give its path',
    );
  }
  const empty = command.args.filter((a) => a === '').length;
  if (empty > 0) {
    hints.push(
      `${empty} empty argument(s) passed to ${command.program}: the command is split on every single space (as gor does), ` +
        'so two spaces in a row or a trailing space make an empty argument',
    );
  }
  return hints;
}
