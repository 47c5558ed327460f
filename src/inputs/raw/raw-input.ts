/**
 * `--input-raw`: capture (live or from a pcap file), reassemble TCP, cut HTTP/1 messages (or binary turns)
 * and emit gor messages. This is the only place where capture, TCP and protocol meet.
 *
 *   engine ──RawPacket[]──▶ decoder ──segments──▶ [port filter] ──▶ TcpAssembler ──streams──▶ HttpDirection
 *     (pump task)                                                     ▲ expire: every 100 ms      │
 *                                                                     │ (wall clock live, packet  ▼
 *                                                                     │  clock for files)    Channel<Message>
 *   read() ◀── batches ◀──────────────────────────────────────────────────────────────────────────┘
 *
 * The channel is bounded: when the pipeline is slow the pump waits, the engine's queue fills, and the kernel
 * drops packets — and counts them (`kernel_dropped`), so a loss is always visible in the stats.
 *
 * The decoder-to-HttpDirection part is FlowPipeline (flow-pipeline.ts). With `--input-raw-workers N` it runs
 * in N worker threads instead, one fanout socket each, and this thread only merges their messages into the
 * channel (worker-pool.ts).
 */

import { Channel } from '../../core/async.js';
import { ERROR_CODES, TaplineError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { type Message, nowNs } from '../../core/message.js';
import type { Batch, Input } from '../../core/plugin.js';
import { formatBytes } from '../../core/values.js';
import { ASSEMBLER_DEFAULTS } from '../../tcp/assembler.js';
import type { RawAddress } from './address.js';
import { type FlowOptions, FlowPipeline, withEngineStats } from './flow-pipeline.js';
import { LiveExpiryClock } from './live-clock.js';
import { DEFAULT_MEMORY_BUDGET } from './memory-budget.js';
import type { PacketSource } from './sources.js';
import { CaptureWorkerPool } from './worker-pool.js';
import type { WorkerStart } from './worker-protocol.js';

/** The flow options (what turns packets into messages; their ports come from `address`) and the rest. */
export interface RawInputOptions extends Omit<FlowOptions, 'ports'> {
  address: RawAddress;
  /** Opens the capture (engine chosen by the caller). */
  open: () => Promise<PacketSource>;
  /**
   * `--input-raw-workers N` (N > 1): N worker threads capture and cut messages instead of `open()` and this
   * thread (af_packet only). `start` is what each worker needs to open its own fanout socket.
   */
  workers?: { count: number; start: Omit<WorkerStart, 'index'> };
  /** Print the fidelity counters every this many ms (0 = only at the end), when `printStats`. */
  printStats: boolean;
  statsIntervalMs: number;
  log: Logger;
  name: string;
  /**
   * A live capture: what lets the kernel drop fewer packets with this engine, said at the end of a run in which
   * it dropped some (`kernelDropWarning`).
   */
  dropAdvice?: string;
}

/** The flags' defaults (gor's, and tapline's own), for code that builds a raw input without the CLI. */
export const RAW_INPUT_DEFAULTS = {
  protocol: 'http',
  trackResponse: true,
  allowIncomplete: false,
  realIpHeader: '',
  expireNs: 2_000_000_000n,
  maxSize: 64 * 1024 * 1024,
  memoryBudget: DEFAULT_MEMORY_BUDGET,
  probability: 1,
  wallClock: false,
  vxlanPort: 4789,
  vxlanVnis: [],
  vlanOnly: false,
  vlanIds: [],
  printStats: false,
  statsIntervalMs: 0,
} as const satisfies Partial<RawInputOptions>;

const TICK_NS = 100_000_000n;
const DROP_CHECK_MS = 1000;
const CHANNEL_CAPACITY = 10_000;

export function rawInput(options: RawInputOptions): Input {
  const { log, name } = options;
  const channel = new Channel<Message>(CHANNEL_CAPACITY);
  const budgetText = `--input-raw-memory-budget ${formatBytes(options.memoryBudget)}`;
  const flows = new FlowPipeline(
    flowOptions(options),
    (msg) => channel.offer(msg),
    (what, bytes) =>
      log.warn(
        `${name}: ${budgetText} is spent by messages in progress: the largest, a ${what}, ` +
          `was emitted cut after ${formatBytes(bytes)} (incomplete=memory-budget, counted in cut_memory_budget)`,
        'input-raw:memory-budget',
      ),
  );
  let source: PacketSource | undefined;
  let pool: CaptureWorkerPool | undefined;
  let started = false;
  let stopping = false;
  let finished = false;

  const stats = (): Record<string, number | string> =>
    pool ? pool.stats() : withEngineStats(flows.counters(), source?.stats() ?? {});

  const printStats = (final: boolean) => {
    const line = Object.entries(stats())
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    // Asked for with --input-raw-stats: printed whatever the --verbose level.
    log.write(`tapline: ${name}: ${final ? 'final ' : ''}capture stats: ${line}`);
  };

  /** With workers: they capture and cut; this thread merges their messages into the channel. */
  async function pumpWorkers(workers: NonNullable<RawInputOptions['workers']>): Promise<void> {
    let statsTimer: NodeJS.Timeout | undefined;
    try {
      pool = new CaptureWorkerPool({
        count: workers.count,
        start: workers.start,
        deliver: (msg) => channel.offer(msg),
        room: () => channel.room(),
      });
      if (stopping) pool.stop();
      const filterText = await pool.ready.catch(async (err: unknown) => {
        await pool?.done.catch(() => {}); // the failure stopped the others: wait until they have ended
        throw err;
      });
      if (filterText) log.info(`${filterText} (${workers.count} workers)`);
      if (options.printStats && options.statsIntervalMs > 0) {
        statsTimer = setInterval(() => printStats(false), options.statsIntervalMs);
        statsTimer.unref();
      }
      dropTimer = watchKernelDrops();
      await pool.done;
    } finally {
      if (statsTimer) clearInterval(statsTimer);
      clearInterval(dropTimer);
      finished = true;
      // The workers' cuts are not warned about one by one (their logger is this thread's): said once here.
      const cut = Number(pool?.stats().cut_memory_budget ?? 0);
      if (cut > 0) {
        log.warn(
          `${name}: ${cut} message(s) in progress were emitted cut because ${budgetText} ` +
            `(${formatBytes(Math.floor(options.memoryBudget / workers.count))} a worker) was spent (incomplete=memory-budget)`,
        );
      }
      if (options.printStats) printStats(true);
      warnKernelDrops();
      channel.close();
    }
  }

  let dropTimer: NodeJS.Timeout | undefined;
  /**
   * A long capture should not wait for its end to say it is losing packets: the first drops are said once, as
   * they are seen (checked every second; the engines keep the kernel's count, so reading it costs a syscall).
   */
  const watchKernelDrops = (): NodeJS.Timeout => {
    const timer = setInterval(() => {
      const dropped = Number(stats().kernel_dropped ?? 0);
      if (!(dropped > 0)) return;
      clearInterval(timer);
      log.warn(
        `${name}: the kernel is dropping packets (${dropped} so far): tapline does not read them in time, so ` +
          'messages are lost; how many in all, and what to do, is said at the end',
      );
    }, DROP_CHECK_MS);
    timer.unref();
    return timer;
  };

  /** Said once at the end, as tcpdump's 'N packets dropped by kernel': a count alone in the summary is missed. */
  const warnKernelDrops = () => {
    const text = kernelDropWarning(stats(), options.dropAdvice);
    if (text !== null) log.warn(`${name}: ${text}`);
    const evicted = evictionWarning(stats());
    if (evicted !== null) log.warn(`${name}: ${evicted}`);
  };

  /** Reads packets until the engine ends; expires idle connections on the capture's clock. */
  async function pump(): Promise<void> {
    if (options.workers && options.workers.count > 1) return pumpWorkers(options.workers);
    let lastTick = 0n;
    let timer: NodeJS.Timeout | undefined;
    let statsTimer: NodeJS.Timeout | undefined;
    try {
      source = await options.open();
      if (source.filterText) log.info(source.filterText);
      const live = source.live ? new LiveExpiryClock(BigInt(source.deliveryDelayMs ?? 0) * 1_000_000n) : null;
      if (live) {
        timer = setInterval(
          () => {
            if (!finished) flows.expire(live.tick(nowNs()));
          },
          Number(TICK_NS / 1_000_000n),
        );
      }
      if (options.printStats && options.statsIntervalMs > 0) {
        statsTimer = setInterval(() => printStats(false), options.statsIntervalMs);
        statsTimer.unref();
      }
      if (source.live) dropTimer = watchKernelDrops();
      live?.waiting(nowNs());
      for await (const batch of source.packets) {
        const latest = flows.push(batch, lastTick);
        live?.read(latest);
        if (!live && latest - lastTick >= TICK_NS) {
          // Files have no wall clock: time is the packets' own, so idle connections expire as they did.
          if (lastTick !== 0n) flows.expire(latest);
          lastTick = latest;
        }
        const room = channel.room();
        if (room) {
          live?.held();
          await room; // the pipeline is behind: let the engine's queue (and the kernel) hold packets
        }
        if (stopping) break;
        live?.waiting(nowNs()); // the loop now asks for the next batch
      }
    } finally {
      if (timer) clearInterval(timer);
      if (statsTimer) clearInterval(statsTimer);
      clearInterval(dropTimer);
      finished = true;
      flows.finish(); // unfinished messages are reported (and counted) now: nothing is held back
      if (options.printStats) printStats(true);
      warnKernelDrops();
      channel.close();
    }
  }

  return {
    name,
    async *read(): AsyncGenerator<Batch> {
      if (started) throw new Error('read() called twice');
      started = true;
      let failure: unknown;
      const running = pump().catch((err: unknown) => {
        failure = err;
      });
      for await (const batch of channel.drain()) yield batch;
      await running;
      if (failure !== undefined) throw failure;
      // As tcpdump -r, report and --input-file do: everything read was passed on, but not all the file held.
      // Not after a stop (SIGINT while a writer was mid-packet on standard input).
      if (!stopping && Number(stats().file_cut_short ?? 0) > 0) {
        throw new TaplineError(
          ERROR_CODES.FILE_IO,
          'the capture could not be read to its end (see the warning above); what was read was passed on',
        );
      }
    },
    async close() {
      stopping = true;
      source?.close();
      pool?.stop();
    },
    stats,
  };
}

/**
 * The end-of-run line for packets the kernel dropped (`kernel_dropped` in `stats`), or null when it dropped none
 * (or the engine does not count them: files, vxlan).
 */
export function kernelDropWarning(stats: Record<string, number | string>, advice: string | undefined): string | null {
  const dropped = Number(stats.kernel_dropped ?? 0);
  if (!(dropped > 0)) return null;
  const received = Number(stats.kernel_received ?? 0);
  const share = received > 0 ? ` (${formatShare(dropped / received)} of the ${received} it received)` : '';
  return (
    `${dropped} packets dropped by kernel${share}: tapline did not read them in time (a burst, slow outputs, ` +
    'a busy machine), so the requests and responses they carried are missing or counted incomplete. ' +
    (advice ?? '')
  ).trimEnd();
}

/**
 * The end-of-run line for connections given up because too many were open at once (`connections_evicted`), or
 * null. Without it their unfinished messages showed only as `incomplete_expired`, which sends the user to
 * --input-raw-expire, a flag that changes nothing here.
 */
export function evictionWarning(stats: Record<string, number | string>): string | null {
  const evicted = Number(stats.connections_evicted ?? 0);
  if (!(evicted > 0)) return null;
  return (
    `${evicted} connection(s) were given up while still open because more than ` +
    `${ASSEMBLER_DEFAULTS.maxFlows.toLocaleString('en-US')} were followed at once (a worker, with ` +
    '--input-raw-workers), the least recently active first: a message in progress on one is counted in ' +
    'incomplete_expired, and one that goes on is picked up again as a new connection, mid-stream'
  );
}

function formatShare(x: number): string {
  return x >= 0.001 ? `${(x * 100).toFixed(1)}%` : 'under 0.1%';
}

/** The flow half of the options: plain data, as a worker receives it. */
export function flowOptions(o: RawInputOptions): FlowOptions {
  return {
    ports: o.address.ports,
    protocol: o.protocol,
    trackResponse: o.trackResponse,
    allowIncomplete: o.allowIncomplete,
    realIpHeader: o.realIpHeader,
    expireNs: o.expireNs,
    maxSize: o.maxSize,
    memoryBudget: o.memoryBudget,
    probability: o.probability,
    wallClock: o.wallClock,
    vxlanPort: o.vxlanPort,
    vxlanVnis: o.vxlanVnis,
    vlanOnly: o.vlanOnly,
    vlanIds: o.vlanIds,
    ...(o.random ? { random: o.random } : {}),
    ...(o.ipv6Clients ? { ipv6Clients: o.ipv6Clients } : {}),
  };
}
