/**
 * One `--input-raw-workers` worker thread: its own af_packet socket in the input's PACKET_FANOUT group (the
 * kernel's symmetric flow hash sends both directions of a TCP connection to the same socket), its own
 * FlowPipeline, and messages posted to the main thread in batches (see worker-protocol.ts).
 *
 *   kernel ─fanout─▶ ring ─▶ FlowPipeline ─▶ pending messages ─flush after every packet batch and tick─▶ main
 *                     ▲                                                             │
 *                     └── stops reading (the ring, then the kernel, hold packets) ◀─┘ while `window` batches
 *                                                                                     wait for credit
 * Started by worker-pool.ts (through worker-bootstrap.mjs when running from TypeScript sources).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ERROR_CODES, TaplineError } from '../../core/errors.js';
import { type Message, nowNs } from '../../core/message.js';
import { FlowPipeline } from './flow-pipeline.js';
import { LiveExpiryClock } from './live-clock.js';
import { openAfPacketSource, type PacketSource } from './sources.js';
import { type Counters, type FromWorker, packBatch, type ToWorker, type WorkerStart } from './worker-protocol.js';

const TICK_MS = 100;
const STATS_MS = 500;

async function main(port: NonNullable<typeof parentPort>, start: WorkerStart): Promise<void> {
  const post = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
  let source: PacketSource | undefined;
  let stopping = false;
  let inFlight = 0;
  let wakeOnCredit: (() => void) | undefined;
  port.on('message', (m: ToWorker) => {
    if (m.kind === 'credit') {
      inFlight--;
      wakeOnCredit?.();
      wakeOnCredit = undefined;
    } else if (m.kind === 'stop') {
      stopping = true;
      source?.close();
      wakeOnCredit?.(); // a stopped worker finishes without waiting for the main thread to catch up
      wakeOnCredit = undefined;
    }
  });

  const pending: Message[] = [];
  const flows = new FlowPipeline(start.flow, (msg) => pending.push(msg));
  const counters = (): Counters => ({ flows: flows.counters(), engine: source?.stats() ?? {} });
  const flush = () => {
    if (pending.length === 0) return;
    const [batch, transfer] = packBatch(pending, counters());
    pending.length = 0;
    inFlight++;
    post(batch, transfer);
  };

  try {
    source = openAfPacketSource(start.address, start.live, { group: start.fanoutGroup, mode: 'hash' });
  } catch (err) {
    post(failure(err));
    port.close();
    return;
  }
  post({ kind: 'ready', filterText: source.filterText });
  const clock = new LiveExpiryClock(BigInt(source.deliveryDelayMs ?? 0) * 1_000_000n);
  const tick = setInterval(() => {
    flows.expire(clock.tick(nowNs()));
    flush();
  }, TICK_MS);
  const stats = setInterval(() => post({ kind: 'stats', counters: counters() }), STATS_MS);
  try {
    clock.waiting(nowNs());
    for await (const batch of source.packets) {
      clock.read(flows.push(batch, 0n));
      flush();
      if (inFlight >= start.window) clock.held();
      while (inFlight >= start.window && !stopping) {
        await new Promise<void>((resolve) => {
          wakeOnCredit = resolve;
        });
      }
      clock.waiting(nowNs()); // the loop now asks for the next batch
    }
  } finally {
    clearInterval(tick);
    clearInterval(stats);
    flows.finish();
    flush();
    post({ kind: 'end', counters: counters() });
    port.close();
  }
}

/** An error as the main thread rebuilds it (a TaplineError keeps its code and where). */
function failure(err: unknown): FromWorker {
  const e = err instanceof TaplineError ? err : undefined;
  return {
    kind: 'failed',
    code: e?.code ?? ERROR_CODES.INTERNAL,
    message: err instanceof Error ? err.message : String(err),
    ...(e?.where !== undefined ? { where: e.where } : {}),
  };
}

if (parentPort) {
  const port = parentPort;
  main(port, workerData as WorkerStart).catch((err: unknown) => {
    port.postMessage(failure(err));
    port.close();
  });
}
