/**
 * Capture benchmark (issue #3: `--input-raw`). One run measures, on generated HTTP/1.1 keep-alive traffic
 * (bench/pcap-gen.ts: one segment per request and per response, handshakes and FINs, correct checksums):
 *
 *  1. pcap_file decoding: `tapline --input-raw-engine pcap_file --input-raw FILE:PORT
 *     --input-raw-track-response --output-null` over a 400k-exchange file, in packets/s and requests/s,
 *     next to `tcpdump -nr FILE` (decode + one printed line a packet), `tcpdump -r FILE -w /dev/null
 *     'tcp port P'` (read + filter only) and `tshark -nr FILE -Y http` (full dissection).
 *  2. Live capture on lo at 25k and 50k requests/s: tcpreplay puts the file's packets on lo (--pps, pinned
 *     to CPU 0) while tapline captures them with the af_packet engine (pinned to CPU 1). Requests and
 *     responses captured vs on the wire (target: all), kernel drops, and tapline's CPU time over the
 *     replay ÷ requests (target ≤ 4 µs), next to `tcpdump -i lo -Q in -w /dev/null` capturing the
 *     same replay (a floor: it copies packets to a file and parses nothing).
 *
 * The frames carry a destination MAC other than lo's, so the kernel drops them before IP after the packet
 * sockets have seen them: no server, no RST, the wire holds exactly the file. The server port is a free
 * one from the dynamic range; nothing listens on it. Every figure, references included, is the best of
 * BENCH_RUNS (default 3; tshark at most 2) because this VM's timings swing by ±30%; a loss counts if it
 * happened in any run. Needs root for the live part and Debian's tcpdump, tshark, tcpreplay (bench/README.md).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  cpuBusyNs,
  cpuNs,
  finalCaptureStats,
  freePort,
  hasCommand,
  measureLine,
  startLive,
  startTapline,
  tcpdumpStats,
  tcpreplay,
  waitIdle,
} from './capture-support.js';
import { type PcapGenResult, writeHttpPcap } from './pcap-gen.js';
import { fmt, freshTmp, type Measured, measureTapline, printTable, type Row, timeShell } from './support.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const EXCHANGES = Number(process.env.BENCH_CAPTURE_EXCHANGES ?? 400_000);
const LIVE_SECONDS = Number(process.env.BENCH_CAPTURE_SECONDS ?? 8);
const RATES = [25_000, 50_000];
const CONNECTIONS = 500;
const CPU_TARGET_US = 4;
const REPLAY_CPU = 0;
const CAPTURE_CPU = 1;
/** Not lo's MAC (00:00:00:00:00:00): the kernel marks the frames PACKET_OTHERHOST and never answers them. */
const OTHER_MAC = [0x02, 0, 0, 0, 0, 0x01];

async function bestOf<T>(runs: number, run: () => Promise<T>, score: (t: T) => number): Promise<T> {
  let top: T | undefined;
  for (let i = 0; i < runs; i++) {
    const m = await run();
    if (top === undefined || score(m) < score(top)) top = m;
  }
  return top!;
}

const bestMs = (runs: number, command: string) =>
  bestOf(
    runs,
    () => timeShell(command),
    (ms) => ms,
  );

