/**
 * Typed errors. Library code throws `TaplineError` with a code from the catalogue below and, where it
 * helps, a `where` (flag, file and byte offset, connection) and a `cause`. Only `src/cli` prints errors
 * and decides exit codes; `docs/errors.md` documents every code.
 */
import { inspect } from 'node:util';

export const ERROR_CODES = {
  /** A command-line flag, value or positional argument is wrong. Exit 2, like Go's flag package. */
  USAGE: 'TAPLINE_ERR_USAGE',
  /** The flag exists in gor but tapline has not built it yet. Exit 2: never silently ignored. */
  NOT_IMPLEMENTED: 'TAPLINE_ERR_NOT_IMPLEMENTED',
  /** A plugin address (`--output-http X`, `--input-raw X`) cannot be understood. */
  BAD_ADDRESS: 'TAPLINE_ERR_BAD_ADDRESS',
  /** A `.gor` record is malformed: the error names the file, record number and byte offset. */
  BAD_RECORD: 'TAPLINE_ERR_BAD_RECORD',
  /** A meta line (`1 <id> <ts> [latency]`) cannot be parsed. */
  BAD_META: 'TAPLINE_ERR_BAD_META',
  /** A file cannot be opened, read or written. */
  FILE_IO: 'TAPLINE_ERR_FILE_IO',
  /** An output reached a configured limit (e.g. `--output-file-max-size-limit`). */
  LIMIT_REACHED: 'TAPLINE_ERR_LIMIT_REACHED',
  /** The reader at the other end closed an output (stdout piped into `head`): that output stops; not a failure. */
  OUTPUT_CLOSED: 'TAPLINE_ERR_OUTPUT_CLOSED',
  /** A packet or capture file is malformed: names the file, packet number and byte offset. */
  BAD_PACKET: 'TAPLINE_ERR_BAD_PACKET',
  /** Live capture needs privileges the process does not have. */
  CAPTURE_PERMISSION: 'TAPLINE_ERR_CAPTURE_PERMISSION',
  /** Live capture failed to start or broke while running. */
  CAPTURE_FAILED: 'TAPLINE_ERR_CAPTURE_FAILED',
  /** An HTTP message could not be parsed. */
  BAD_HTTP: 'TAPLINE_ERR_BAD_HTTP',
  /** A network peer (replay target, tcp peer) failed. */
  PEER: 'TAPLINE_ERR_PEER',
  /** The middleware process misbehaved or died. */
  MIDDLEWARE: 'TAPLINE_ERR_MIDDLEWARE',
  /** `report` was given budgets, but its files hold no request: nothing to judge (see --allow-empty). */
  NOTHING_TO_JUDGE: 'TAPLINE_ERR_NOTHING_TO_JUDGE',
  /** A bug: an invariant did not hold. Please report it. */
  INTERNAL: 'TAPLINE_ERR_INTERNAL',
} as const;

export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

export interface TaplineErrorOptions {
  /** Where the problem is: `--output-file-size-limit`, `in.gor:record 12 (offset 4096)`, `127.0.0.1:8080`. */
  where?: string;
  cause?: unknown;
}

export class TaplineError extends Error {
  readonly code: ErrorCode;
  readonly where: string | undefined;

  constructor(code: ErrorCode, message: string, options: TaplineErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TaplineError';
    this.code = code;
    this.where = options.where;
  }

  /** One line for a human: `where: message (CODE)`. */
  describe(): string {
    const prefix = this.where ? `${this.where}: ` : '';
    return `${prefix}${this.message} (${this.code})`;
  }
}

export function isTaplineError(err: unknown): err is TaplineError {
  return err instanceof TaplineError;
}

/** Short, stack-free description of any thrown value, for logs and error lines. */
export function describeError(err: unknown): string {
  if (err instanceof TaplineError) return err.describe();
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code ? `${err.message} (${code})` : err.message;
  }
  // A thrown or rejected plain object (`Promise.reject({ code: 5 })`) is its contents, not '[object Object]'.
  if (typeof err === 'object' && err !== null) return inspect(err, { depth: 2, breakLength: Number.POSITIVE_INFINITY });
  return String(err);
}

/** errno codes of file and stream writes, in words (the code stays beside them for searching). */
const IO_REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'the directory does not exist (tapline creates only directories named by a placeholder such as %Y)',
  ENOTDIR: 'a part of the path is not a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EISDIR: 'it is a directory',
  EMFILE: 'too many open files',
  EFBIG: 'file too large',
  EIO: 'input/output error',
  EPIPE: 'the pipe has no reader any more (its reader went away)',
  ENAMETOOLONG: 'the name is too long',
};

/** A failed open, read or write in words: `no space left on device (ENOSPC)`; others as describeError. */
export function describeIoError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code && IO_REASONS[code] ? `${IO_REASONS[code]} (${code})` : describeError(err);
}
