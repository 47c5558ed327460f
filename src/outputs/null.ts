/** `--output-null`: accepts and discards everything (for benchmarks and dry pipelines). */
import { payloadLength } from '../core/gor-format.js';
import type { Output } from '../core/plugin.js';
import type { OutputPluginDef } from '../core/registry.js';

export function nullOutput(): Output {
  let messages = 0;
  let bytes = 0;
  return {
    name: 'output-null',
    write(msg) {
      messages++;
      bytes += payloadLength(msg);
    },
    close: async () => {},
    stats: () => ({ messages, bytes }),
  };
}

export const nullOutputPlugin: OutputPluginDef = {
  role: 'output',
  flag: 'output-null',
  summary: 'Discard everything',
  flags: {
    'output-null': { kind: 'bool', section: 'Test inputs and outputs', help: 'Discard every message.' },
  },
  create: () => nullOutput(),
};
