/**
 * The `--input-file` plugin as the command line sees it: its flags and help. Cheap to import (the CLI reads
 * every plugin's declaration at start-up); file.ts, the implementation, is loaded only when the flag is used
 * (src/plugins.ts).
 */
import type { FlagSpec } from '../core/flags.js';
import type { InputPluginDecl } from '../core/registry.js';

const SECTION = 'Files';

const flags: Record<string, FlagSpec> = {
  'input-file': {
    kind: 'string',
    multi: true,
    value: 'PATH',
    section: SECTION,
    help:
      'Replay a .gor file with its original timing. A glob (*, ?, [...]) opens every match at once and merges ' +
      'them by timestamp; names ending .gz are decompressed; a pipe (/dev/stdin, a FIFO) is read once, in ' +
      'order (FIFOs a glob matches are read together: write them at the same time). Suffix |N% sets the speed (|200% = twice as fast), ' +
      '|max replays as fast as the outputs take it, |N passes at most N requests a second and drops the rest ' +
      '(not a speed; said at the first drop).',
    gorNote: 'a path or pattern that matches nothing is an error (gor waits forever); |max is tapline only',
  },
  'input-file-loop': {
    kind: 'bool',
    section: SECTION,
    help:
      'When every file is replayed, match the pattern again and start over, until stopped. A pipe cannot be ' +
      'read again: refused.',
  },
  'input-file-read-depth': {
    kind: 'int',
    default: '100',
    value: 'N',
    section: SECTION,
    help: 'Records read ahead per file and re-sorted by timestamp: the window that fixes out-of-order records. Not a speed limit.',
    gorNote: 'values below 1 are refused (gor hangs)',
  },
  'input-file-dry-run': {
    kind: 'bool',
    section: SECTION,
    help: 'Read the files without replaying them and print a summary: records, bytes, waits and how long the replay would take.',
    gorNote: 'tapline exits after the summary; gor keeps running',
  },
  'input-file-max-wait': {
    kind: 'duration',
    min: '0',
    default: '0',
    value: 'DURATION',
    section: SECTION,
    help: 'Longest pause between two messages, after the speed factor (0 = no cap).',
    gorNote: "gor's help calls it --input-raw-max-wait",
  },
};

export const fileInputDecl: InputPluginDecl = {
  role: 'input',
  flag: 'input-file',
  summary: 'Replay .gor files (merged by timestamp, original timing or faster)',
  flags,
  ownsLimit: true,
};
