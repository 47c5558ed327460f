/**
 * `--output-http URL`: replays captured requests to a target, over keep-alive connections.
 *
 *   write(request) ──▶ queue (bounded: --output-http-queue-len) ──▶ N connections (--output-http-workers)
 *        ▲ returns a promise while the queue is full                         │
 *        └──────────────────────────── backpressure ◀────────────────────────┘
 *
 * Only requests (type 1) are sent; responses in the stream are ignored (and counted), as in gor. The target
 * receives the captured bytes, changed only by the Host rule and the path rule (http-target.ts) and by the
 * configured modifiers. Every failure is counted by reason and the replay goes on.
 */
import { ERROR_CODES, TaplineError } from '../core/errors.js';
import { type Message, REQUEST } from '../core/message.js';
import type { Output } from '../core/plugin.js';
import type { OutputPluginDef } from '../core/registry.js';
import { hasRequestTitle, method as requestMethod } from '../protocol/http1/index.js';
import { ReplayConnection, type ReplayResult } from './http-connection.js';
import { adaptRequest, parseTarget } from './http-target.js';

const SECTION = 'Replay (--output-http)';

export interface HttpOutputOptions {
  /** Connections (one request in flight on each). */
  workers?: number;
  /** Requests waiting for a connection before write() applies backpressure. */
  queueLen?: number;
  timeoutMs?: number;
  /** Keep the captured Host header (gor's --http-original-host). */
  originalHost?: boolean;
  skipVerify?: boolean;
}

interface Job {
  payload: Buffer;
  method: string;
}

export function httpOutput(address: string, options: HttpOutputOptions = {}): Output {
  const target = parseTarget(address);
  const workers = Math.max(1, options.workers ?? 32);
  const queueLen = Math.max(1, options.queueLen ?? 1000);
  const timeoutMs = Math.max(100, options.timeoutMs ?? 5000);
  const queue: Job[] = [];
  let head = 0;
  const idle: ReplayConnection[] = Array.from(
    { length: workers },
    () => new ReplayConnection(target, timeoutMs, options.skipVerify),
  );
  const all = [...idle];
  let inFlight = 0;
  let roomWaiters: (() => void)[] = [];
  let drainWaiters: (() => void)[] = [];
  const counters = {
    sent: 0,
    ok: 0,
    status_1xx: 0,
    status_2xx: 0,
    status_3xx: 0,
    status_4xx: 0,
    status_5xx: 0,
    not_request_ignored: 0,
    not_http_skipped: 0,
    errors: 0,
    error_connect_refused: 0,
    error_connect_failed: 0,
    error_reset: 0,
    error_timeout: 0,
    error_bad_response: 0,
    error_closed: 0,
    latency_total_ms: 0,
  };

  const queued = () => queue.length - head;

  const record = (r: ReplayResult) => {
    counters.sent++;
    counters.latency_total_ms += r.latencyMs;
    if (r.ok && r.status !== undefined) {
      counters.ok++;
      const cls = Math.floor(r.status / 100);
      const key = `status_${cls}xx` as keyof typeof counters;
      if (key in counters) counters[key]++;
    } else {
      counters.errors++;
      const key = `error_${(r.reason ?? 'closed').replace(/-/g, '_')}` as keyof typeof counters;
      counters[key]++;
    }
  };

  const pump = () => {
    while (idle.length > 0 && queued() > 0) {
      const conn = idle.pop()!;
      const job = queue[head++]!;
      if (head > 1024 && head * 2 > queue.length) {
        queue.splice(0, head);
        head = 0;
      }
      inFlight++;
      conn.send(job.payload, job.method).then((result) => {
        record(result);
        inFlight--;
        idle.push(conn);
        if (queued() < queueLen) for (const w of roomWaiters.splice(0)) w();
        pump();
        if (inFlight === 0 && queued() === 0) for (const w of drainWaiters.splice(0)) w();
      });
    }
  };

  const drain = () =>
    inFlight === 0 && queued() === 0 ? Promise.resolve() : new Promise<void>((r) => drainWaiters.push(r));

  return {
    name: `output-http(${address})`,
    write(msg: Message) {
      if (msg.meta.type !== REQUEST) {
        counters.not_request_ignored++;
        return;
      }
      if (!hasRequestTitle(msg.data)) {
        counters.not_http_skipped++;
        return;
      }
      const payload = adaptRequest(msg.data, target, options.originalHost ?? false);
      queue.push({ payload, method: requestMethod(payload).toString('latin1') });
      pump();
      if (queued() >= queueLen) return new Promise<void>((r) => roomWaiters.push(r));
    },
    drain,
    async close() {
      await drain();
      for (const c of all) c.close();
      roomWaiters = [];
      drainWaiters = [];
    },
    stats: () => {
      const { latency_total_ms, ...rest } = counters;
      return {
        ...rest,
        avg_latency_ms: counters.sent ? Math.round((latency_total_ms / counters.sent) * 100) / 100 : 0,
      };
    },
  };
}

export const httpOutputPlugin: OutputPluginDef = {
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
        'Replay requests to URL (http://host:port). A URL with a path or query sends every request to exactly that ' +
        'path (as gor does). ADDR|N limits to N requests a second, ADDR|N% samples.',
      gorNote: 'a bare host:port is accepted; gor needs the scheme',
    },
    'output-http-workers': {
      kind: 'int',
      default: '32',
      section: SECTION,
      value: 'N',
      help: 'Connections per target, each with one request in flight (keep-alive).',
      gorNote: 'gor: maximum of a dynamic pool, one new connection per request',
    },
    'output-http-timeout': {
      kind: 'duration',
      default: '5s',
      section: SECTION,
      help: 'Time allowed for a whole request: connect, send, response headers and body.',
    },
  },
  create({ address, flags }) {
    const workers = flags.number('output-http-workers');
    if (workers < 1) {
      throw new TaplineError(ERROR_CODES.USAGE, `needs at least 1 connection, got ${workers}`, {
        where: '--output-http-workers',
      });
    }
    return httpOutput(address, { workers, timeoutMs: flags.number('output-http-timeout') });
  },
};
