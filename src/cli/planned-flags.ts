/**
 * gor flags tapline does not do yet (spec §1.2). They are declared so that `--help` lists them and using
 * one fails clearly (exit 2) instead of being ignored or reported as unknown. When a flag is built, its
 * declaration moves to the plugin that implements it and its line here is deleted.
 */
import type { FlagKind, FlagSpec } from '../core/flags.js';

type Row = [name: string, kind: FlagKind, multi: boolean, help: string];

const NOT_BUILT = 'not built yet';

const sections: Record<string, Row[]> = {
  General: [
    ['recognize-tcp-sessions', 'bool', false, 'Send requests of one TCP session through one connection (gor PRO)'],
  ],
};

export const plannedFlags: ReadonlyMap<string, FlagSpec> = new Map(
  Object.entries(sections).flatMap(([section, rows]) =>
    rows.map(([name, kind, multi, help]): [string, FlagSpec] => [
      name,
      { kind, help, section, notBuilt: NOT_BUILT, ...(multi ? { multi } : {}) },
    ]),
  ),
);
