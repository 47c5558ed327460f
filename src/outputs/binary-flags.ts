/**
 * The `--output-binary` plugin as the command line sees it: its flags and help. Cheap to import (the CLI reads
 * every plugin's declaration at start-up); binary.ts, the implementation, is loaded only when the flag is used
 * (src/plugins.ts).
 */
import type { OutputPluginDecl } from '../core/registry.js';

const SECTION = 'Binary protocols (--output-binary)';

/** `--output-binary-workers 0`: replayed connections open at once. */
export const DEFAULT_MAX_SESSIONS = 256;

export const binaryOutputDecl: OutputPluginDecl = {
  role: 'output',
  flag: 'output-binary',
  summary: 'Replay raw TCP payloads, one connection per original connection',
  flags: {
    'output-binary': {
      kind: 'string',
      multi: true,
      value: 'HOST:PORT',
      section: SECTION,
      help: 'Replay raw TCP payloads (--input-raw-protocol binary turns) to HOST:PORT: one connection per original connection, turns in their original order.',
    },
    'output-binary-workers': {
      kind: 'int',
      default: '0',
      value: 'N',
      section: SECTION,
      help: `Connections open at once (0 = up to ${DEFAULT_MAX_SESSIONS}). A new original connection beyond it closes the least recently used idle one, or waits.`,
      gorNote: 'gor PRO: 0 = dynamic, starting with 10',
    },
    'output-binary-timeout': {
      kind: 'duration',
      min: '0',
      default: '0',
      section: SECTION,
      help: 'Connect timeout, how long a tracked turn waits for its first reply byte, the longest a tracked reply goes on (then the next turn is sent), and how long a target may read nothing before its connection is dropped (0 = 5s).',
    },
    'output-binary-track-response': {
      kind: 'bool',
      section: SECTION,
      help: "Emit each turn's reply as a type-3 message with the turn's id.",
    },
    'output-binary-reply-gap': {
      kind: 'duration',
      min: '0',
      default: '50ms',
      section: SECTION,
      help: 'With -track-response: a reply ends when the target has been quiet this long (the next turn is sent then). tapline only.',
    },
    'output-binary-debug': {
      kind: 'bool',
      section: SECTION,
      help: 'Log every turn sent and every reply (size, latency, first bytes in hex) to stderr.',
    },
    'output-tcp-response-buffer': {
      kind: 'size',
      min: '0',
      default: '0',
      section: SECTION,
      help: 'Reply bytes kept per turn in type-3 messages (0 = 100KiB); longer replies are cut and counted.',
    },
  },
};
