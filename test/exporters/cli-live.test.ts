/**
 * The live consumers wired into a real CLI run: a .gor file replayed at its recorded pace (~3 s) to
 * --output-null with --metrics, --dashboard, --output-influxdb (a real influxd) and an alert webhook (a real
 * local server). While it runs, /metrics and /api/snapshot show the traffic; at exit InfluxDB holds every byte
 * of the file, the webhook got the alert, and the summary says what each consumer did.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { SEPARATOR } from '../../src/core/gor-format.js';
import { collect, startTapline } from '../support/cli.js';
import { type ExternalServer, freePort, influxQuery, pollUntil, startInfluxdb } from './external-servers.js';

const dir = mkdtempSync(join(tmpdir(), 'tapline-cli-live-'));
let influx: ExternalServer;
before(async () => {
  influx = await startInfluxdb();
});
after(async () => {
  await influx?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** 30 exchanges, 100 ms apart: every third a 20 000-byte video, the others small JSON. */
function recording(): { file: string; wireBytes: number; videoBytes: number } {
  const parts: Buffer[] = [];
  let wireBytes = 0;
  let videoBytes = 0;
  const t0 = BigInt(Date.now()) * 1_000_000n;
  for (let i = 0; i < 30; i++) {
    const id = (0xabc000 + i).toString(16).padStart(24, '0');
    const ts = t0 + BigInt(i) * 100_000_000n;
    const video = i % 3 === 0;
    const path = video ? `/videos/${1000 + i}` : `/api/users/${i}`;
    const body = 'x'.repeat(video ? 20_000 : 200);
    const request = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: shop.test\r\nUser-Agent: t\r\n\r\n`);
    const response = Buffer.from(
      `HTTP/1.1 200 OK\r\nContent-Type: ${video ? 'video/mp4' : 'application/json'}\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    parts.push(Buffer.from(`1 ${id} ${ts}\n`), request, SEPARATOR);
    parts.push(Buffer.from(`2 ${id} ${ts + 5_000_000n} 5000000\n`), response, SEPARATOR);
    wireBytes += request.length + response.length;
    if (video) videoBytes += request.length + response.length;
  }
  const file = join(dir, 'traffic.gor');
  writeFileSync(file, Buffer.concat(parts));
  return { file, wireBytes, videoBytes };
}

/** A webhook receiver on 127.0.0.1: the alerts it was sent, its URL. */
async function hookReceiver() {
  const hooks: { state: string; budget: string; route: string }[] = [];
  const receiver = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    hooks.push(JSON.parse(Buffer.concat(chunks).toString()));
    res.end();
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const hookUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
  return { hooks, receiver, hookUrl };
}

it('a file replay feeds --metrics, --dashboard, --output-influxdb and alert webhooks', async () => {
  const { file, wireBytes, videoBytes } = recording();
  const { hooks, receiver, hookUrl } = await hookReceiver();
  const [metricsPort, dashboardPort] = [await freePort(), await freePort()];
  try {
    const child = startTapline([
      '--input-file',
      file,
      '--output-null',
      '--metrics',
      `:${metricsPort}`,
      '--dashboard',
      `:${dashboardPort}`,
      '--output-influxdb',
      `${influx.url}?db=live`,
      '--output-influxdb-interval',
      '500ms',
      '--max-route',
      '50kb',
      '--alert-webhook',
      hookUrl,
    ]);
    const done = collect(child, 30_000);

    // While it runs: the metrics endpoint and the dashboard's snapshot see the videos.
    const seen = await pollUntil('video bytes in /metrics', async () => {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      const m =
        /tapline_route_bytes_total\{host="shop\.test",route="\/videos\/:id",direction="response",part="body"\} (\d+)/.exec(
          text,
        );
      return m && Number(m[1]) > 0 ? Number(m[1]) : undefined;
    });
    assert.equal(seen % 20_000, 0, 'whole bodies only');
    // The dashboard samples once a second.
    await pollUntil('/videos/:id on the dashboard', async () => {
      const state = (await (await fetch(`http://127.0.0.1:${dashboardPort}/api/snapshot`)).json()) as {
        routes: { route: string }[];
      };
      return state.routes.some((r) => r.route === '/videos/:id') ? true : undefined;
    });

    const res = await done;
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /tapline: Prometheus metrics on http:\/\/127\.0\.0\.1:\d+\/metrics/);
    assert.match(res.stderr, /tapline: dashboard on http:\/\/127\.0\.0\.1:\d+\//);
    assert.match(res.stderr, /tapline: alert: max-route: \/videos\/:id .* \(over the last 1m\)/);
    assert.match(res.stderr, /alerts: 1 fired, 0 resolved, 1 still active; webhook: 1 posted, 0 failed, 0 dropped/);
    assert.match(res.stderr, /output-influxdb: \d+ writes \(\d+ points\) to database live, 0 failed/);
    assert.match(res.stderr, /metrics: \d+ scrapes answered/);

    // After exit: the final write holds every byte of the file.
    const [sum] = await influxQuery(influx, 'live', 'SELECT sum(interval_bytes), last(total_requests) FROM tapline');
    assert.deepEqual(sum!.values[0]!.slice(1), [wireBytes, 30]);
    const [videos] = await influxQuery(
      influx,
      'live',
      `SELECT last(total_bytes) FROM tapline_route WHERE route = '/videos/:id'`,
    );
    assert.equal(videos!.values[0]![1], videoBytes);
    assert.deepEqual(hooks, [
      {
        ...hooks[0],
        state: 'firing',
        budget: 'max-route',
        route: '/videos/:id',
      },
    ]);
  } finally {
    await new Promise<void>((r) => receiver.close(() => r()));
  }
});

