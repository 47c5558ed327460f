/**
 * `--dashboard ADDR`: one page, live over server-sent events. Plain node:http; a bare `:port` binds 127.0.0.1.
 *
 *   GET /              the page (page.ts)          GET /api/snapshot   the latest state as JSON
 *   GET /app.js        the page script             GET /api/stream     SSE: an `event: state` every second
 *   GET /uplot.js|css  uPlot from node_modules (works offline)
 *
 *   timer (1 s) ─▶ DashboardSampler.sample() ─▶ JSON once ─┬─▶ viewer 1 (res.write)
 *                                                         └─▶ viewer N   (a viewer that cannot keep up is dropped)
 *
 * Sampling runs whether or not anyone watches, so the chart has history when a viewer arrives. A viewer whose
 * socket buffer passes a limit (a stalled tab) is disconnected rather than buffered without bound; it reconnects.
 * The number of viewers is capped too (64 by default: each may hold up to that 1 MiB): one more is answered 503
 * with a body that says why, and counted, rather than growing memory by a MiB per stalled connection.
 */
import { readFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AlertEvent } from '../analytics/export/alerts.js';
import type { AnalyticsFeed } from '../analytics/export/feed.js';
import { closeServer, listenOn, serverUrl } from '../analytics/export/listen.js';
import { ERROR_CODES, TaplineError } from '../core/errors.js';
import { PAGE_HTML, PAGE_SCRIPT } from './page.js';
import { type AlertSource, DashboardSampler } from './state.js';

const MAX_BUFFERED_BYTES = 1 << 20;
const MAX_VIEWERS = 64;

export interface DashboardOptions {
  alerts?: AlertSource & { onAlert?(listener: (e: AlertEvent) => void): () => void };
  /** Sample period, ms. Default 1000. */
  intervalMs?: number;
  /** Event streams open at once; one more is answered 503. Default 64. */
  maxViewers?: number;
}

export interface Dashboard {
  readonly url: string;
  /** Viewers connected now. */
  viewers(): number;
  /** Event streams refused (503) because `maxViewers` were open, and viewers cut off for not reading. */
  stats(): { viewers: number; viewers_refused: number; viewers_dropped: number; max_viewers: number };
  close(): Promise<void>;
}

function uplotAsset(file: string): Buffer {
  try {
    return readFileSync(createRequire(import.meta.url).resolve(`uplot/dist/${file}`));
  } catch (cause) {
    throw new TaplineError(ERROR_CODES.FILE_IO, `cannot load uPlot (${file}); reinstall tapline's dependencies`, {
      where: '--dashboard',
      cause,
    });
  }
}

export async function startDashboard(
  feed: AnalyticsFeed,
  listen: { host: string; port: number },
  options: DashboardOptions = {},
): Promise<Dashboard> {
  const assets: Record<string, { type: string; body: Buffer | string }> = {
    '/': { type: 'text/html; charset=utf-8', body: PAGE_HTML },
    '/app.js': { type: 'text/javascript; charset=utf-8', body: PAGE_SCRIPT },
    '/uplot.js': { type: 'text/javascript; charset=utf-8', body: uplotAsset('uPlot.iife.min.js') },
    '/uplot.css': { type: 'text/css; charset=utf-8', body: uplotAsset('uPlot.min.css') },
  };
  const sampler = new DashboardSampler(feed, options.alerts);
  const viewers = new Set<ServerResponse>();
  const maxViewers = options.maxViewers ?? MAX_VIEWERS;
  let refused = 0;
  let dropped = 0;
  const broadcast = (payload: string) => {
    for (const res of viewers) {
      if (res.writableLength > MAX_BUFFERED_BYTES) {
        viewers.delete(res);
        dropped++;
        res.destroy();
        continue;
      }
      res.write(payload);
    }
  };
  const frame = () => `event: state\ndata: ${JSON.stringify(sampler.state())}\n\n`;
  const timer = setInterval(() => {
    sampler.sample();
    if (viewers.size > 0) broadcast(frame());
  }, options.intervalMs ?? 1000);
  timer.unref();
  // An alert shows at once, not at the next tick; the alerts of one check in one frame (a frame each, 1,001 alerts
  // firing at once sent 1,001 samples to each viewer in one go, and cut off every viewer for not reading).
  let alertFrame = false;
  const unsubscribe = options.alerts?.onAlert?.(() => {
    if (alertFrame) return;
    alertFrame = true;
    setImmediate(() => {
      alertFrame = false;
      sampler.sample();
      broadcast(frame());
    });
  });

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0]!;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const asset = assets[path];
    if (asset) {
      res.writeHead(200, { 'content-type': asset.type, 'cache-control': 'no-cache' });
      res.end(req.method === 'HEAD' ? undefined : asset.body);
    } else if (path === '/api/snapshot') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(sampler.state()));
    } else if (path === '/api/stream' && req.method === 'GET' && viewers.size >= maxViewers) {
      refused++;
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '30' });
      res.end(
        `tapline dashboard: ${maxViewers} viewers are connected, the most it serves at once; close another tab or try again later\n`,
      );
    } else if (path === '/api/stream') {
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
      });
      // HEAD has no body, so no stream: answered and ended, not kept as a viewer that nothing is ever sent to.
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      res.write('retry: 2000\n\n');
      res.write(frame());
      viewers.add(res);
      req.on('close', () => viewers.delete(res));
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  await listenOn(server, listen, 'dashboard');
  server.unref();
  return {
    url: serverUrl(server),
    viewers: () => viewers.size,
    stats: () => ({
      viewers: viewers.size,
      viewers_refused: refused,
      viewers_dropped: dropped,
      max_viewers: maxViewers,
    }),
    async close() {
      clearInterval(timer);
      unsubscribe?.();
      for (const res of viewers) res.end();
      viewers.clear();
      await closeServer(server);
    },
  };
}
