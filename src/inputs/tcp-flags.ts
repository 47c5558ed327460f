/**
 * The `--input-tcp` plugin as the command line sees it: its flags and help. Cheap to import (the CLI reads
 * every plugin's declaration at start-up); tcp.ts, the implementation, is loaded only when the flag is used
 * (src/plugins.ts).
 */
import type { InputPluginDecl } from '../core/registry.js';
import { FORWARDING_SECTION } from '../outputs/tcp-flags.js';

export const tcpInputDecl: InputPluginDecl = {
  role: 'input',
  flag: 'input-tcp',
  summary: 'Receive messages from other taplines or gor (--output-tcp)',
  flags: {
    'input-tcp': {
      kind: 'string',
      multi: true,
      value: 'ADDR',
      section: FORWARDING_SECTION,
      help: 'Listen on ADDR (:28020, 127.0.0.1:28020; port 0 picks a free port; the address listened on is printed at start) for messages from --output-tcp.',
    },
    'input-tcp-secure': {
      kind: 'bool',
      section: FORWARDING_SECTION,
      help: 'Listen with TLS, using --input-tcp-certificate and --input-tcp-certificate-key.',
    },
    'input-tcp-memory-budget': {
      kind: 'size',
      min: '1',
      default: '512mb',
      value: 'BYTES',
      section: FORWARDING_SECTION,
      help:
        'Bytes all records still arriving may hold together, every --input-tcp connection. Beyond it the largest ' +
        'is dropped (a .gor record cannot be passed on cut), warned naming the peer, and counted (dropped_memory_budget).',
      gorNote: 'tapline only; gor has no bound on the records it is assembling',
    },
    'input-tcp-certificate': {
      kind: 'string',
      value: 'FILE',
      section: FORWARDING_SECTION,
      help: 'PEM certificate (chain) for --input-tcp-secure.',
    },
    'input-tcp-certificate-key': {
      kind: 'string',
      value: 'FILE',
      section: FORWARDING_SECTION,
      help: 'PEM private key for --input-tcp-secure.',
    },
  },
};
