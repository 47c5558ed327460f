/**
 * The dashboard's and /metrics' HTTP answers to what a browser does not send: HEAD on the event stream, other
 * methods. Plain node:http clients against the real servers on 127.0.0.1:0.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, it } from 'node:test';
import { startMetricsServer } from '../../src/analytics/export/prometheus.js';
import { startDashboard } from '../../src/web/server.js';
import { exchange, FixedFeed } from '../exporters/fixed-feed.js';

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
