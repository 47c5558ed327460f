/**
 * gor flags tapline does not do yet (spec §1.2). They are declared so that `--help` lists them and using
 * one fails clearly (exit 2) instead of being ignored or reported as unknown. When a flag is built, its
 * declaration moves to the plugin that implements it and its line here is deleted.
 */
import type { FlagKind, FlagSpec } from '../core/flags.js';

/** `gorNote`: why it is not built and what to do instead; --help and the error both show it. */
type Row = [name: string, kind: FlagKind, multi: boolean, help: string, gorNote?: string];

const NOT_BUILT = 'not built yet';

const sections: Record<string, Row[]> = {
  General: [
    [
      'recognize-tcp-sessions',
      'bool',
      false,
      'Send requests of one TCP session through one connection',
      'gor PRO only: open-source gor prints an error and runs without it, so leaving it out changes nothing',
    ],
  ],
};

export const plannedFlags: ReadonlyMap<string, FlagSpec> = new Map(
  Object.entries(sections).flatMap(([section, rows]) =>
    rows.map(([name, kind, multi, help, gorNote]): [string, FlagSpec] => [
      name,
      { kind, help, section, notBuilt: NOT_BUILT, ...(multi ? { multi } : {}), ...(gorNote ? { gorNote } : {}) },
    ]),
  ),
);
