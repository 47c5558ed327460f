/**
 * The `--output-http` plugin as the command line sees it: its flags and help. Cheap to import (the CLI reads
 * every plugin's declaration at start-up); http.ts, the implementation, is loaded only when the flag is used
 * (src/plugins.ts).
 */
import type { OutputPluginDecl } from '../core/registry.js';

const SECTION = 'Replay (--output-http)';

/** `--output-http-workers 0` (gor: no maximum): connections open on demand up to this many. */
export const DEFAULT_MAX_WORKERS = 64;

export const httpOutputDecl: OutputPluginDecl = {
  role: 'output',
  flag: 'output-http',
  summary: 'Replay requests to an HTTP(S) target',
  flags: {
    'output-http': {
      kind: 'string',
      multi: true,
      value: 'URL',
      section: SECTION,
      help:
        'Replay requests to URL (http://host:port or https://…). A URL with a path or query sends every request ' +
        'to exactly that path (as gor does). URL|N limits to N requests a second, URL|N% samples requests.',
      gorNote: 'a bare host:port is accepted; gor needs the scheme',
    },
    'output-http-workers': {
      kind: 'int',
      default: '0',
      section: SECTION,
      value: 'N',
      help: `Most connections per target, each with one request in flight (keep-alive). 0: up to ${DEFAULT_MAX_WORKERS}.`,
      gorNote: 'gor: 0 is unlimited, and it opens a new connection for most requests',
    },
    'output-http-workers-min': {
      kind: 'int',
      min: '0',
      default: '0',
      section: SECTION,
      value: 'N',
      help: 'Connections kept open even when idle (0 means 1). More open on demand, up to --output-http-workers.',
    },
    'output-http-queue-len': {
      kind: 'int',
      default: '1000',
      section: SECTION,
      value: 'N',
      help: 'Requests waiting for a connection before the replay waits for the target (≤ 0 means 1000).',
    },
    'output-http-worker-timeout': {
      kind: 'duration',
      default: '2s',
      section: SECTION,
      help: 'Idle connections above --output-http-workers-min are closed after this long (≤ 0 means 2s, as gor).',
    },
    'output-http-timeout': {
      kind: 'duration',
      default: '5s',
      section: SECTION,
      help:
        'Time allowed for a whole request: connect, send, response headers and body (< 100ms, 0 too, means 1s, ' +
        'said at start). A stop ' +
        'waits about this long for the requests taken; the rest are counted as given up.',
    },
    'output-http-redirects': {
      kind: 'int',
      min: '0',
      default: '0',
      section: SECTION,
      value: 'N',
      help: 'Redirects to follow (as Go: 301/302/303 become GET without body). The last response counts.',
    },
    'output-http-track-response': {
      kind: 'bool',
      section: SECTION,
      help: 'Emit each replayed response as a type-3 message (id of its request, send time, latency in ns).',
    },
    'output-http-skip-verify': {
      kind: 'bool',
      section: SECTION,
      help: 'Do not verify the TLS certificate of https:// targets.',
    },
    'output-http-response-buffer': {
      kind: 'size',
      min: '0',
      default: '0',
      section: SECTION,
      help:
        'Bytes of each replayed response kept in its type-3 message (0 means 100kb); a longer one is cut, marked ' +
        'incomplete=response-buffer in its meta line, counted and said at the end.',
      gorNote: 'gor stores the value and never applies it',
    },
    'output-http-stats': {
      kind: 'bool',
      section: SECTION,
      help: "With --stats: print gor's queue statistics (output_http:latest,mean,max,count,count/second,gcount).",
    },
    'output-http-stats-ms': {
      kind: 'int',
      min: '1',
      // Node's timers hold at most 2^31-1 ms; a longer period fired every millisecond.
      max: '2147483647',
      default: '5000',
      section: SECTION,
      value: 'MS',
      help: 'Period of --output-http-stats, in ms.',
      gorNote: 'gor crashes below 1000',
    },
    'http-original-host': {
      kind: 'bool',
      section: SECTION,
      help: "Keep the captured Host header instead of the target's host:port.",
    },
  },
};
