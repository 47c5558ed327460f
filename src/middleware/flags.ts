/**
 * The middleware flags. Cheap to import: the CLI reads them at every start-up, and loads the middleware
 * itself (stage.ts) only when one of them is given.
 */
import type { FlagSpec } from '../core/flags.js';

const SECTION = 'Middleware';

export const middlewareFlags: Readonly<Record<string, FlagSpec>> = {
  middleware: {
    kind: 'string',
    section: SECTION,
    value: 'CMD',
    help: "Run CMD (split on spaces, no shell) and pass every message through its stdin/stdout as hex lines (gor's protocol). Its stderr is shown prefixed with [middleware].",
    gorNote: 'gor keeps running half-dead when it exits; tapline flushes the outputs and exits 1',
  },
  'middleware-module': {
    kind: 'string',
    section: SECTION,
    value: 'FILE',
    help: 'In-process middleware: a .js or .ts module whose default export (message, context) => message | message[] | null edits messages with typed helpers.',
  },
  'middleware-timeout': {
    kind: 'duration',
    min: '1ms',
    default: '30s',
    section: SECTION,
    help: 'Kill the --middleware process (and fail the run) when it leaves its stdin unread this long, or is still running this long after its input ended; fail the run when a --middleware-module promise stays unsettled this long.',
  },
  'middleware-max-size': {
    kind: 'size',
    min: '1',
    default: '1gb',
    section: SECTION,
    value: 'SIZE',
    help: 'Largest message accepted back from the --middleware process; a longer line is reported and dropped (no cut, no 64 KB limit as in gor).',
  },
};
