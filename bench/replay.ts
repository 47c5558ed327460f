/**
 * Replay benchmark (issue 4). One run, against one local nginx (Debian's /usr/sbin/nginx, one worker process,
 * `return 200` for every request, keep-alive without a request cap):
 *  - tapline replays a generated 100,000-request file (browser-like requests, every 4th a JSON POST) with
 *    `--input-file FILE|max --output-http URL`: requests/s over the whole run, start-up included;
 *  - wrk (/usr/bin/wrk, one thread, the same number of connections) sends the same request bytes (a Lua script
 *    cycling through the file's first 2,000 requests, Host set as tapline sets it) for a few seconds;
 *  - the ratio, and tapline's peak RSS;
 *  - tapline's CPU per request, and the same beyond its start-up: the CPU of an identical run of a one-request
 *    file (module loading, flag parsing, connecting) is taken off before dividing by the request count;
 *  - two reference points (bench/replay-floor.mjs): the output alone fed from memory, and a bare Node loop on
 *    raw sockets, the floor for Node against this server.
 * Targets: ≥ 0.8× wrk and ≥ 25,000 requests/s. Each figure is the best of BENCH_RUNS (default 3) runs.
 * The replay runs once per --output-http client in each round, interleaved (TAPLINE_HTTP_CLIENT=native, the
 * default when the tapline_http addon is built, then js), so both see the same background load.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { httpAddon } from '../src/outputs/http-native.js';
import { writeGorFile } from './generate.js';
import { fmt, freshTmp, type Measured, measureTapline, printTable, ROOT, type Row } from './support.js';

const RECORDS = Number(process.env.BENCH_REPLAY_RECORDS ?? 100_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_REPLAY_CONNECTIONS ?? 64);
const WRK_SECONDS = Number(process.env.BENCH_REPLAY_WRK_SECONDS ?? 4);
const NGINX = '/usr/sbin/nginx';
const WRK = '/usr/bin/wrk';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function startNginx(dir: string, port: number): Promise<ChildProcess> {
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 100000000;
  keepalive_timeout 120s;
  server {
    listen 127.0.0.1:${port};
    location / { return 200 "ok\\n"; }
  }
}
`,
  );
  const child = spawn(NGINX, ['-c', conf, '-p', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => {
    err += d;
  });
  // Ready when the port accepts.
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(true));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
    });
    if (up) return child;
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`nginx did not start on 127.0.0.1:${port}: ${err}`);
}

/** The payloads of the first `n` records of a .gor file (meta line dropped). */
function firstPayloads(gor: Buffer, n: number): Buffer[] {
  const separator = Buffer.from('\n🐵🙈🙉\n');
  const out: Buffer[] = [];
  for (let at = 0; out.length < n && at < gor.length; ) {
    const end = gor.indexOf(separator, at);
    const record = gor.subarray(at, end < 0 ? gor.length : end);
    out.push(record.subarray(record.indexOf(0x0a) + 1));
    if (end < 0) break;
    at = end + separator.length;
  }
  return out;
}

/** A wrk Lua script that sends these raw requests in turn. */
function wrkScript(requests: Buffer[]): string {
  const lines = requests.map((r) => `  "${[...r].map((b) => `\\${b}`).join('')}",`);
  return `local reqs = {\n${lines.join('\n')}\n}\nlocal i = 0\nrequest = function()\n  i = i % #reqs + 1\n  return reqs[i]\nend\n`;
}

/** The native sender thread's share of a run's CPU (its summary's `sender thread cpu ms`), when it ran. */
function senderRow(m: Measured): Row[] {
  const thread = /sender thread cpu ms (\d+)/.exec(m.stderr);
  if (!thread) return [];
  const threadUs = (Number(thread[1]) * 1000) / RECORDS;
  const totalUs = ((m.userMs + m.systemMs) * 1000) / RECORDS;
  return [
    {
      what: '  of which the sender thread / the rest',
      value: `${fmt(threadUs, 1)} µs / ${fmt(totalUs - threadUs, 1)} µs`,
      reference: 'the rest: start-up, file input, pipeline, JS side of the output',
    },
  ];
}