it('a replay shorter than one alert check still fires and POSTs the alert', async () => {
  // Alerts were checked by a 1 s timer only: 'tapline --input-file "traffic.gor|max" --output-null --max-route
  // 50kb --alert-webhook URL' read the file in a few milliseconds, printed no alert line, POSTed nothing and
  // exited 0, while its own verdict said '1 broken'. The window now gets a last look when the inputs end.
  const { file } = recording();
  const { hooks, receiver, hookUrl } = await hookReceiver();
  try {
    const res = await collect(
      startTapline(['--input-file', `${file}|max`, '--output-null', '--max-route', '50kb', '--alert-webhook', hookUrl]),
      30_000,
    );
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /^tapline: alert: max-route: \/videos\/:id .* > 50\.0 KiB \(over the last 1m\)$/m);
    assert.match(res.stderr, /alerts: 1 fired, 0 resolved, 1 still active; webhook: 1 posted, 0 failed, 0 dropped/);
    assert.match(res.stderr, /budgets over the whole run .*: 1 broken/);
    assert.deepEqual(
      hooks.map((h) => [h.state, h.budget, h.route]),
      [['firing', 'max-route', '/videos/:id']],
    );
  } finally {
    await new Promise<void>((r) => receiver.close(() => r()));
  }
});

it('bad live-consumer flags are usage errors before anything starts', async () => {
  const cases: [string[], RegExp][] = [
    [['--metrics', 'nope'], /--metrics: expected host:port or :port, got "nope"/],
    [['--metrics', ':99999'], /--metrics: port 99999 is above 65535, got ":99999"/],
    [
      ['--output-influxdb', 'influx'],
      /--output-influxdb influx: expected an InfluxDB URL like http:\/\/127\.0\.0\.1:8086\?db=tapline/,
    ],
    [['--output-influxdb', 'localhost:8086'], /--output-influxdb localhost:8086: InfluxDB URL must be http or https/],
    [['--alert-webhook', 'http://127.0.0.1:9/'], /--alert-webhook: alerts need a budget to judge/],
    [['--max-total', '1mb', '--alert-webhook', 'mailto:x'], /--alert-webhook: expected an http\(s\) URL/],
    [['--max-total', '1mb', '--alert-window', '10ms'], /--alert-window: the alert window must be at least 1s/],
    // Given with an empty value: refused, not a consumer left off in silence.
    [['--metrics='], /--metrics: expected host:port or :port, got ""/],
    [['--dashboard', ''], /--dashboard: expected host:port or :port, got ""/],
    [['--max-total', '1mb', '--alert-webhook='], /--alert-webhook: expected an http\(s\) URL, got ""/],
    [['--output-influxdb='], /--output-influxdb : expected an InfluxDB URL/],
    // Given twice, the first was dropped without a word: a second receiver silenced the first.
    [
      ['--max-total', '1mb', '--alert-webhook', 'http://127.0.0.1:9/a', '--alert-webhook=http://127.0.0.1:9/b'],
      /--alert-webhook: given twice \("http:\/\/127\.0\.0\.1:9\/a", then "http:\/\/127\.0\.0\.1:9\/b"\): tapline POSTs alerts to one receiver; give one URL/,
    ],
    [
      ['--output-influxdb', 'http://127.0.0.1:9?db=a', '--output-influxdb', 'http://127.0.0.1:9?db=b'],
      /--output-influxdb: given twice .*: tapline writes to one InfluxDB database; give one URL/,
    ],
    [
      ['--metrics', ':0', '--metrics', ':1'],
      /--metrics: given twice \(":0", then ":1"\): tapline serves one Prometheus/,
    ],
    [
      ['--dashboard', ':0', '--dashboard', ':1'],
      /--dashboard: given twice \(":0", then ":1"\): tapline serves one dashboard/,
    ],
    // An empty db= wrote to 'tapline', two db= to the first: a database nobody named, without a word.
    [
      ['--output-influxdb', 'http://127.0.0.1:9?db='],
      /--output-influxdb http:\/\/127\.0\.0\.1:9\?db=: db= is empty: give the database name \(or leave db out for the default, tapline\)/,
    ],
    [
      ['--output-influxdb', 'http://127.0.0.1:9/write?db=a&db=b'],
      /--output-influxdb \S+: db is given 2 times \("a", "b"\): give one database/,
    ],
    // A % that starts no escape in the user or password: every POST failed with 'URI malformed'.
    [
      ['--max-total', '1mb', '--alert-webhook', 'http://bob:50%off@127.0.0.1:9/h'],
      /--alert-webhook: the password in the URL has a % that is not followed by two hex digits \(write a % as %25\)/,
    ],
    [
      ['--output-influxdb', 'http://b%zz:50%off@127.0.0.1:9?db=x'],
      /--output-influxdb: the user name in the URL has a % that is not followed by two hex digits/,
    ],
    // Port 0 failed every POST of the run ('connect ECONNREFUSED'); 99999 was 'expected an http(s) URL'.
    [
      ['--max-total', '1mb', '--alert-webhook', 'http://127.0.0.1:0/h'],
      /--alert-webhook: port 0 is not one a receiver/,
    ],
    [['--output-influxdb', 'http://127.0.0.1:0?db=x'], /--output-influxdb: port 0 is not one a receiver listens on/],
    [
      ['--max-total', '1mb', '--alert-webhook', 'http://127.0.0.1:99999/h'],
      /--alert-webhook: port 99999 is out of range \(1-65535\)/,
    ],
    [['--output-influxdb', 'http://[::1]:70000?db=x'], /--output-influxdb \S+: port 70000 is out of range/],
  ];
  for (const [args, message] of cases) {
    const res = await collect(startTapline(['--input-dummy', 'x', '--output-null', ...args]), 20_000);
    assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`);
    assert.match(res.stderr, message);
    assert.doesNotMatch(res.stderr, /50%off/, 'no password printed');
  }
});

it('a port in use or an address not of this machine: exit 2, saying why', async () => {
  const holder = createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
  const port = (holder.address() as { port: number }).port;
  try {
    const cases: [string[], RegExp][] = [
      [['--metrics', `127.0.0.1:${port}`], /--metrics: cannot listen on 127\.0\.0\.1:\d+: the port is in use/],
      [
        ['--dashboard', '192.0.2.1:8080'],
        /--dashboard: cannot listen on 192\.0\.2\.1:8080: the address is not one of this machine/,
      ],
      // --http-pprof said only 'cannot listen on 127.0.0.1:PORT'.
      [['--http-pprof', `127.0.0.1:${port}`], /--http-pprof: cannot listen on 127\.0\.0\.1:\d+: the port is in use/],
    ];
    // One port given to two of tapline's own servers: 'in use by another program' named the wrong culprit.
    const [mine, mine2] = [await freePort(), await freePort()];
    cases.push(
      [
        ['--metrics', `127.0.0.1:${mine}`, '--dashboard', `:${mine}`],
        /--dashboard: cannot listen on 127\.0\.0\.1:\d+: tapline's own --metrics listens there: give each its own port/,
      ],
      [
        ['--dashboard', `127.0.0.1:${mine2}`, '--http-pprof', `127.0.0.1:${mine2}`],
        /--http-pprof: cannot listen on 127\.0\.0\.1:\d+: tapline's own --dashboard listens there/,
      ],
    );
    // A link-local IPv6 address without its interface: Linux says EINVAL, which was shown as 'listen EINVAL: …'.
    const ipv6 = Object.values(networkInterfaces()).some((list) => list?.some((a) => a.family === 'IPv6'));
    if (ipv6 && process.platform === 'linux') {
      cases.push([['--metrics', '[fe80::1]:0'], /--metrics: cannot listen on \[fe80::1\]:0: .*needs its interface/]);
      // Given one the system does not have, the same advice read as if none had been given.
      cases.push([
        ['--dashboard', '[fe80::1%nosuch0]:0'],
        /--dashboard: cannot listen on \[fe80::1%nosuch0\]:0: the system refuses to listen on this address: it has no interface nosuch0 \(ip link lists them\)/,
      ]);
    }
    for (const [args, message] of cases) {
      const res = await collect(startTapline(['--input-dummy', 'x', '--output-null', ...args]), 20_000);
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`);
      assert.match(res.stderr, message);
    }
  } finally {
    await new Promise<void>((r) => holder.close(() => r()));
  }
});
