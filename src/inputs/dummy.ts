/**
 * `--input-dummy X`: every second, a request and its response with gor's exact bytes (spec §1.2), for
 * trying a pipeline without traffic. Infinite: it ends only when the run stops.
 */
import { sleep } from '../core/async.js';
import { makeMeta, nowNs, randomId } from '../core/message.js';
import type { Batch, Input } from '../core/plugin.js';
import type { InputPluginDef } from '../core/registry.js';

const REQUEST = Buffer.from(
  'GET / HTTP/1.1\r\nHost: www.w3.org\r\nUser-Agent: Go 1.1 package http\r\nAccept-Encoding: gzip\r\n\r\n',
);
const RESPONSE = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');

export function dummyInput(intervalMs = 1000): Input {
  const stop = new AbortController();
  let emitted = 0;
  return {
    name: 'input-dummy',
    async *read(): AsyncGenerator<Batch> {
      while (!stop.signal.aborted) {
        await sleep(intervalMs, stop.signal);
        if (stop.signal.aborted) return;
        const id = randomId();
        const ts = nowNs();
        emitted += 2;
        yield [
          { meta: makeMeta({ type: '1', id, timestampNs: ts, latencyNs: -1n }), data: REQUEST },
          { meta: makeMeta({ type: '2', id, timestampNs: ts + 1n, latencyNs: 1n }), data: RESPONSE },
        ];
      }
    },
    async close() {
      stop.abort();
    },
    stats: () => ({ messages: emitted }),
  };
}

export const dummyInputPlugin: InputPluginDef = {
  role: 'input',
  flag: 'input-dummy',
  summary: 'Emit a request and its response every second (for trying a pipeline)',
  flags: {
    'input-dummy': {
      kind: 'string',
      multi: true,
      value: 'ANY',
      section: 'Test inputs and outputs',
      help: 'Emit a GET request and its 200 response every second. The value is required but ignored.',
    },
  },
  create: () => dummyInput(),
};
