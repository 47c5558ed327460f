/**
 * `npm run bench -- analytics`:
 *  1. `tapline report` over a BENCH_ANALYTICS_EXCHANGES-exchange .gor file (default 1,000,000), in exchanges/s,
 *     next to `tshark -q -z http,tree -r` on the same traffic as pcap. tshark needs minutes for a million
 *     exchanges, so it reads a smaller pcap (BENCH_ANALYTICS_PCAP_EXCHANGES, default 20,000) and the ratio is
 *     of per-exchange rates. The .gor file is that pcap captured by tapline (--input-raw pcap_file
 *     --input-raw-track-response) and repeated with fresh ids and later timestamps, so both read the same
 *     requests and responses. `report` over the pcap itself (the capture path) is shown too.
 *  2. The CPU cost of --stats: a file replay to --output-null (|max) with and without --stats, user+system CPU,
 *     best of BENCH_RUNS (default 3).
 *  Both also run with the stats addon off (TAPLINE_STATS_ADDON=off: the JavaScript tracker), for comparison.
 *  3. The floor under 2: bench/stats-floor.c, the least accounting work per exchange as one C loop with no
 *     JavaScript (what it is given for free is listed there), built with `cc` and run on the same file. Its
 *     per-route totals must equal `tapline report --json`'s, so it is known to do the same accounting. Its CPU
 *     is shown as a share of the replay's CPU without --stats: the overhead no implementation of --stats
 *     could go below on this machine.
 * Figures taken while other work runs on the machine are depressed; docs/benchmarks.md says when.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { encodeRecord, GorRecordReader } from '../src/core/gor-format.js';
import { makeMeta } from '../src/core/message.js';
import { writeHttpPcap } from './pcap-gen.js';
import { fmt, freshTmp, type Measured, measureTapline, printTable, ROOT, type Row, timeShell } from './support.js';

const EXCHANGES = Number(process.env.BENCH_ANALYTICS_EXCHANGES ?? 1_000_000);
const PCAP_EXCHANGES = Number(process.env.BENCH_ANALYTICS_PCAP_EXCHANGES ?? 20_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const PORT = 8080;

async function best(run: () => Promise<Measured>): Promise<Measured> {
  let min: Measured | undefined;
  for (let i = 0; i < RUNS; i++) {
    const m = await run();
    if (!min || m.userMs + m.systemMs < min.userMs + min.systemMs) min = m;
  }
  return min!;
}

/** `small` repeated until it holds `exchanges` requests: ids get the repetition in their first 6 hex digits. */
async function repeatGor(small: string, big: string, exchanges: number): Promise<number> {
  const records = new GorRecordReader(() => {}).push(readFileSync(small));
  const perPass = records.filter((r) => r.meta.type === '1').length;
  if (perPass === 0) throw new Error(`${small} holds no requests`);
  const first = records[0]!.meta.timestampNs;
  const span = records[records.length - 1]!.meta.timestampNs - first + 1_000_000n;
  const out = createWriteStream(big, { highWaterMark: 1 << 22 });
  let written = 0;
  for (let pass = 0; written < exchanges; pass++) {
    const prefix = pass.toString(16).padStart(6, '0');
    const chunk: Buffer[] = [];
    for (const r of records) {
      if (r.meta.type === '1' && written >= exchanges) break;
      if (r.meta.type === '1') written++;
      const meta = makeMeta({
        type: r.meta.type,
        id: prefix + r.meta.id.slice(6),
        timestampNs: r.meta.timestampNs + BigInt(pass) * span,
        latencyNs: r.meta.latencyNs ?? 0n,
      });
      chunk.push(encodeRecord({ meta, data: r.data }));
    }
    if (!out.write(Buffer.concat(chunk))) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return written;
}

/** Runs `body` with the stats addon switched off for the tapline processes it starts (they inherit the env). */
async function withoutStatsAddon<T>(body: () => Promise<T>): Promise<T> {
  const before = process.env.TAPLINE_STATS_ADDON;
  process.env.TAPLINE_STATS_ADDON = 'off';
  try {
    return await body();
  } finally {
    if (before === undefined) delete process.env.TAPLINE_STATS_ADDON;
    else process.env.TAPLINE_STATS_ADDON = before;
  }
}

/** The fields bench/stats-floor.c adds up per route, as `report --json` names them. */
const FLOOR_FIELDS = [
  'requests',
  'request_header_bytes',
  'request_body_bytes',
  'response_header_bytes',
  'response_body_bytes',
  'status_2xx',
] as const;

type RouteTotals = Record<(typeof FLOOR_FIELDS)[number], number> & { route: string };

/**
 * bench/stats-floor.c built with `cc` and run on `file`: its best ns per exchange, once its per-route totals and
 * its per-second series are checked against `tapline report --json` on the same file (a floor that counted
 * something else, or whose compiler dropped work whose result nothing used, would prove nothing).
 */
function statsFloor(dir: string, file: string): number {
  const exe = join(dir, 'stats-floor');
  const cc = spawnSync('cc', ['-O2', '-o', exe, join(ROOT, 'bench', 'stats-floor.c')], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`cc bench/stats-floor.c failed (${cc.status}):\n${cc.stderr}`);
  const run = spawnSync(exe, [file], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (run.status !== 0) throw new Error(`stats-floor ${file} failed (${run.status}):\n${run.stderr}`);
  const floor = JSON.parse(run.stdout) as {
    ns_per_exchange: number;
    total_bytes: number;
    seconds: number;
    routes: RouteTotals[];
  };
  const report = spawnSync(process.execPath, [join(ROOT, 'bin', 'tapline.js'), 'report', '--json', file], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  if (report.status !== 0)
    throw new Error(`tapline report --json ${file} failed (${report.status}):\n${report.stderr}`);
  const snapshot = JSON.parse(report.stdout) as {
    total_bytes: number;
    series: { bytes: number[] };
    routes: RouteTotals[];
  };
  const truth = new Map<string, RouteTotals>();
  for (const r of snapshot.routes) {
    const sum = truth.get(r.route) ?? ({ route: r.route } as RouteTotals);
    for (const f of FLOOR_FIELDS) sum[f] = (sum[f] ?? 0) + r[f];
    truth.set(r.route, sum);
  }
  const differences: string[] = [];
  if (truth.size !== floor.routes.length) differences.push(`${floor.routes.length} routes, report ${truth.size}`);
  // The per-second series (it is what makes the floor read the timestamps): its total, and seconds with bytes.
  if (floor.total_bytes !== snapshot.total_bytes)
    differences.push(`series total ${floor.total_bytes} bytes, report ${snapshot.total_bytes}`);
  const seconds = snapshot.series.bytes.filter((b) => b > 0).length;
  if (floor.seconds !== seconds) differences.push(`${floor.seconds} seconds with bytes, report ${seconds}`);
  for (const r of floor.routes) {
    const t = truth.get(r.route);
    for (const f of FLOOR_FIELDS)
      if (t?.[f] !== r[f]) differences.push(`${r.route} ${f}: ${r[f]}, report ${t?.[f] ?? 'no such route'}`);
  }
  if (differences.length > 0)
    throw new Error(`bench/stats-floor.c does not count what report counts:\n  ${differences.join('\n  ')}`);
  return floor.ns_per_exchange;
}

export async function main(): Promise<void> {
  const dir = freshTmp('analytics');
  const pcap = join(dir, 'traffic.pcap');
  const small = join(dir, 'small.gor');
  const big = join(dir, 'big.gor');
  const gen = await writeHttpPcap(pcap, {
    exchanges: PCAP_EXCHANGES,
    connections: 50,
    port: PORT,
    clientPortBase: 20000,
    rate: 5000,
  });
  await measureTapline([
    '--input-raw-engine',
    'pcap_file',
    '--input-raw',
    `${pcap}:${PORT}`,
    '--input-raw-track-response',
    '--output-file',
    small,
    '--output-file-append',
  ]);
  const exchanges = await repeatGor(small, big, EXCHANGES);
  console.log(
    `pcap: ${fmt(gen.requests)} exchanges, ${fmt(gen.bytes / 2 ** 20, 1)} MiB; .gor: ${fmt(exchanges)} exchanges, ` +
      `${fmt(statSync(big).size / 2 ** 20)} MiB`,
  );

  const reportGor = await best(() => measureTapline(['report', '--json', big]));
  const reportPcap = await best(() => measureTapline(['report', '--json', `${pcap}:${PORT}`]));
  let tsharkMs = Number.POSITIVE_INFINITY;
  for (let i = 0; i < RUNS; i++) tsharkMs = Math.min(tsharkMs, await timeShell(`tshark -q -z http,tree -r '${pcap}'`));
  const gorRate = exchanges / (reportGor.ms / 1000);
  const pcapRate = gen.requests / (reportPcap.ms / 1000);
  const tsharkRate = gen.requests / (tsharkMs / 1000);

  const src = `${big}|max`;
  const plain = await best(() => measureTapline(['--input-file', src, '--output-null']));
  const stats = await best(() => measureTapline(['--input-file', src, '--output-null', '--stats']));
  const cpu = (m: Measured) => m.userMs + m.systemMs;
  const overhead = cpu(stats) / cpu(plain) - 1;
  // The same two runs with the JavaScript tracker (the stats addon switched off): what the native core saves.
  const [reportJs, statsJs] = await withoutStatsAddon(async () => [
    await best(() => measureTapline(['report', '--json', big])),
    await best(() => measureTapline(['--input-file', src, '--output-null', '--stats'])),
  ]);
  const floorMs = (statsFloor(dir, big) * exchanges) / 1e6;
  const perExchange = (m: Measured) => `${fmt((cpu(m) * 1000) / exchanges, 2)} µs CPU per exchange`;

  const rows: Row[] = [
    {
      what: `report, ${fmt(exchanges)}-exchange .gor`,
      value: `${fmt(gorRate)} exch/s (${fmt(reportGor.ms / 1000, 1)} s, ${fmt(reportGor.maxRssKb / 1024)} MiB RSS)`,
      reference: `tshark -z http,tree: ${fmt(tsharkRate)} exch/s (${fmt(PCAP_EXCHANGES)}-exchange pcap)`,
      ratio: `${fmt(gorRate / tsharkRate, 1)}×`,
      target: '≥ 20×',
      ok: gorRate / tsharkRate >= 20,
    },
    {
      what: '  report, CPU (start-up included)',
      value: perExchange(reportGor),
      reference: `JS tracker (TAPLINE_STATS_ADDON=off): ${perExchange(reportJs)}`,
    },
    {
      what: `report, ${fmt(gen.requests)}-exchange pcap (capture path)`,
      value: `${fmt(pcapRate)} exch/s`,
      reference: `tshark: ${fmt(tsharkRate)} exch/s`,
      ratio: `${fmt(pcapRate / tsharkRate, 1)}×`,
    },
    {
      what: 'CPU of --stats on a replay to --output-null',
      value: `${fmt(cpu(stats))} ms CPU with, ${fmt(cpu(plain))} ms without`,
      ratio: `${overhead >= 0 ? '+' : ''}${fmt(overhead * 100, 1)}%`,
      target: '≤ 10%',
      ok: overhead <= 0.1,
    },
    {
      what: '  floor: bench/stats-floor.c (one C loop, no JS)',
      value: `${fmt((floorMs * 1e6) / exchanges, 1)} ns per exchange, ${fmt(floorMs)} ms`,
      reference: `the replay's CPU without --stats: ${fmt(cpu(plain))} ms`,
      ratio: `+${fmt((floorMs / cpu(plain)) * 100, 1)}%`,
    },
    {
      what: '  --stats with the JS tracker (TAPLINE_STATS_ADDON=off)',
      value: `${fmt(cpu(statsJs))} ms CPU`,
      ratio: `+${fmt((cpu(statsJs) / cpu(plain) - 1) * 100, 1)}%`,
    },
  ];
  printTable(rows);
}