export async function main(): Promise<void> {
  const dir = freshTmp('capture');
  const rows: Row[] = [];
  const notes: string[] = [];
  const port = await freePort();
  const clientPortBase = 20_000 + Math.floor(Math.random() * 8_000);
  const files = new Map<number, { file: string; gen: PcapGenResult }>();
  const pcapFor = async (exchanges: number) => {
    let f = files.get(exchanges);
    if (!f) {
      const file = join(dir, `http-${exchanges}.pcap`);
      const t0 = performance.now();
      const gen = await writeHttpPcap(file, {
        exchanges,
        connections: CONNECTIONS,
        port,
        clientPortBase,
        rate: 50_000,
        dstMac: OTHER_MAC,
      });
      console.log(
        `generated ${file}: ${fmt(gen.requests)} requests + ${fmt(gen.responses)} responses over ${CONNECTIONS} keep-alive ` +
          `connections to 127.0.0.1:${port}, ${fmt(gen.packets)} packets, ${fmt(gen.bytes / 2 ** 20, 1)} MiB, in ` +
          `${fmt((performance.now() - t0) / 1000, 1)}s`,
      );
      f = { file, gen };
      files.set(exchanges, f);
    }
    return f;
  };

  try {
    await decodeBench(await pcapFor(EXCHANGES), port, rows);
    const why = !hasCommand('tcpreplay')
      ? 'tcpreplay is not installed (apt-get install -y tcpreplay)'
      : !hasCommand('taskset')
        ? 'taskset is not installed (util-linux)'
        : process.getuid?.() !== 0
          ? 'live capture needs root (or CAP_NET_RAW)'
          : '';
    if (why) {
      rows.push({ what: 'live capture on lo', value: `skipped: ${why}` });
    } else {
      for (const rate of RATES) await liveBench(rate, await pcapFor(rate * LIVE_SECONDS), port, rows);
    }
    if (hasCommand('gor')) {
      notes.push('gor is installed but not measured here; the target stays the absolute ≤ 4 µs a request.');
    } else {
      notes.push(
        'gor is not installed on this machine (not packaged in Debian): no gor ratio. The issue\'s target "≤ 4 µs a ' +
          'request — half of what gor needs" is checked as the absolute ≤ 4 µs.',
      );
    }
    printTable(rows);
    for (const n of notes) console.log(`note: ${n}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function decodeBench(src: { file: string; gen: PcapGenResult }, port: number, rows: Row[]): Promise<void> {
  const { file, gen } = src;
  await timeShell(`cat '${file}' > /dev/null`); // page cache: every reader reads from memory
  const tap = await bestOf(
    RUNS,
    () =>
      measureTapline([
        '--input-raw-engine',
        'pcap_file',
        '--input-raw',
        `${file}:${port}`,
        '--input-raw-track-response',
        '--output-null',
        '--input-raw-stats',
      ]),
    (m: Measured) => m.ms,
  );
  const stats = finalCaptureStats(tap.stderr);
  const pps = (ms: number) => gen.packets / (ms / 1000);
  const rps = (ms: number) => gen.requests / (ms / 1000);
  const tapPps = pps(tap.ms);
  const tapRps = rps(tap.ms);
  const decoded = Math.min(stats.requests ?? 0, stats.responses ?? 0);
  rows.push({
    what: `pcap_file: requests+responses decoded`,
    value: `${fmt(stats.requests ?? 0)} + ${fmt(stats.responses ?? 0)} of ${fmt(gen.requests)} + ${fmt(gen.responses)}`,
    target: 'all',
    ok: decoded === gen.requests && stats.responses === gen.responses,
  });
  const refs: { name: string; command: string; runs: number }[] = [];
  if (hasCommand('tcpdump')) {
    refs.push({ name: 'tcpdump -nr (decode+print)', command: `tcpdump -nr '${file}' > /dev/null 2>&1`, runs: RUNS });
    refs.push({
      name: 'tcpdump -r -w /dev/null (filter only)',
      command: `tcpdump -r '${file}' -w /dev/null 'tcp port ${port}' 2>/dev/null`,
      runs: RUNS,
    });
  }
  if (hasCommand('tshark')) {
    refs.push({
      name: 'tshark -nr -Y http',
      command: `tshark -nr '${file}' -Y http > /dev/null 2>&1`,
      runs: Math.min(RUNS, 2),
    });
  }
  for (const ref of refs) {
    const ms = await bestMs(ref.runs, ref.command);
    rows.push({
      what: `pcap_file decode, packets/s`,
      value: `${fmt(tapPps)} pkt/s`,
      reference: `${ref.name}: ${fmt(pps(ms))} pkt/s`,
      ratio: `${fmt(tapPps / pps(ms), 2)}×`,
    });
    rows.push({
      what: `  requests/s (+ their responses)`,
      value: `${fmt(tapRps)} req/s`,
      reference: `${fmt(rps(ms))} req/s`,
      ratio: `${fmt(tapRps / rps(ms), 2)}×`,
    });
  }
  if (refs.length === 0) {
    rows.push({ what: 'pcap_file decode, packets/s', value: `${fmt(tapPps)} pkt/s`, reference: 'no tcpdump/tshark' });
  }
  rows.push({
    what: '  tapline CPU per request (file)',
    value: `${fmt(((tap.userMs + tap.systemMs) * 1000) / gen.requests, 2)} µs`,
    reference: `wall ${fmt((tap.ms * 1000) / gen.requests, 2)} µs`,
  });
  rows.push({ what: '  tapline peak RSS', value: `${fmt(tap.maxRssKb / 1024)} MB` });
}

interface LiveRun {
  requests: number;
  responses: number;
  packets: number;
  kernelDropped: number;
  cpuUs: number;
  wholeCpuMs: number;
  replaySeconds: number;
  /** CPU time on the capture core spent by anything but tapline during the replay, as a share of it. */
  otherLoad: number;
}

async function liveBench(
  rate: number,
  src: { file: string; gen: PcapGenResult },
  port: number,
  rows: Row[],
): Promise<void> {
  const { file, gen } = src;
  const pps = Math.round(gen.packets / LIVE_SECONDS);
  const replayTimeout = LIVE_SECONDS * 3_000 + 10_000;
  await timeShell(`cat '${file}' > /dev/null`);
  const runs: LiveRun[] = [];
  for (let i = 0; i < RUNS; i++) {
    const live = await startTapline(
      ['--input-raw', `lo:${port}`, '--input-raw-track-response', '--output-null', '--input-raw-stats'],
      CAPTURE_CPU,
    );
    let replay: Awaited<ReturnType<typeof tcpreplay>>;
    let cpu0: number;
    let cpu1: number;
    let core0: number;
    let core1: number;
    let t0: number;
    let t1: number;
    try {
      cpu0 = cpuNs(live.pid);
      core0 = cpuBusyNs(CAPTURE_CPU);
      t0 = performance.now();
      replay = await tcpreplay('lo', pps, file, REPLAY_CPU, replayTimeout);
      await waitIdle(live.pid);
      cpu1 = cpuNs(live.pid);
      core1 = cpuBusyNs(CAPTURE_CPU);
      t1 = performance.now();
    } finally {
      await live.stop();
    }
    const m = measureLine(live.stderr());
    if (m.code !== 0) throw new Error(`tapline exited ${m.code} after SIGINT:\n${live.stderr().slice(-2000)}`);
    if (replay.failed > 0 || replay.packets !== gen.packets) {
      throw new Error(`tcpreplay sent ${replay.packets} of ${gen.packets} packets (${replay.failed} failed)`);
    }
    const s = finalCaptureStats(live.stderr());
    runs.push({
      requests: s.requests ?? 0,
      responses: s.responses ?? 0,
      packets: s.packets ?? 0,
      kernelDropped: s.kernel_dropped ?? 0,
      cpuUs: (cpu1 - cpu0) / 1000 / gen.requests,
      wholeCpuMs: m.userMs + m.systemMs,
      replaySeconds: replay.seconds,
      otherLoad: Math.max(0, core1 - core0 - (cpu1 - cpu0)) / ((t1 - t0) * 1e6),
    });
  }
  const worst = (f: (r: LiveRun) => number) => Math.min(...runs.map(f));
  const best = runs.reduce((a, b) => (b.cpuUs < a.cpuUs ? b : a));
  const achieved = Math.min(...runs.map((r) => gen.requests / r.replaySeconds));

  // Reference: tcpdump capturing the same replay to /dev/null (received copies only, as tapline dedupes).
  let ref: { captured: number; dropped: number; cpuUs: number } | undefined;
  if (hasCommand('tcpdump')) {
    ref = await bestOf(
      Math.min(RUNS, 2),
      async () => {
        const td = await startLive(
          'tcpdump',
          ['-i', 'lo', '-Q', 'in', '-n', '-w', '/dev/null', `tcp port ${port}`],
          CAPTURE_CPU,
          /listening on/,
        );
        let c0: number;
        let c1: number;
        try {
          c0 = cpuNs(td.pid);
          await tcpreplay('lo', pps, file, REPLAY_CPU, replayTimeout);
          await waitIdle(td.pid);
          c1 = cpuNs(td.pid);
        } finally {
          await td.stop();
        }
        return { ...tcpdumpStats(td.stderr()), cpuUs: (c1 - c0) / 1000 / gen.requests };
      },
      (r) => r.cpuUs,
    );
  }

  const k = `${rate / 1000}k`;
  const lostReq = gen.requests - worst((r) => r.requests);
  const lostResp = gen.responses - worst((r) => r.responses);
  rows.push({
    what: `live lo @ ${k} req/s: requests (each run)`,
    value: `${runs.map((r) => fmt(r.requests)).join(' / ')} of ${fmt(gen.requests)}`,
    ...(ref ? { reference: `tcpdump: ${fmt(ref.captured)} of ${fmt(gen.packets)} pkts` } : {}),
    target: 'all',
    ok: lostReq === 0,
  });
  rows.push({
    what: `  responses (each run)`,
    value: `${runs.map((r) => fmt(r.responses)).join(' / ')} of ${fmt(gen.responses)}`,
    target: 'all',
    ok: lostResp === 0,
  });
  rows.push({
    what: `  packets (worst) / kernel drops (each run)`,
    value: `${fmt(worst((r) => r.packets))} of ${fmt(gen.packets)} / ${runs.map((r) => fmt(r.kernelDropped)).join(', ')}`,
    ...(ref ? { reference: `tcpdump drops: ${fmt(ref.dropped)}` } : {}),
  });
  rows.push({
    what: `  capture CPU per request`,
    value: `${fmt(best.cpuUs, 2)} µs`,
    ...(ref ? { reference: `tcpdump -w: ${fmt(ref.cpuUs, 2)} µs`, ratio: `${fmt(best.cpuUs / ref.cpuUs, 1)}×` } : {}),
    target: `≤ ${CPU_TARGET_US} µs`,
    ok: best.cpuUs <= CPU_TARGET_US,
  });
  const bestRate = gen.requests / best.replaySeconds;
  rows.push({
    what: `  = capture core busy`,
    value: `${fmt((best.cpuUs * bestRate) / 1e4, 0)} %`,
    ...(ref ? { reference: `tcpdump: ${fmt((ref.cpuUs * bestRate) / 1e4, 0)} %` } : {}),
  });
  rows.push({
    what: `  wire rate (tcpreplay, each run)`,
    value: `${runs.map((r) => fmt(gen.requests / r.replaySeconds)).join(' / ')} req/s`,
    // A replay that fell short (tcpreplay starved of CPU) did not test this rate.
    target: `≥ 95% of ${k}`,
    ok: achieved >= 0.95 * rate,
  });
  rows.push({
    what: `  other load on the capture core`,
    value: runs.map((r) => `${fmt(r.otherLoad * 100)} %`).join(', '),
  });
  rows.push({
    what: `  tapline CPU, whole run (start, stop)`,
    value: `${fmt(best.wholeCpuMs / 1000, 2)} s`,
  });
}
