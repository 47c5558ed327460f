/**
 * The dashboard's and /metrics' HTTP answers to what a browser does not send: HEAD on the event stream, other
 * methods. Plain node:http clients against the real servers on 127.0.0.1:0.
 */
import assert from 'node:assert/strict';
import { type ClientRequest, request } from 'node:http';
import { describe, it } from 'node:test';
import { type AlertEvent, AlertMonitor } from '../../src/analytics/export/alerts.js';
import { shortName } from '../../src/analytics/export/long-names.js';
import { startMetricsServer } from '../../src/analytics/export/prometheus.js';
import { printableRoute } from '../../src/analytics/printable.js';
import { createLogger } from '../../src/core/log.js';
import { startDashboard } from '../../src/web/server.js';
import type { DashboardState } from '../../src/web/state.js';
import { exchange, FixedFeed, snapshotOf } from '../exporters/fixed-feed.js';
import { collect, startTapline, waitForStderr } from '../support/cli.js';

/** One request; resolves with the status and the headers once the answer has ended (or rejects after 3 s). */
function ask(url: string, method: string): Promise<{ status: number; allow: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, timeout: 3000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, allow: res.headers.allow }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no complete answer within 3 s`)));
    req.on('error', reject);
    req.end();
  });
}

/** GET /api/stream, left open (kept in `open`); resolves at the answer's head, with its body for a refusal. */
function stream(
  url: string,
  open: ClientRequest[],
): Promise<{ status: number; retryAfter: string | undefined; body: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/api/stream`, { timeout: 3000 }, (res) => {
      let text = '';
      const body = new Promise<string>((done) => {
        res.on('data', (d: Buffer) => {
          text += d.toString();
        });
        res.on('end', () => done(text));
      });
      resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'], body });
    });
    open.push(req);
    req.on('timeout', () => req.destroy(new Error(`GET ${url}/api/stream: no answer within 3 s`)));
    req.on('error', reject);
    req.end();
  });
}

