/**
 * The `--output-ws` plugin as the command line sees it: its flags and help. Cheap to import (the CLI reads
 * every plugin's declaration at start-up); ws.ts, the implementation, is loaded only when the flag is used
 * (src/plugins.ts).
 */
import type { OutputPluginDecl } from '../core/registry.js';
import { FORWARDING_SECTION, forwardingFlags } from './tcp-flags.js';

export const wsOutputDecl: OutputPluginDecl = {
  role: 'output',
  flag: 'output-ws',
  summary: 'Forward messages over WebSocket',
  flags: {
    'output-ws': {
      kind: 'string',
      multi: true,
      value: 'URL',
      section: FORWARDING_SECTION,
      help: 'Forward requests and original responses to ws[s]://[user[:pass]@]host[:port]/path, one binary frame each (Authorization: Basic from user:pass).',
    },
    ...forwardingFlags('output-ws', 'WebSocket'),
  },
};
