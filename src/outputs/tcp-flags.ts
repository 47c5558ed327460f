/**
 * The `--output-tcp` plugin as the command line sees it: its flags and help. Cheap to import (the CLI reads
 * every plugin's declaration at start-up); tcp.ts, the implementation, is loaded only when the flag is used
 * (src/plugins.ts).
 */
import type { FlagSpec } from '../core/flags.js';
import type { OutputPluginDecl } from '../core/registry.js';

export const FORWARDING_SECTION = 'Forwarding (--input-tcp, --output-tcp, --output-ws)';

/** Flags every forwarding output has, under its prefix (`output-tcp`, `output-ws`). */
export function forwardingFlags(prefix: string, what: string): Record<string, FlagSpec> {
  return {
    [`${prefix}-workers`]: {
      kind: 'int',
      default: '10',
      value: 'N',
      section: FORWARDING_SECTION,
      help: `Persistent ${what} connections; messages are spread over them.`,
    },
    [`${prefix}-sticky`]: {
      kind: 'bool',
      section: FORWARDING_SECTION,
      help: 'Choose the connection by the message id (FNV-1a), so a request and its response travel together.',
    },
    [`${prefix}-skip-verify`]: {
      kind: 'bool',
      section: FORWARDING_SECTION,
      help: 'Do not verify the peer TLS certificate (to trust a private CA instead, set NODE_EXTRA_CA_CERTS).',
    },
    [`${prefix}-stats`]: {
      kind: 'bool',
      section: FORWARDING_SECTION,
      help: `With --stats: print gor's queue statistics (${prefix.replace('-', '_')}:latest,mean,max,count,count/second,gcount; gcount = connected links) every 5s.`,
    },
    [`${prefix}-queue-limit`]: {
      kind: 'int',
      default: '1000',
      value: 'N',
      section: FORWARDING_SECTION,
      help: 'Messages each connection buffers while the peer is away (more are dropped and counted) or slow (the input waits). tapline only.',
      gorNote: 'gor blocks on a 100-message queue',
    },
  };
}

export const tcpOutputDecl: OutputPluginDecl = {
  role: 'output',
  flag: 'output-tcp',
  summary: 'Forward messages to another tapline or gor --input-tcp',
  flags: {
    'output-tcp': {
      kind: 'string',
      multi: true,
      value: 'HOST:PORT',
      section: FORWARDING_SECTION,
      help: 'Forward requests and original responses to another tapline or gor listening with --input-tcp.',
    },
    'output-tcp-secure': {
      kind: 'bool',
      section: FORWARDING_SECTION,
      help: 'Connect with TLS (the peer runs --input-tcp-secure).',
    },
    ...forwardingFlags('output-tcp', 'TCP'),
  },
};