describe('dashboard and metrics over plain HTTP', () => {
  it('HEAD /api/stream is answered and ended, not kept open as a viewer', async () => {
    const feed = new FixedFeed();
    feed.push(exchange({ route: '/a' }));
    const dashboard = await startDashboard(feed, { host: '127.0.0.1', port: 0 }, { intervalMs: 100 });
    try {
      const head = await ask(`${dashboard.url}/api/stream`, 'HEAD');
      assert.equal(head.status, 200);
      assert.equal(dashboard.viewers(), 0);
    } finally {
      await dashboard.close();
    }
  });

  it('the alerts of one check go to a viewer in one frame, not a frame each', async () => {
    // 1,001 alerts firing at once sent 1,001 samples to each viewer in one go (each the whole state), and every
    // viewer was cut off for not reading.
    const feed = new FixedFeed();
    let routes = 30;
    const alerts = new AlertMonitor({
      window: () =>
        snapshotOf(Array.from({ length: routes }, (_, i) => exchange({ route: `/r${i}`, responseBodyBytes: 5000 }))),
      budgets: { maxRouteBytes: 1000 },
      windowMs: 60_000,
      log: createLogger({ write: () => {} }),
      resolveAfterMs: 0,
    });
    const dashboard = await startDashboard(feed, { host: '127.0.0.1', port: 0 }, { alerts, intervalMs: 3_600_000 });
    const controller = new AbortController();
    try {
      const res = await fetch(`${dashboard.url}/api/stream`, { signal: controller.signal });
      const reader = res.body!.getReader();
      let text = '';
      const frames = () => text.split('event: state\n').length - 1;
      const readUntil = async (done: () => boolean) => {
        for (let i = 0; i < 10_000 && !done(); i++) {
          const { value, done: ended } = await reader.read();
          if (ended) break;
          text += Buffer.from(value).toString();
        }
      };
      await readUntil(() => frames() === 1); // the frame a viewer gets on arrival
      assert.equal(alerts.check().length, 30);
      routes = 29; // the next check resolves /r29: one more frame, after those of the first check
      await new Promise((r) => setImmediate(r));
      assert.equal(alerts.check().length, 1);
      await readUntil(() => text.includes('"state":"resolved"'));
      assert.equal(frames(), 3, 'the arrival frame, one for the 30 alerts, one for the resolution');
    } finally {
      controller.abort();
      await dashboard.close();
    }
  });

  it('event streams past the cap are answered 503 with a reason and counted; a freed place is taken again', async () => {
    const dashboard = await startDashboard(new FixedFeed(), { host: '127.0.0.1', port: 0 }, { maxViewers: 2 });
    const open: ClientRequest[] = [];
    try {
      const [first, second] = [await stream(dashboard.url, open), await stream(dashboard.url, open)];
      assert.deepEqual([first.status, second.status], [200, 200]);
      assert.equal(dashboard.viewers(), 2);
      const third = await stream(dashboard.url, open);
      assert.equal(third.status, 503);
      assert.equal(third.retryAfter, '30');
      assert.match(await third.body, /2 viewers are connected, the most it serves at once; close another tab/);
      assert.deepEqual(dashboard.stats(), { viewers: 2, viewers_refused: 1, viewers_dropped: 0, max_viewers: 2 });
      // HEAD is answered (and ended) even when full: it never becomes a viewer.
      assert.equal((await ask(`${dashboard.url}/api/stream`, 'HEAD')).status, 200);

      open[0]!.destroy();
      for (let i = 0; i < 100 && dashboard.viewers() > 1; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal((await stream(dashboard.url, open)).status, 200);
      assert.equal(dashboard.stats().viewers_refused, 1);
    } finally {
      for (const req of open) req.destroy();
      await dashboard.close();
    }
  });

  it('long routes and hosts go out cut as the exporters label them: a sample stays small and names them apart', async () => {
    // 15 captured paths of 75 KB sharing their beginning, 2,000-character hosts, and an alert on each: sent whole
    // they made every sample 4.2 MB, sent each second to each viewer.
    const feed = new FixedFeed();
    const base = '/ab'.repeat(25_000);
    const routes = Array.from({ length: 15 }, (_, i) => `${base}/end${String.fromCharCode(97 + i)}`);
    for (const [i, route] of routes.entries()) feed.push(exchange({ route, host: `h${i}${'x'.repeat(2000)}` }));
    const events: AlertEvent[] = routes.map((route, i) => ({
      state: 'firing',
      budget: 'max-route',
      route,
      host: `h${i}${'x'.repeat(2000)}`,
      value: 1250,
      limit: 10,
      message: `max-route: ${printableRoute(route)} 1.22 KiB > 10 B`,
      window_s: 60,
      at: new Date().toISOString(),
      started_at: new Date().toISOString(),
    }));
    const alerts = { active: () => events, recent: () => events };
    const dashboard = await startDashboard(feed, { host: '127.0.0.1', port: 0 }, { alerts });
    try {
      const text = await (await fetch(`${dashboard.url}/api/snapshot`)).text();
      assert.ok(text.length < 200_000, `a sample of ${text.length} characters`);
      const state = JSON.parse(text) as DashboardState;
      assert.equal(state.routes.length, 15);
      const shown = state.routes.map((r) => r.route);
      assert.equal(new Set(shown).size, 15, 'routes sharing their beginning stay apart');
      assert.deepEqual(new Set(shown), new Set(routes.map(shortName)));
      assert.deepEqual(new Set(state.routes.map((r) => r.host)), new Set(events.map((e) => shortName(e.host))));
      for (const list of [state.alerts.active, state.alerts.recent])
        assert.deepEqual(
          list.map((e) => [e.route, e.host]),
          events.map((e) => [shortName(e.route), shortName(e.host)]),
        );
    } finally {
      await dashboard.close();
    }
  });

  it('a sample names the active alerts its recent events name, and counts the rest', async () => {
    // Every active alert went in each second's sample: 2,001 of them over routes that came and went.
    const event = (i: number): AlertEvent => ({
      state: 'firing',
      budget: 'max-route',
      route: `/r${i}`,
      host: 'h',
      value: 10,
      limit: 1,
      message: `max-route: /r${i} 10 B > 1 B`,
      window_s: 60,
      at: '2026-11-23T15:00:00.000Z',
      started_at: '2026-11-23T15:00:00.000Z',
    });
    const active = Array.from({ length: 2000 }, (_, i) => event(i));
    const recent = [event(1998), event(1999), { ...event(5000), state: 'resolved' as const }];
    const dashboard = await startDashboard(
      new FixedFeed(),
      { host: '127.0.0.1', port: 0 },
      { alerts: { active: () => active, recent: () => recent } },
    );
    try {
      const state = (await (await fetch(`${dashboard.url}/api/snapshot`)).json()) as DashboardState;
      assert.deepEqual(
        state.alerts.active.map((e) => e.route),
        ['/r1998', '/r1999'],
      );
      assert.equal(state.alerts.active_total, 2000);
      assert.equal(state.alerts.recent.length, 3);
    } finally {
      await dashboard.close();
    }
  });

  it('the cap is 64 viewers by default', async () => {
    const dashboard = await startDashboard(new FixedFeed(), { host: '127.0.0.1', port: 0 });
    try {
      assert.equal(dashboard.stats().max_viewers, 64);
    } finally {
      await dashboard.close();
    }
  });

  it('/metrics with another method is 405 naming GET and HEAD, not "not found"', async () => {
    const metrics = await startMetricsServer(new FixedFeed(), { host: '127.0.0.1', port: 0 });
    try {
      assert.deepEqual(await ask(`${metrics.url}/metrics`, 'POST'), { status: 405, allow: 'GET, HEAD' });
      assert.equal((await ask(`${metrics.url}/metrics`, 'HEAD')).status, 200);
      assert.equal((await ask(`${metrics.url}/other`, 'GET')).status, 404);
    } finally {
      await metrics.close();
    }
  });
});

describe('the dashboard address a run prints', () => {
  it('on 0.0.0.0 it is one to open (loopback), and says the dashboard is open to the network', async () => {
    // Before: 'tapline: dashboard on http://0.0.0.0:PORT/', where it listens, which browsers refuse or treat apart.
    const run = startTapline(['--input-dummy', 'x', '--output-null', '--dashboard', '0.0.0.0:0']);
    let stderr = '';
    run.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const done = collect(run, 60_000);
    try {
      await waitForStderr(run, /open to the network, no login\)/, 30_000);
      const line = /tapline: dashboard on (\S+) \(listening on every address, 0\.0\.0\.0: open to the network/.exec(
        stderr,
      );
      assert.ok(line, stderr);
      assert.match(line[1]!, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      assert.equal((await fetch(`${line[1]}api/snapshot`)).status, 200);
    } finally {
      run.kill('SIGINT');
    }
    assert.equal((await done).code, 0);
  });
});
