/**
 * The `--output-file` plugin as the command line sees it: its flags and help. Cheap to import (the CLI reads
 * every plugin's declaration at start-up); file.ts, the implementation, is loaded only when the flag is used
 * (src/plugins.ts).
 */
import type { FlagSpec } from '../core/flags.js';
import type { OutputPluginDecl } from '../core/registry.js';
import { s3Flags } from '../storage/s3-address.js';

const SECTION = 'Files';

const flags: Record<string, FlagSpec> = {
  'output-file': {
    kind: 'string',
    multi: true,
    value: 'PATH',
    section: SECTION,
    help:
      'Write messages to .gor files. The path may contain %Y %m %d %H %M %S %NS (local time), %r (request id), ' +
      '%t (payload type) and %i (an id per process). Unless --output-file-append is set, files are chunked: ' +
      'NAME_0.gor, NAME_1.gor, … continuing after the highest existing number. A name ending .gz is gzip-compressed.',
  },
  'output-file-append': {
    kind: 'bool',
    section: SECTION,
    help: 'Write to the path as given, without _N chunk numbers, appending to the file if it exists.',
    gorNote: 'gor truncates the file when it opens it; tapline appends',
  },
  'output-file-flush-interval': {
    kind: 'duration',
    min: '0',
    default: '1s',
    value: 'DURATION',
    section: SECTION,
    help: 'How often buffered records are written out (and a .gz file is sync-flushed). 0 means 100ms.',
  },
  'output-file-size-limit': {
    kind: 'size',
    default: '32mb',
    value: 'SIZE',
    section: SECTION,
    help: 'Start a new chunk when the current one reaches this size on disk (compressed size for .gz). Values below 1 mean 32mb.',
  },
  'output-file-queue-limit': {
    kind: 'int',
    default: '256',
    value: 'N',
    section: SECTION,
    help: 'Start a new chunk after this many records (0 or less = no record limit, only the size limit).',
  },
  'output-file-max-size-limit': {
    kind: 'size',
    default: '1tb',
    value: 'SIZE',
    section: SECTION,
    help: 'Stop this output (and say so) before its files pass this many bytes in total. Values below 1 mean 1tb.',
    gorNote: 'gor writes the record that crosses the limit, then stops the whole input',
  },
};

export const fileOutputDecl: OutputPluginDecl = {
  role: 'output',
  flag: 'output-file',
  summary: 'Write messages to .gor files (chunked, gzip, path templates), or to S3 (s3://bucket/key)',
  flags: { ...flags, ...s3Flags },
};