/** CPU µs per request of bench/replay-floor.mjs in `mode` (see there). */
async function runFloor(mode: 'output' | 'bare', file: string, url: string): Promise<number> {
  const child = spawn(
    process.execPath,
    [join(ROOT, 'bench', 'replay-floor.mjs'), mode, file, url, String(RECORDS), String(CONNECTIONS)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    out += d;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
  const code = await new Promise((r) => child.on('close', r));
  clearTimeout(timer);
  const line = out.split('\n').find((l) => l.startsWith('{'));
  if (code !== 0 || !line) throw new Error(`replay-floor ${mode} failed (${code}):\n${out.slice(-1500)}`);
  return (JSON.parse(line) as { cpuUs: number }).cpuUs;
}

async function runWrk(script: string, url: string): Promise<number> {
  const child = spawn(WRK, ['-t1', `-c${CONNECTIONS}`, `-d${WRK_SECONDS}s`, '-s', script, url], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    out += d;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), (WRK_SECONDS + 30) * 1000);
  await new Promise((r) => child.on('close', r));
  clearTimeout(timer);
  const m = /Requests\/sec:\s*([\d.]+)/.exec(out);
  if (!m) throw new Error(`wrk printed no rate:\n${out}`);
  if (/Non-2xx|Socket errors/.test(out)) console.log(`wrk reported problems:\n${out}`);
  return Number(m[1]);
}

export async function main(): Promise<void> {
  for (const tool of [NGINX, WRK]) {
    if (!existsSync(tool)) {
      console.log(`${tool} is not installed; the replay benchmark needs it (see bench/README.md). Skipped.`);
      return;
    }
  }
  const dir = freshTmp('replay');
  const file = join(dir, 'requests.gor');
  const size = await writeGorFile(file, RECORDS);
  const oneFile = join(dir, 'one-request.gor');
  await writeGorFile(oneFile, 1);
  console.log(`generated ${fmt(RECORDS)} requests, ${fmt(size / 2 ** 20, 1)} MiB; ${CONNECTIONS} connections each`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const nginx = await startNginx(dir, port);
  try {
    const hostHeader = `127.0.0.1:${port}`;
    const sample = firstPayloads(readFileSync(file), 2000).map((r) =>
      Buffer.from(r.toString('latin1').replace(/\r\nHost: [^\r]*\r\n/, `\r\nHost: ${hostHeader}\r\n`), 'latin1'),
    );
    const script = join(dir, 'requests.lua');
    writeFileSync(script, wrkScript(sample));

    const replayArgs = (input: string) => [
      '--input-file',
      `${input}|max`,
      '--output-http',
      url,
      '--output-http-workers',
      String(CONNECTIONS),
      '--output-http-workers-min',
      String(CONNECTIONS),
    ];
    let wrkRate = 0;
    const clients = httpAddon() ? (['native', 'js'] as const) : (['js'] as const);
    const best = new Map<string, { rate: number; m: Measured; cpuUs: number }>();
    let startupMs = Number.POSITIVE_INFINITY;
    let outputUs = Number.POSITIVE_INFINITY;
    let bareUs = Number.POSITIVE_INFINITY;
    for (let i = 0; i < RUNS; i++) {
      // Interleaved, so all see the same background load.
      const wrkRound = await runWrk(script, url);
      console.log(`  round ${i + 1}, wrk: ${fmt(wrkRound)} req/s`);
      wrkRate = Math.max(wrkRate, wrkRound);
      const one = await measureTapline(replayArgs(oneFile));
      startupMs = Math.min(startupMs, one.userMs + one.systemMs);
      outputUs = Math.min(outputUs, await runFloor('output', file, url));
      bareUs = Math.min(bareUs, await runFloor('bare', file, url));
      for (const client of clients) {
        process.env.TAPLINE_HTTP_CLIENT = client;
        const m = await measureTapline(replayArgs(file));
        delete process.env.TAPLINE_HTTP_CLIENT;
        const sent = /requests (\d+), responses (\d+), status 2xx (\d+)/.exec(m.stderr);
        if (!sent || Number(sent[3]) !== RECORDS) {
          throw new Error(`tapline (${client}) did not get ${RECORDS} 2xx answers:\n${m.stderr.slice(-1500)}`);
        }
        const rate = RECORDS / (m.ms / 1000);
        const cpuUs = ((m.userMs + m.systemMs) * 1000) / RECORDS;
        console.log(`  round ${i + 1}, ${client} client: ${fmt(rate)} req/s, ${fmt(cpuUs, 1)} µs CPU/request`);
        const b = best.get(client);
        if (!b || rate > b.rate) best.set(client, { rate, m, cpuUs: Math.min(cpuUs, b?.cpuUs ?? cpuUs) });
        else b.cpuUs = Math.min(b.cpuUs, cpuUs);
      }
    }
    const { rate: bestRate, m } = best.get(clients[0])!;
    const other = clients.length > 1 ? best.get('js')! : undefined;
    const latency = /latency p50 ms ([\d.]+), latency p95 ms ([\d.]+), latency p99 ms ([\d.]+)/.exec(m.stderr);
    const rows: Row[] = [
      {
        what: `replay ${fmt(RECORDS)} requests (|max, ${clients[0]} client)`,
        value: `${fmt(bestRate)} req/s`,
        reference: `wrk -t1 -c${CONNECTIONS}: ${fmt(wrkRate)} req/s`,
        ratio: `${fmt(bestRate / wrkRate, 2)}×`,
        target: '≥ 0.8× wrk',
        ok: bestRate / wrkRate >= 0.8,
      },
      { what: '  absolute', value: `${fmt(bestRate)} req/s`, target: '≥ 25,000 req/s', ok: bestRate >= 25_000 },
      {
        what: `  CPU per request (${clients[0]} client, best)`,
        value: `${fmt(best.get(clients[0])!.cpuUs, 1)} µs`,
        ...(other ? { reference: `js client: ${fmt(other.cpuUs, 1)} µs` } : {}),
      },
      ...(other
        ? [
            {
              what: '  the JavaScript client (TAPLINE_HTTP_CLIENT=js)',
              value: `${fmt(other.rate)} req/s`,
              reference: `wrk: ${fmt(wrkRate)} req/s`,
              ratio: `${fmt(other.rate / wrkRate, 2)}×`,
            },
          ]
        : []),
      {
        what: '  CPU per request beyond start-up',
        value: `${fmt(((m.userMs + m.systemMs - startupMs) * 1000) / RECORDS, 1)} µs`,
        reference: `start-up (a one-request run): ${fmt(startupMs)} ms`,
      },
      {
        what: '  CPU per request, the output alone',
        value: `${fmt(outputUs, 1)} µs`,
        reference: `bare Node raw-socket loop: ${fmt(bareUs, 1)} µs`,
      },
      ...senderRow(m),
      { what: '  latency p50 / p95 / p99', value: latency ? `${latency[1]} / ${latency[2]} / ${latency[3]} ms` : '?' },
      { what: '  peak RSS', value: `${fmt(m.maxRssKb / 1024)} MB` },
    ];
    printTable(rows);
  } finally {
    nginx.kill('SIGTERM');
    await new Promise((r) => nginx.once('close', r));
  }
}
