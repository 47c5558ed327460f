/**
 * Request paths and hosts that are not ASCII, from a .gor file through every output that names routes:
 * `tapline report` (table, --json, --csv; a spawned CLI, with the native core and with the JavaScript tracker),
 * `--stats` of a file replay, the Prometheus exposition (checked by Debian's `promtool check metrics`) and
 * InfluxDB line protocol. Valid UTF-8 shows as its characters, other bytes as `\xHH` (docs/analytics.md
 * "Routes"); a `--route` rule holding non-ASCII text matches; percent-escapes are kept as sent.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { toLineProtocol } from '../../src/analytics/export/influxdb.js';
import { LatencyBuckets } from '../../src/analytics/export/latency-buckets.js';
import { renderPrometheus } from '../../src/analytics/export/prometheus.js';
import { type AnalyticsOptions, createAnalytics } from '../../src/analytics/index.js';
import { statsAddon } from '../../src/analytics/stats-addon.js';
import { displayWidth } from '../../src/cli/text-width.js';
import { encodeRecord, GorRecordReader } from '../../src/core/gor-format.js';
import type { Message } from '../../src/core/message.js';
import { makeMeta } from '../../src/core/message.js';
import { runTapline } from '../support/cli.js';

const T0 = 1_700_000_000_000_000_000n;
const utf8 = (s: string) => Buffer.from(s, 'utf8');

/** [request path bytes, Host bytes]: two requests each. */
const REQUESTS: [Buffer, Buffer][] = [
  [utf8('/uni/é/日本'), utf8('bücher.example')],
  [utf8('/uni/é/42'), utf8('bücher.example')],
  [utf8('/uni/é/43?q=ü'), utf8('bücher.example')],
  [Buffer.concat([utf8('/caf'), Buffer.from([0xe9]), utf8('/7')]), Buffer.from([0x68, 0xf6, 0x66])], // latin1
  [utf8('/uni/%C3%A9'), utf8('shop.test')],
];

/** Automatic routes and hosts as they must read (the rule-less run). */
const ROUTES = ['/uni/é/日本', '/uni/é/:id', '/caf\\xe9/:id', '/uni/%C3%A9'];
const HOSTS = ['bücher.example', 'h\\xf6f', 'shop.test'];

