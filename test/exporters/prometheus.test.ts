/**
 * --metrics scraped by a real Prometheus (Debian's /usr/bin/prometheus, started here on loopback with a
 * generated config): the series it stored, read back through its HTTP API, equal the traffic that was fed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LatencyBuckets } from '../../src/analytics/export/latency-buckets.js';
import { type MetricsServer, renderPrometheus, startMetricsServer } from '../../src/analytics/export/prometheus.js';
import { SEPARATOR } from '../../src/core/gor-format.js';
import { collect, startTapline } from '../support/cli.js';
import { type ExternalServer, freePort, pollUntil, promQuery, startPrometheus } from './external-servers.js';
import { exchange, FixedFeed, snapshotOf } from './fixed-feed.js';

describe('Prometheus exposition', () => {
  it('escapes label values and writes cumulative histogram buckets', () => {
    const weird = exchange({ route: '/a"b\\c\nd', latencyNs: 30_000_000n });
    const fast = exchange({ route: '/a"b\\c\nd', latencyNs: 2_000_000n });
    const slow = exchange({ route: '/a"b\\c\nd', latencyNs: 60_000_000_000n });
    const buckets = new LatencyBuckets();
    for (const e of [weird, fast, slow]) buckets.observe(e);
    const text = renderPrometheus(snapshotOf([weird, fast, slow]), buckets);
    assert.match(text, /route="\/a\\"b\\\\c\\nd"/);
    const bucket = (le: string) =>
      Number(
        new RegExp(`tapline_route_latency_seconds_bucket\\{[^}]*le="${le.replace('+', '\\+')}"\\} (\\d+)`).exec(
          text,
        )?.[1],
      );
    assert.equal(bucket('0.001'), 0);
    assert.equal(bucket('0.0025'), 1);
    assert.equal(bucket('0.05'), 2);
    assert.equal(bucket('10'), 2);
    assert.equal(bucket('+Inf'), 3);
    assert.match(text, /tapline_route_latency_seconds_count\{[^}]*\} 3\n/);
    for (const line of text.split('\n').filter((l) => l && !l.startsWith('#'))) {
      assert.match(line, /^[a-z_]+(\{.*\})? [0-9.e+-]+$/, line);
    }
  });

  it('bounds histogram series: past the limit exchanges share one series and are counted', () => {
    const buckets = new LatencyBuckets(2);
    for (let i = 0; i < 5; i++) buckets.observe(exchange({ route: `/r${i}` }));
    const series = [...buckets.all()];
    assert.equal(series.length, 3);
    assert.ok(
      series.every((s) => !('host' in s)),
      'keyed by route, as the route totals are',
    );
    assert.equal(buckets.overflowed, 3);
    assert.equal(series.find((s) => s.route === '(other)')?.count, 3);
  });
});

describe('--metrics scraped by a real Prometheus', () => {
  const feed = new FixedFeed();
  let metrics: MetricsServer;
  let prometheus: ExternalServer;

  before(async () => {
    metrics = await startMetricsServer(feed, { host: '127.0.0.1', port: 0 });
    prometheus = await startPrometheus([new URL(metrics.url).host]);
  });
  after(async () => {
    await prometheus?.stop();
    await metrics?.close();
  });

  it('stores per-route byte counters, status-class counters and latency histograms equal to the traffic', async () => {
    const traffic = [
      ...Array.from({ length: 7 }, (_, i) =>
        exchange({
          route: '/users/:id',
          requestHeaderBytes: 120 + i,
          responseBodyBytes: 2000 + i * 10,
          latencyNs: 15_000_000n,
        }),
      ),
      ...Array.from({ length: 3 }, () =>
        exchange({ route: '/orders', method: 'POST', requestBodyBytes: 512, status: 503, latencyNs: 300_000_000n }),
      ),
      exchange({ route: '/orders', method: 'POST', requestBodyBytes: 64, status: undefined, latencyNs: undefined }),
    ];
    feed.push(...traffic);
    const sum = (route: string, f: (e: (typeof traffic)[number]) => number) =>
      traffic.filter((e) => e.route === route).reduce((a, e) => a + f(e), 0);

    // Wait for a scrape that saw all of it (Prometheus scrapes every 500 ms).
    const q = 'tapline_route_bytes_total{route="/users/:id",direction="request",part="header"}';
    const want = sum('/users/:id', (e) => e.requestHeaderBytes);
    await pollUntil(`${q} = ${want}`, async () => {
      const r = await promQuery(prometheus, q);
      return r[0] && Number(r[0].value[1]) === want ? true : undefined;
    });

    const value = async (query: string) => {
      const r = await promQuery(prometheus, query);
      assert.equal(r.length, 1, `${query}: ${JSON.stringify(r)}`);
      return Number(r[0]!.value[1]);
    };
    assert.equal(
      await value('tapline_route_bytes_total{route="/users/:id",direction="response",part="body"}'),
      sum('/users/:id', (e) => e.responseBodyBytes),
    );
    assert.equal(
      await value('tapline_route_bytes_total{route="/orders",direction="request",part="body"}'),
      sum('/orders', (e) => e.requestBodyBytes),
    );
    assert.equal(await value('sum(tapline_route_bytes_total)'), snapshotOf(traffic).total_bytes);
    assert.equal(await value('tapline_route_requests_total{route="/orders",status_class="5xx"}'), 3);
    assert.equal(await value('tapline_route_requests_total{route="/orders",status_class="none"}'), 1);
    assert.equal(await value('tapline_route_requests_total{route="/users/:id",status_class="2xx"}'), 7);
    assert.equal(await value('tapline_route_latency_seconds_count{route="/users/:id"}'), 7);
    assert.equal(await value('tapline_route_latency_seconds_bucket{route="/orders",le="0.25"}'), 0);
    assert.equal(await value('tapline_route_latency_seconds_bucket{route="/orders",le="0.5"}'), 3);
    const p50 = await value('histogram_quantile(0.5, tapline_route_latency_seconds_bucket{route="/users/:id"})');
    assert.ok(p50 > 0.01 && p50 <= 0.025, `p50 ${p50}`);
    assert.equal(await value('up{job="tapline"}'), 1);
    assert.ok(metrics.scrapes() > 0);
  });
});

describe('--metrics of a CLI run past --route-limit, scraped by a real Prometheus', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tapline-metrics-limit-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("histograms carry the labels of their routes' counters and are as bounded as they are", async () => {
    // 150 routes, each requested from two hosts; --route-limit 20. The latency histograms were keyed by host and
    // route with a limit of their own (5000): 300 series naming routes and hosts the counters did not have
    // (their routes were in '(other)', their host '*'), so the route limit did not bound them and no histogram
    // joined its counters.
    const parts: Buffer[] = [];
    const t0 = BigInt(Date.now()) * 1_000_000n;
    const record = (n: number, ts: bigint, path: string, host: string) => {
      const id = n.toString(16).padStart(24, '0');
      parts.push(Buffer.from(`1 ${id} ${ts}\nGET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`), SEPARATOR);
      parts.push(Buffer.from(`2 ${id} ${ts + 3_000_000n} 3000000\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok`));
      parts.push(SEPARATOR);
    };
    for (let i = 0; i < 300; i++)
      record(i + 1, t0 + BigInt(i) * 1_000_000n, `/r${i >> 1}x`, i % 2 ? 'b.test' : 'a.test');
    // The last exchange comes 8 s later: the run stays up while Prometheus scrapes the first 300.
    record(999, t0 + 8_000_000_000n, '/last', 'a.test');
    const file = join(dir, 'routes.gor');
    writeFileSync(file, Buffer.concat(parts));
    const port = await freePort();
    const prometheus = await startPrometheus([`127.0.0.1:${port}`]);
    const child = startTapline([
      ...['--input-file', file, '--output-null', '--route-limit', '20', '--metrics', `127.0.0.1:${port}`],
    ]);
    const done = collect(child, 60_000);
    try {
      const value = async (query: string) => {
        const r = await promQuery(prometheus, query);
        return r.length === 1 ? Number(r[0]!.value[1]) : undefined;
      };
      await pollUntil('a scrape of the first 300 exchanges', async () =>
        (await value('tapline_requests_total')) === 300 ? true : undefined,
      );
      const histograms = await promQuery(prometheus, 'tapline_route_latency_seconds_count');
      const counters = await promQuery(prometheus, 'tapline_route_requests_total{status_class="2xx"}');
      const labels = (r: { metric: Record<string, string> }) => `${r.metric.host} ${r.metric.route}`;
      assert.equal(counters.length, 21, 'the first 20 routes and (other)');
      assert.deepEqual(histograms.map(labels).sort(), counters.map(labels).sort());
      assert.ok(counters.every((r) => r.metric.host === '*'));
      assert.equal(await value('sum(tapline_route_latency_seconds_count)'), 300);
      assert.equal(await value('tapline_route_latency_seconds_count{route="(other)"}'), 260);
      assert.equal(await value('tapline_route_requests_total{route="(other)",status_class="2xx"}'), 260);
      assert.equal(await value('tapline_routes_overflowed_total'), 260);
      child.kill('SIGINT');
      await done;
    } finally {
      child.kill('SIGKILL');
      await prometheus.stop();
    }
  });
});

describe('--metrics with routes tens of kilobytes long, scraped by a real Prometheus', () => {
  it('labels are cut with a hash of the whole, stay distinct, and are queryable; a failed render is a 500', async () => {
    // 300 captured routes of 75 KB made one scrape a string longer than V8 holds: 'an error nobody caught
    // stopped the run: Invalid string length'. Each label is repeated in 26 lines a route.
    const long = (end: string) => `/${'ab/'.repeat(25_000)}${end}`;
    const feed = new FixedFeed();
    feed.push(exchange({ route: long('x'), host: 'h'.repeat(2000) }), exchange({ route: long('y') }));
    const text = renderPrometheus(feed.snapshot(), new LatencyBuckets());
    assert.ok(text.length < 200_000, `${text.length} characters`);
    const routes = new Set([...text.matchAll(/route="([^"]*)"/g)].map((m) => m[1]!));
    assert.equal(routes.size, 2);
    for (const r of routes) assert.match(r, /^\/(ab\/){333}…[0-9a-f]{8}$/);
    assert.match(text, /host="h{1000}…[0-9a-f]{8}"/);

    const metrics = await startMetricsServer(feed, { host: '127.0.0.1', port: 0 });
    const prometheus = await startPrometheus([new URL(metrics.url).host]);
    try {
      const stored = await pollUntil('the long routes stored', async () => {
        const r = await promQuery(prometheus, 'tapline_route_requests_total{status_class="2xx"}');
        return r.length === 2 ? r : undefined;
      });
      assert.deepEqual(stored.map((s) => s.metric.route).sort(), [...routes].sort());
    } finally {
      await prometheus.stop();
      await metrics.close();
    }

    const broken = await startMetricsServer(
      {
        snapshot: () => {
          throw new RangeError('Invalid string length');
        },
        onExchange: () => () => {},
      },
      { host: '127.0.0.1', port: 0 },
    );
    try {
      const res = await fetch(`${broken.url}/metrics`);
      assert.equal(res.status, 500);
      assert.match(await res.text(), /cannot render the metrics: Invalid string length/);
      assert.equal((await fetch(`${broken.url}/metrics`)).status, 500, 'still serving');
    } finally {
      await broken.close();
    }
  });
});

describe('/metrics against scrapers that never read (raw sockets on 127.0.0.1)', () => {
  /** A feed whose exposition (~11 MB) is more than the kernel takes for a reader that never reads. */
  function bigFeed(feed = new FixedFeed()): FixedFeed {
    for (let i = 0; i < 200; i++)
      feed.push(exchange({ route: `/${i}/${'r'.repeat(1200)}`, host: `h${i}${'x'.repeat(1200)}` }));
    return feed;
  }

  /** A connection that asks for /metrics and never reads the answer. */
  function neverReads(url: string): Socket {
    const { hostname, port } = new URL(url);
    const socket = connect(Number(port), hostname, () => socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n'));
    socket.pause();
    socket.on('error', () => {});
    return socket;
  }

  it('at most 4 scrapes are sent at once: the next is answered 503 until one is read, then served again', async () => {
    // 40 such connections took a run with 1,000 long routes from 350 MB to 1.08 GB: each held its 52 MB exposition.
    const metrics = await startMetricsServer(bigFeed(), { host: '127.0.0.1', port: 0 }, 'metrics', {
      sendTimeoutMs: 600_000,
    });
    const sockets = Array.from({ length: 4 }, () => neverReads(metrics.url));
    try {
      await pollUntil('4 scrapes in flight', async () => (metrics.stats().in_flight === 4 ? true : undefined), 30_000);
      const refused = await fetch(`${metrics.url}/metrics`);
      assert.equal(refused.status, 503);
      assert.equal(refused.headers.get('retry-after'), '1');
      assert.match(await refused.text(), /^4 scrapes are being sent already/);
      for (const s of sockets) s.destroy();
      await pollUntil('none in flight', async () => (metrics.stats().in_flight === 0 ? true : undefined), 30_000);
      const served = await fetch(`${metrics.url}/metrics`);
      assert.equal(served.status, 200);
      assert.match(await served.text(), /tapline_bytes_total /);
      await pollUntil('the answer sent', async () => (metrics.stats().in_flight === 0 ? true : undefined), 30_000);
      assert.deepEqual(metrics.stats(), { scrapes: 5, refused: 1, cut_off: 0, in_flight: 0 });
    } finally {
      for (const s of sockets) s.destroy();
      await metrics.close();
    }
  });

  it('a scrape read slowly holds a piece of its answer, not all of it, and sends the data of when it was asked', async () => {
    // Each scrape rendered its whole exposition and handed it to the socket at once: 1,000 routes with
    // 1,200-character names and hosts (54 MB a scrape) took a run from 132 MB to 945 MB with 4 slow scrapes.
    const feed = new FixedFeed();
    const buckets = new LatencyBuckets(1002);
    feed.onExchange((e) => buckets.observe(e));
    const metrics = await startMetricsServer(feed, { host: '127.0.0.1', port: 0 }, 'metrics', {
      sendTimeoutMs: 600_000,
    });
    bigFeed(feed); // after the server subscribed: its histograms hold them too
    let expected = '';
    let answer: ServerResponse | undefined;
    metrics.server.on('request', (_req, res: ServerResponse) => {
      // After the server's own listener, before the feed changes: what this scrape must send.
      expected = renderPrometheus(feed.snapshot(), buckets);
      answer = res;
    });
    try {
      const res = await new Promise<IncomingMessage>((resolve, reject) => {
        get(`${metrics.url}/metrics`, resolve).on('error', reject);
      });
      res.pause();
      assert.equal(res.statusCode, 200);
      assert.ok(expected.length > 10_000_000, `${expected.length} characters`);
      let held = 0;
      for (let i = 0; i < 20; i++) {
        await new Promise((r) => setTimeout(r, 20));
        held = Math.max(held, answer?.writableLength ?? 0);
      }
      assert.ok(held < 1_000_000, `${held} bytes of the answer held for a reader that does not read`);
      // The data changes while the scrape is sent: a new route, the totals.
      feed.push(...Array.from({ length: 50 }, () => exchange({ route: '/late' })));
      const body: Buffer[] = [];
      res.on('data', (c: Buffer) => body.push(c));
      res.resume();
      await new Promise((resolve, reject) => res.on('end', resolve).on('error', reject));
      assert.equal(Buffer.concat(body).toString('utf8'), expected);
      const head = await fetch(`${metrics.url}/metrics`, { method: 'HEAD' });
      assert.equal(Number(head.headers.get('content-length')), Buffer.byteLength(expected));
    } finally {
      await metrics.close();
    }
  });

  it('a scrape not read within the send timeout is cut off and counted', async () => {
    const metrics = await startMetricsServer(bigFeed(), { host: '127.0.0.1', port: 0 }, 'metrics', {
      sendTimeoutMs: 300,
    });
    const socket = neverReads(metrics.url);
    const closed = new Promise((r) => socket.once('close', r));
    try {
      await pollUntil('cut off', async () => (metrics.stats().cut_off === 1 ? true : undefined), 30_000);
      socket.resume(); // what the kernel held, then the end: the connection was closed by the server
      await closed;
      assert.deepEqual(metrics.stats(), { scrapes: 1, refused: 0, cut_off: 1, in_flight: 0 });
    } finally {
      socket.destroy();
      await metrics.close();
    }
  });
});
