/**
 * --output-influxdb written to a real InfluxDB 1.x (Debian's /usr/bin/influxd, started here on loopback with a
 * generated config and temp dirs) and read back with InfluxQL through /query.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InfluxWriter, parseInfluxUrl, toLineProtocol } from '../../src/analytics/export/influxdb.js';
import { SEPARATOR } from '../../src/core/gor-format.js';
import { createLogger } from '../../src/core/log.js';
import { runTapline } from '../support/cli.js';
import { type ExternalServer, endless, freePort, influxQuery, startInfluxdb } from './external-servers.js';
import { exchange, FixedFeed, snapshotOf } from './fixed-feed.js';

function quietLog() {
  const lines: string[] = [];
  return { log: createLogger({ verbose: 0, write: (l) => lines.push(l) }), lines };
}

describe('InfluxDB line protocol', () => {
  it('parses the URL forms and refuses others with a usage error', () => {
    assert.equal(parseInfluxUrl('http://h:8086').writeUrl, 'http://h:8086/write?db=tapline&precision=ns');
    assert.equal(
      parseInfluxUrl('http://h:8086/write?db=x&rp=week').writeUrl,
      'http://h:8086/write?rp=week&db=x&precision=ns',
    );
    for (const bad of ['h:8086', 'ftp://h/', 'http://h:8086/api/v2/write']) {
      assert.throws(
        () => parseInfluxUrl(bad),
        (e: Error & { code?: string }) => e.code === 'TAPLINE_ERR_USAGE',
      );
    }
  });

  it('escapes tags and writes interval deltas against the previous snapshot', () => {
    const first = [exchange({ route: '/a b,c=d', host: '' })];
    const second = [...first, exchange({ route: '/a b,c=d', host: '' })];
    const lines = toLineProtocol(snapshotOf(second), snapshotOf(first), 5n);
    assert.match(lines[0]!, /^tapline_route,route=\/a\\ b\\,c\\=d requests=2i,/);
    assert.match(lines[0]!, /interval_requests=1i/);
    assert.match(lines[0]!, /interval_bytes=1250i/);
    assert.match(lines[1]!, /^tapline total_requests=2i,.* 5$/);
  });
});

describe('--output-influxdb against a real InfluxDB', () => {
  let influx: ExternalServer;
  before(async () => {
    influx = await startInfluxdb();
  });
  after(async () => {
    await influx?.stop();
  });

  it('creates the database, writes every interval and the final totals; the query reads back the traffic', async () => {
    const feed = new FixedFeed();
    const { log } = quietLog();
    const writer = new InfluxWriter(parseInfluxUrl(`${influx.url}?db=traffic`), () => feed.snapshot(), log);
    const batch1 = Array.from({ length: 5 }, (_, i) => exchange({ route: '/users/:id', responseBodyBytes: 900 + i }));
    const batch2 = [
      ...Array.from({ length: 4 }, () => exchange({ route: '/orders', requestBodyBytes: 300, status: 201 })),
      exchange({ route: '/users/:id', status: 404, responseBodyBytes: 10 }),
    ];
    feed.push(...batch1);
    await writer.flush();
    await new Promise((r) => setTimeout(r, 5)); // distinct timestamps
    feed.push(...batch2);
    await writer.close();
    assert.deepEqual(writer.stats(), {
      writes: 2,
      points: 5,
      failures: 0,
      skipped: 0,
      points_dropped: 0,
      points_not_written: 0,
    });

    const all = [...batch1, ...batch2];
    const users = all.filter((e) => e.route === '/users/:id');
    const [last] = await influxQuery(
      influx,
      'traffic',
      `SELECT last(response_body_bytes), last(requests), last(status_4xx) FROM tapline_route WHERE route = '/users/:id'`,
    );
    assert.deepEqual(last!.values[0]!.slice(1), [users.reduce((a, e) => a + e.responseBodyBytes, 0), 6, 1]);
    const [sum] = await influxQuery(influx, 'traffic', 'SELECT sum(interval_bytes) FROM tapline');
    assert.equal(sum!.values[0]![1], snapshotOf(all).total_bytes);
    const [orders] = await influxQuery(
      influx,
      'traffic',
      `SELECT request_body_bytes, status_2xx FROM tapline_route WHERE route = '/orders'`,
    );
    assert.deepEqual(
      orders!.values.map((v) => v.slice(1)),
      [[1200, 4]],
    );
  });

  it('a route seen from a second host: the interval fields still add up to the traffic', async () => {
    // The aggregator keeps one total per route; its host tag turns from 'a.test' to '*' when b.test comes. The
    // interval fields were computed against the previous write's point of the same host and route, so the
    // route's whole total was written again as interval_bytes: sum(interval_bytes) came out 1.5x the traffic.
    const dir = mkdtempSync(join(tmpdir(), 'tapline-influx-hosts-'));
    try {
      const parts: Buffer[] = [];
      let wire = 0;
      const t0 = BigInt(Date.now()) * 1_000_000n;
      [0, 1200, 2400].forEach((ms, i) => {
        const id = (0xbeef00 + i).toString(16).padStart(24, '0');
        const ts = t0 + BigInt(ms) * 1_000_000n;
        const req = Buffer.from(`GET /a HTTP/1.1\r\nHost: ${i === 1 ? 'b' : 'a'}.test\r\n\r\n`);
        const res = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello');
        parts.push(Buffer.from(`1 ${id} ${ts}\n`), req, SEPARATOR, Buffer.from(`2 ${id} ${ts + 1_000_000n} 0\n`), res);
        parts.push(SEPARATOR);
        wire += req.length + res.length;
      });
      const file = join(dir, 'hosts.gor');
      writeFileSync(file, Buffer.concat(parts));
      const r = await runTapline(
        ['--input-file', file, '--output-null', '--output-influxdb', `${influx.url}?db=hosts`].concat([
          '--output-influxdb-interval',
          '400ms',
        ]),
        { timeoutMs: 30_000 },
      );
      assert.equal(r.code, 0, r.stderr);
      const [sum] = await influxQuery(
        influx,
        'hosts',
        'SELECT sum(interval_bytes), sum(interval_requests) FROM tapline_route',
      );
      assert.deepEqual(sum!.values[0]!.slice(1), [wire, 3]);
      const tags = await influxQuery(influx, 'hosts', 'SELECT last(total_bytes) FROM tapline_route GROUP BY host');
      assert.ok(tags.length >= 2, 'the host tag turned from a.test to *');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('routes of 75 KB paths (InfluxDB takes a series key up to 64 KiB) are written, cut; the write succeeds', async () => {
    // A 75 KB path passed InfluxDB's 64 KiB series key limit: the write was answered 400 ("max key length
    // exceeded") and counted failed, every interval of the run, and the final totals were "not written".
    const dir = mkdtempSync(join(tmpdir(), 'tapline-influx-long-'));
    try {
      // (Routes are at most 1,000 characters since routes.ts cuts long templates; the two differ before the cut.)
      const long = (start: string) => `/${start}/${'ab/'.repeat(25_000)}end`;
      const paths = [long('x'), long('y'), '/ok'];
      const parts: Buffer[] = [];
      paths.forEach((path, i) => {
        const id = (0xfeed00 + i).toString(16).padStart(24, '0');
        const ts = 1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n;
        parts.push(Buffer.from(`1 ${id} ${ts}\nGET ${path} HTTP/1.1\r\nHost: h\r\n\r\n`), SEPARATOR);
        parts.push(Buffer.from(`2 ${id} ${ts + 1000n} 0\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok`), SEPARATOR);
      });
      const file = join(dir, 'long.gor');
      writeFileSync(file, Buffer.concat(parts));
      const r = await runTapline(
        ['--input-file', `${file}|max`, '--output-null', '--output-influxdb', `${influx.url}?db=long`],
        { timeoutMs: 30_000 },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /output-influxdb: 1 writes \(4 points\) to database long, 0 failed\n/);
      const series = await influxQuery(influx, 'long', 'SELECT last(requests) FROM tapline_route GROUP BY route');
      const routes = series.map((x) => (x as unknown as { tags: { route: string } }).tags.route).sort();
      assert.equal(routes.length, 3);
      assert.equal(routes[0], '/ok');
      for (const route of routes.slice(1)) {
        assert.match(route, /^\/[xy](\/ab)+\/…$/);
        assert.ok(route.length <= 1000, `${route.length}`);
      }
      assert.notEqual(routes[1], routes[2], 'two long routes stay two series');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('routes and hosts with backslashes are written as they are; one that InfluxDB cannot take does not fail the write', async () => {
    // InfluxDB 1.x unescapes only `\,` `\=` `\ ` in tag values, and refuses a value that ends with a backslash
    // ("invalid tag format"): a doubled backslash was stored doubled, and one route ending in `\` failed every write.
    const feed = new FixedFeed();
    const { log } = quietLog();
    feed.push(
      exchange({ route: '/back\\slash', host: 'h\\x' }),
      exchange({ route: '/trail\\', host: 'ok' }),
      exchange({ route: '/a\\,b c', host: 'ok' }),
    );
    const writer = new InfluxWriter(parseInfluxUrl(`${influx.url}?db=backslashes`), () => feed.snapshot(), log);
    await writer.close();
    assert.deepEqual(
      writer.stats(),
      { writes: 1, points: 4, failures: 0, skipped: 0, points_dropped: 0, points_not_written: 0 },
      writer.stats().last_error,
    );
    const [routes] = await influxQuery(influx, 'backslashes', 'SHOW TAG VALUES FROM tapline_route WITH KEY = "route"');
    assert.deepEqual(routes!.values.map((v) => v[1]).sort(), ['/a%5C,b c', '/back\\slash', '/trail%5C']);
    const [hosts] = await influxQuery(influx, 'backslashes', 'SHOW TAG VALUES FROM tapline_route WITH KEY = "host"');
    assert.deepEqual(hosts!.values.map((v) => v[1]).sort(), ['h\\x', 'ok']);
  });

  it('a database InfluxDB will not create is said as such, not as the retried write\'s "database not found"', async () => {
    // CREATE DATABASE "back\\" is answered 200 with {"results":[{"error":"invalid name"}]}.
    const { log, lines } = quietLog();
    const writer = new InfluxWriter(parseInfluxUrl(`${influx.url}?db=back%5C`), () => snapshotOf([]), log);
    await writer.flush();
    assert.equal(writer.stats().failures, 1);
    assert.match(lines[0]!, /failed: database back\\ not found, and CREATE DATABASE failed: invalid name$/);
  });

  it('a server that is down is counted and warned about; the run is not stopped', async () => {
    const { log, lines } = quietLog();
    const port = await freePort();
    const writer = new InfluxWriter(parseInfluxUrl(`http://127.0.0.1:${port}?db=x`), () => snapshotOf([]), log, 1000);
    await writer.flush();
    await writer.close();
    const stats = writer.stats();
    assert.equal(stats.failures, 2);
    assert.equal(stats.writes, 0);
    assert.match(
      lines[0]!,
      /output-influxdb: write to http:\/\/127\.0\.0\.1:\d+\/write\?db=x&precision=ns failed: fetch failed: .*ECONNREFUSED/,
    );
    // The final write is the one whose loss is a loss (the others' totals arrive with the next): said as such.
    assert.match(
      lines[1]!,
      /the final write to .* failed: fetch failed: .*; 1 point \(the run's last totals\) not written/,
    );
    assert.equal(stats.points_not_written, 1);
  });

  it('a partial write (400 "partial write: … dropped=N") counts the dropped points, says why, and moves the interval baseline', async () => {
    // The database already holds p50_ms as an integer (another writer, an older schema): InfluxDB refuses
    // tapline's route points (p50_ms is a float) and stores the run's point. tapline counted the whole write as
    // failed and kept its baseline, so the next write's interval_bytes counted this interval's bytes again.
    const db = 'partial';
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    const created = await fetch(`${influx.url}/query?q=${encodeURIComponent(`CREATE DATABASE ${db}`)}`, {
      method: 'POST',
    });
    assert.equal(created.status, 200);
    const seeded = await fetch(`${influx.url}/write?db=${db}`, {
      method: 'POST',
      body: `tapline_route,host=shop.test,route=/old p50_ms=1i ${nowNs}`,
    });
    assert.equal(seeded.status, 204);

    const feed = new FixedFeed();
    const { log, lines } = quietLog();
    const writer = new InfluxWriter(parseInfluxUrl(`${influx.url}?db=${db}`), () => feed.snapshot(), log);
    const batch1 = [exchange({ route: '/a' }), exchange({ route: '/b', responseBodyBytes: 4000 })];
    const batch2 = [exchange({ route: '/a', responseBodyBytes: 700 })];
    feed.push(...batch1);
    await writer.flush();
    assert.deepEqual(
      writer.stats(),
      {
        writes: 1,
        points: 1,
        failures: 0,
        skipped: 0,
        points_dropped: 2,
        points_not_written: 0,
        last_error: writer.stats().last_error,
      },
      lines.join('\n'),
    );
    assert.match(
      lines[0]!,
      /^tapline: warning: output-influxdb: InfluxDB stored 1 of 3 points and dropped 2: field type conflict: input field "p50_ms" on measurement "tapline_route" is type float, already exists as type integer$/,
    );
    await new Promise((r) => setTimeout(r, 5)); // distinct timestamps
    feed.push(...batch2);
    await writer.close();
    assert.equal(writer.stats().points_dropped, 4, 'both writes: /a and /b refused');
    assert.equal(writer.stats().points, 2);

    const [sum] = await influxQuery(influx, db, 'SELECT sum(interval_bytes), count(interval_bytes) FROM tapline');
    assert.deepEqual(sum!.values[0]!.slice(1), [snapshotOf([...batch1, ...batch2]).total_bytes, 2]);
  });

  it('close() with a write in flight that gets no answer: the final write is not made, and that is said once', async () => {
    const silent = createNetServer((socket) => {
      socket.on('data', () => {});
      socket.on('error', () => {});
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    try {
      const { log, lines } = quietLog();
      const snapshot = () => snapshotOf([exchange({ route: '/a' }), exchange({ route: '/b' })]);
      const writer = new InfluxWriter(parseInfluxUrl(`http://127.0.0.1:${port}?db=x`), snapshot, log, 300);
      void writer.flush(); // in flight when the run stops
      const started = performance.now();
      await writer.close();
      const tookMs = performance.now() - started;
      assert.deepEqual(
        { ...writer.stats(), last_error: undefined },
        {
          writes: 0,
          points: 0,
          failures: 1,
          skipped: 0,
          points_dropped: 0,
          points_not_written: 3,
          last_error: undefined,
        },
      );
      assert.equal(lines.length, 2, lines.join('\n'));
      assert.match(lines[0]!, /write to .* failed: no answer within 300 ms/);
      assert.match(
        lines[1]!,
        /^tapline: warning: output-influxdb: the final write was not made: http:\/\/127\.0\.0\.1:\d+\/write\?db=x&precision=ns did not answer the previous one within 300 ms; 3 points \(the run's last totals\) not written$/,
      );
      assert.ok(tookMs < 3000, `close() took ${tookMs} ms`); // one 300 ms timeout; generous for a loaded machine
    } finally {
      silent.close();
    }
  });
});

describe('--output-influxdb answered without end (a local node:http server, not InfluxDB)', () => {
  it('an answer whose body never ends is read only so far: the write is judged on its status, at once', async () => {
    // res.text() read it whole: memory grew until the write's timeout, then "no answer within 5000 ms".
    const server = createServer((req, res) => {
      req.resume();
      if (req.url!.startsWith('/write')) endless(res);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const { log, lines } = quietLog();
      const writer = new InfluxWriter(parseInfluxUrl(`${base}?db=x`), () => snapshotOf([]), log, 2000);
      await writer.close();
      assert.deepEqual([writer.stats().writes, writer.stats().failures], [1, 0], lines.join('\n'));
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe('--output-influxdb behind a redirect (a local node:http server, not InfluxDB)', () => {
  it('a 301 is not followed as a GET without the points: the write fails naming the new address; a 308 is followed', async () => {
    const seen: string[] = [];
    const server = createServer(async (req, res) => {
      let body = '';
      for await (const c of req) body += c;
      seen.push(`${req.method} ${req.url} ${body.length > 0 ? 'with points' : 'empty'}`);
      if (req.url!.startsWith('/moved/')) res.writeHead(301, { location: '/elsewhere/write' }).end();
      else if (req.url!.startsWith('/write')) res.writeHead(308, { location: `/kept${req.url}` }).end();
      else res.writeHead(204).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const snapshot = () => snapshotOf([exchange({ route: '/a' })]);
      const { log, lines } = quietLog();
      // /moved/write is not a URL parseInfluxUrl accepts: a target made by hand, as a proxy in front would answer.
      const moved = new InfluxWriter(
        { writeUrl: `${base}/moved/write?db=x`, queryUrl: `${base}/query`, db: 'x' },
        snapshot,
        log,
        2000,
      );
      await moved.flush();
      assert.deepEqual(moved.stats().writes, 0, 'the points did not arrive: not counted as written');
      assert.equal(moved.stats().failures, 1);
      assert.match(lines[0]!, /failed: answered 301, a redirect to http:\/\/127\.0\.0\.1:\d+\/elsewhere\/write/);
      assert.deepEqual(seen, ['POST /moved/write?db=x with points']);

      const kept = new InfluxWriter(parseInfluxUrl(`${base}?db=x`), snapshot, log, 2000);
      await kept.flush();
      assert.equal(kept.stats().writes, 1, kept.stats().last_error);
      assert.equal(seen.at(-1), 'POST /kept/write?db=x&precision=ns with points');
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe('--output-influxdb refused by a proxy or with odd words (a local node:http server, not InfluxDB)', () => {
  it('the answer is said on one line, control characters escaped, InfluxDB\'s {"error"} by its words', async () => {
    // A proxy's 502 page broke the warning and the summary over 9 lines, and ESC [2J in an answer cleared the
    // reader's screen: the body was printed as it came.
    const answers: Record<string, [number, string]> = {
      '/html': [
        502,
        '<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n<center><h1>502</h1></center>\n</html>\n',
      ],
      '/esc': [500, 'boom\n\x1b[2J\x1b[31mRED\r\nline2\x00\x07'],
      '/json': [400, '{"error":"unable to parse \'x\\n\\u001b[2J\': bad"}'],
      '/long': [503, `${'busy '.repeat(100)}\n`],
    };
    const server = createServer(async (req, res) => {
      for await (const _ of req);
      const [status, body] = answers[req.url!.slice(0, req.url!.indexOf('/write'))]!;
      res.writeHead(status).end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const said: string[] = [];
      for (const path of Object.keys(answers)) {
        const { log, lines } = quietLog();
        const target = { writeUrl: `${base}${path}/write?db=x`, queryUrl: `${base}/query`, db: 'x' };
        const writer = new InfluxWriter(target, () => snapshotOf([exchange({ route: '/a' })]), log, 2000);
        await writer.flush();
        assert.equal(writer.stats().failures, 1);
        assert.equal(lines.length, 1, lines.join('\n'));
        said.push(writer.stats().last_error!);
      }
      assert.deepEqual(said, [
        'answered 502: <html> <head><title>502 Bad Gateway</title></head> <body> <center><h1>502</h1></center> </html>',
        'answered 500: boom \\x1b[2J\\x1b[31mRED line2\\x00\\x07',
        "answered 400: unable to parse 'x \\x1b[2J': bad",
        `answered 503: ${'busy '.repeat(40)}…`,
      ]);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