function messages(): Message[] {
  const out: Message[] = [];
  let n = 0;
  for (const [path, host] of REQUESTS) {
    for (let i = 0; i < 2; i++, n++) {
      const id = n.toString(16).padStart(24, '0');
      const at = T0 + BigInt(n) * 1_000_000n;
      const req = Buffer.concat([utf8('GET '), path, utf8(' HTTP/1.1\r\nHost: '), host, utf8('\r\n\r\n')]);
      const res = utf8('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      out.push({ meta: makeMeta({ type: '1', id, timestampNs: at }), data: req });
      out.push({ meta: makeMeta({ type: '2', id, timestampNs: at + 5_000n, latencyNs: 0n }), data: res });
    }
  }
  return out;
}

let dir: string;
let file: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tapline-non-ascii-'));
  file = join(dir, 'u.gor');
  writeFileSync(file, Buffer.concat(messages().map(encodeRecord)));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const ENGINES = statsAddon() === null ? ['off'] : ['off', 'on'];

/** `tapline report …` with the stats addon on or off (the child inherits the environment when spawned). */
async function report(engine: string, args: string[]) {
  const saved = process.env.TAPLINE_STATS_ADDON;
  if (engine === 'off') process.env.TAPLINE_STATS_ADDON = 'off';
  else delete process.env.TAPLINE_STATS_ADDON;
  try {
    const run = runTapline(['report', file, ...args]);
    return await run;
  } finally {
    if (saved === undefined) delete process.env.TAPLINE_STATS_ADDON;
    else process.env.TAPLINE_STATS_ADDON = saved;
  }
}

function hasLine(lines: string[], start: string): void {
  assert.ok(
    lines.some((l) => l.startsWith(start)),
    `${start} in\n${lines.join('\n')}`,
  );
}

interface RouteRow {
  route: string;
  requests: number;
}

describe('tapline report on non-ASCII paths', () => {
  for (const engine of ENGINES) {
    it(`--json: UTF-8 routes and hosts as text, other bytes as \\xHH (stats addon ${engine})`, async () => {
      const r = await report(engine, ['--json']);
      assert.equal(r.code, 0, r.stderr);
      const s = JSON.parse(r.stdout.toString('utf8'));
      assert.deepEqual(s.routes.map((x: RouteRow) => x.route).sort(), [...ROUTES].sort());
      assert.deepEqual(s.hosts.map((x: { host: string }) => x.host).sort(), [...HOSTS].sort());
      assert.equal(s.routes.find((x: RouteRow) => x.route === '/uni/é/:id').requests, 4);
      assert.ok(s.top_endpoints.some((x: { path: string }) => x.path === '/uni/é/日本'));
    });

    it(`--route with non-ASCII text matches (stats addon ${engine})`, async () => {
      const r = await report(engine, ['--json', '--route', '/uni/é/:id']);
      assert.equal(r.code, 0, r.stderr);
      const routes = JSON.parse(r.stdout.toString('utf8')).routes as RouteRow[];
      assert.equal(routes.find((x) => x.route === '/uni/é/:id')?.requests, 6); // 日本, 42, 43
      assert.equal(routes.length, 3);
    });
  }

  it('--csv and the table', async () => {
    const csv = await report('on', ['--csv']);
    assert.equal(csv.code, 0, csv.stderr);
    const rows = csv.stdout.toString('utf8').trim().split('\n').slice(1);
    hasLine(rows, '/uni/é/日本,bücher.example,2,');
    hasLine(rows, '/caf\\xe9/:id,h\\xf6f,2,');
    const table = await report('on', []);
    assert.equal(table.code, 0, table.stderr);
    const text = table.stdout.toString('utf8');
    for (const route of ROUTES) assert.ok(text.includes(`  ${route} `), `${route} in\n${text}`);
    // The columns line up on a terminal: 日本 takes two columns a character, so every row of the first table
    // ends at the same column (padding by string length pushed the 日本 row's columns two to the right).
    const block = text.split('\n\n').find((b) => b.startsWith('Top routes by bytes'))!;
    const firstTable = block.split('\n').filter((l) => l.startsWith('  '));
    const ends = firstTable.map((l) => displayWidth(l.replace(/ *█*$/, '')));
    assert.ok(firstTable.length >= ROUTES.length, text);
    assert.ok(
      ends.every((e) => e === ends[0]),
      `rows end at columns ${ends.join(', ')}:\n${firstTable.join('\n')}`,
    );
  });
});

describe('tapline report --parquet on non-ASCII paths', () => {
  it('path, route and host columns hold the text (read back by DuckDB)', async () => {
    const out = join(dir, 'x.parquet');
    const r = await report('on', ['--parquet', out]);
    assert.equal(r.code, 0, r.stderr);
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    const read = await conn.runAndReadAll(`SELECT DISTINCT path, route, host FROM '${out}' ORDER BY path`);
    assert.deepEqual(read.getRows(), [
      ['/caf\\xe9/7', '/caf\\xe9/:id', 'h\\xf6f'],
      ['/uni/%C3%A9', '/uni/%C3%A9', 'shop.test'],
      ['/uni/é/42', '/uni/é/:id', 'bücher.example'],
      ['/uni/é/43', '/uni/é/:id', 'bücher.example'],
      ['/uni/é/日本', '/uni/é/日本', 'bücher.example'],
    ]);
    conn.closeSync();
  });
});

describe('live outputs on non-ASCII paths', () => {
  it('--stats of a file replay names the routes as text', async () => {
    const r = await runTapline(['--input-file', file, '--output-null', '--stats', '--stats-interval', '1h']);
    assert.equal(r.code, 0, r.stderr);
    const last = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
      .at(-1);
    assert.deepEqual(last.routes.map((x: RouteRow) => x.route).sort(), [...ROUTES].sort());
  });

  it('Prometheus: labels as text, the exposition passes promtool check metrics', (t) => {
    const analytics = createAnalytics({ timeBase: 'input' });
    const buckets = new LatencyBuckets();
    analytics.onExchange((e) => buckets.observe(e));
    const reader = new GorRecordReader(() => {});
    for (const m of [...reader.push(readFileSync(file)), ...reader.end()]) analytics.observe(m);
    analytics.finish();
    const text = renderPrometheus(analytics.snapshot(), buckets);
    assert.match(text, /tapline_route_bytes_total\{host="bücher\.example",route="\/uni\/é\/日本",/);
    assert.match(text, /\{host="h\\\\xf6f",route="\/caf\\\\xe9\/:id",/); // the backslash escaped: \\xe9
    assert.match(text, /tapline_route_latency_seconds_count\{[^}]*route="\/uni\/é\/:id"[^}]*\} 4\n/);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 20_000 });
    if (check.error) {
      t.skip(`promtool not runnable: ${check.error.message}`);
      return;
    }
    assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);
  });

  it('InfluxDB line protocol: tags as text', () => {
    const analytics = createAnalytics({ timeBase: 'input' });
    for (const m of messages()) analytics.observe(m);
    analytics.finish();
    const lines = toLineProtocol(analytics.snapshot(), undefined, 1n);
    hasLine(lines, 'tapline_route,host=bücher.example,route=/uni/é/日本 ');
    hasLine(lines, 'tapline_route,host=h\\xf6f,route=/caf\\xe9/:id ');
  });
});

describe('the native core and the JavaScript tracker on non-ASCII paths', {
  skip: statsAddon() === null ? 'the stats addon is not built' : false,
}, () => {
  /** Snapshot of one engine over the messages, as plain messages and as the reader's records. */
  function snapshot(engine: 'auto' | 'js', records: boolean, options: AnalyticsOptions = {}) {
    const analytics = createAnalytics({ timeBase: 'input', engine, ...options });
    const plain = messages();
    const reader = new GorRecordReader(() => {});
    const input = records ? [...reader.push(Buffer.concat(plain.map(encodeRecord))), ...reader.end()] : plain;
    for (const m of input) analytics.observe(m);
    analytics.finish();
    return analytics.snapshot();
  }

  for (const options of [{}, { routes: ['/uni/é/:id', '/caf\\xe9/*'] }]) {
    it(`the same routes and hosts, and they are text (${options.routes ? '--route rules' : 'templates'})`, () => {
      const js = snapshot('js', true, options);
      for (const records of [true, false])
        assert.equal(JSON.stringify(snapshot('auto', records, options)), JSON.stringify(js));
      const routes = js.routes.map((r) => r.route).sort();
      if (options.routes) assert.deepEqual(routes, ['/caf\\xe9/*', '/uni/%C3%A9', '/uni/é/:id']);
      else assert.deepEqual(routes, [...ROUTES].sort());
      assert.deepEqual(js.hosts.map((h) => h.host).sort(), [...HOSTS].sort());
    });
  }
});
