/**
 * Helpers for bench/capture.ts: live runs that must be stopped by a signal (tapline, tcpdump), CPU time of a
 * running process read from /proc, tcpreplay, and a free port. Every wait is bounded in time.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ROOT } from './support.js';

export function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** CPU time (user + system, every thread) of a live process, in ns, from /proc/PID/task/STAR/schedstat. */
export function cpuNs(pid: number): number {
  let total = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return total;
}

/** Busy time of one CPU from /proc/stat (user, nice, system, irq, softirq, steal), in ns. */
export function cpuBusyNs(cpu: number): number {
  const line = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`cpu${cpu} `));
  if (!line) return Number.NaN;
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  // USER_HZ is 100 on Linux.
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) * 1e7;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until the process burns less than `idleMs` of CPU in 200 ms (it has caught up), at least `minMs`
 * (tcpdump's capture buffer is flushed only after its 1 s timeout; a SIGINT before loses that block) and
 * at most `maxMs`.
 */
export async function waitIdle(pid: number, maxMs = 15_000, idleMs = 3, minMs = 1_500): Promise<void> {
  const until = performance.now() + maxMs;
  await sleep(minMs);
  let last = cpuNs(pid);
  while (performance.now() < until) {
    await sleep(200);
    const now = cpuNs(pid);
    if (now - last < idleMs * 1e6) return;
    last = now;
  }
}

/** A child process that runs until stopped with SIGINT; stderr is kept. */
export interface Live {
  child: ChildProcess;
  pid: number;
  stderr: () => string;
  /** SIGINT, then the exit code (SIGKILL and an error after `timeoutMs`). */
  stop: (timeoutMs?: number) => Promise<number | null>;
}

/** Starts `cmd args` pinned to `cpu` and waits (at most `readyMs`) until stderr matches `ready`. */
export async function startLive(
  cmd: string,
  args: string[],
  cpu: number,
  ready: RegExp,
  readyMs = 10_000,
): Promise<Live> {
  const child = spawn('taskset', ['-c', String(cpu), cmd, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  let exited = false;
  const closed = new Promise<number | null>((r) =>
    child.on('close', (code) => {
      exited = true;
      r(code);
    }),
  );
  child.stderr!.on('data', (d) => {
    err += d;
  });
  const until = performance.now() + readyMs;
  while (!ready.test(err)) {
    if (exited || performance.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`${cmd} did not start (${exited ? 'exited' : 'timed out'}):\n${err.slice(-2000)}`);
    }
    await sleep(50);
  }
  // The capture socket is open once the filter line is printed; give the ring a moment to be mapped.
  await sleep(200);
  return {
    child,
    pid: child.pid!,
    stderr: () => err,
    stop: async (timeoutMs = 30_000) => {
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await closed;
      clearTimeout(timer);
      return code;
    },
  };
}

/** tapline (the built CLI) under bench/measure.mjs, started live. Its filter line says it is capturing. */
export function startTapline(args: string[], cpu: number): Promise<Live> {
  return startLive(
    process.execPath,
    [join(ROOT, 'bench', 'measure.mjs'), '--verbose', '1', ...args],
    cpu,
    /BPF Filter:/,
  );
}

/** The `key=value` pairs of tapline's `final capture stats` line (`--input-raw-stats`). */
export function finalCaptureStats(stderr: string): Record<string, number> {
  const line = stderr.split('\n').find((l) => l.includes('final capture stats:'));
  if (!line) throw new Error(`no final capture stats in:\n${stderr.slice(-2000)}`);
  const out: Record<string, number> = {};
  for (const m of line.slice(line.indexOf('final capture stats:')).matchAll(/(\w+)=(\d+)/g)) out[m[1]!] = Number(m[2]);
  return out;
}

/** The MEASURE line bench/measure.mjs prints at exit. */
export function measureLine(stderr: string): {
  code: number;
  ms: number;
  userMs: number;
  systemMs: number;
  maxRssKb: number;
} {
  const line = stderr.split('\n').find((l) => l.startsWith('MEASURE '));
  if (!line) throw new Error(`no MEASURE line in:\n${stderr.slice(-2000)}`);
  return JSON.parse(line.slice(8));
}

export interface Replay {
  packets: number;
  failed: number;
  seconds: number;
  pps: number;
}

/** `tcpreplay -i IFACE --pps PPS FILE` pinned to `cpu`; fails on any failed packet. */
export async function tcpreplay(
  iface: string,
  pps: number,
  file: string,
  cpu: number,
  timeoutMs: number,
): Promise<Replay> {
  const child = spawn('taskset', ['-c', String(cpu), 'tcpreplay', '-q', '-i', iface, '--pps', String(pps), file], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((r) => child.on('close', r));
  clearTimeout(timer);
  const actual = /Actual: (\d+) packets \(\d+ bytes\) sent in ([\d.]+) seconds/.exec(out);
  const failed = /Failed packets:\s+(\d+)/.exec(out);
  if (code !== 0 || !actual) throw new Error(`tcpreplay failed (${code}):\n${out.slice(-2000)}`);
  const packets = Number(actual[1]);
  const seconds = Number(actual[2]);
  return { packets, failed: failed ? Number(failed[1]) : 0, seconds, pps: packets / seconds };
}

/** tcpdump's exit summary: packets captured, received by filter, dropped by kernel. */
export function tcpdumpStats(stderr: string): { captured: number; dropped: number } {
  const captured = /(\d+) packets? captured/.exec(stderr);
  const dropped = /(\d+) packets? dropped by kernel/.exec(stderr);
  if (!captured) throw new Error(`no tcpdump summary in:\n${stderr.slice(-2000)}`);
  return { captured: Number(captured[1]), dropped: dropped ? Number(dropped[1]) : 0 };
}

async function canListen(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    // No such address (no IPv6 on lo) means nothing can listen there either.
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'EADDRNOTAVAIL'));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * A port from the dynamic range (49152–65535) that nothing listens on, on 127.0.0.1 or ::1 (checked by
 * binding it, then letting it go). Nothing needs to listen there later: the capture only watches packets.
 */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 49152 + Math.floor(Math.random() * (65535 - 49152));
    if ((await canListen(port, '127.0.0.1')) && (await canListen(port, '::1'))) return port;
  }
  throw new Error('no free port found in 50 tries');
}
