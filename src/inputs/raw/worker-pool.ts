/**
 * `--input-raw-workers N`: N capture worker threads (capture-worker.ts), one af_packet socket each, all in
 * one PACKET_FANOUT group, so the kernel spreads connections over them by a symmetric flow hash (both
 * directions of a connection reach the same worker). The main thread only merges their messages.
 *
 *   kernel ─fanout─┬─▶ worker 1: ring → FlowPipeline ─batch (transferred bytes)─┐
 *                  ├─▶ worker 2: …                                               ├─▶ deliver() → the input's channel
 *                  └─▶ worker N: …                                              ─┘
 *   credit ◀── one per batch once the channel has room: a worker with `window` batches waiting stops
 *              reading its ring, which then fills, and the kernel drops and counts (kernel_dropped)
 *
 * Every message is cut from one connection inside one worker, so ids and timestamps are the ones a single
 * worker would give; only the interleaving of different connections differs. Counters are summed.
 */
import { Worker } from 'node:worker_threads';
import { ERROR_CODES, type ErrorCode, TaplineError } from '../../core/errors.js';
import type { Message } from '../../core/message.js';
import { withEngineStats } from './flow-pipeline.js';
import { type Counters, type FromWorker, sumCounters, unpackBatch, type WorkerStart } from './worker-protocol.js';

export interface WorkerPoolOptions {
  readonly count: number;
  readonly start: Omit<WorkerStart, 'index'>;
  /** Takes each message as it arrives from a worker. */
  readonly deliver: (msg: Message) => void;
  /** Undefined while the consumer has room; otherwise resolves when it has (then the worker gets its credit). */
  readonly room: () => Promise<void> | undefined;
}

const EMPTY: Counters = { flows: {}, engine: {} };

export class CaptureWorkerPool {
  /** Resolves with gor's filter log line once every worker's socket is in the group and capturing. */
  readonly ready: Promise<string>;
  /** Resolves when every worker has ended (after stop() or a failure); rejects with the first failure. */
  readonly done: Promise<void>;
  private readonly workers: Worker[] = [];
  private readonly latest: Counters[];
  private failure: TaplineError | undefined;

  constructor(private readonly options: WorkerPoolOptions) {
    this.latest = Array.from({ length: options.count }, () => EMPTY);
    let readyCount = 0;
    let filterText = '';
    let exited = 0;
    let resolveReady!: (text: string) => void;
    let rejectReady!: (err: unknown) => void;
    let resolveDone!: () => void;
    let rejectDone!: (err: unknown) => void;
    this.ready = new Promise((res, rej) => {
      resolveReady = res;
      rejectReady = rej;
    });
    this.done = new Promise((res, rej) => {
      resolveDone = res;
      rejectDone = rej;
    });
    this.ready.catch(() => {}); // the failure also rejects `done`, which the input awaits
    const fail = (err: TaplineError) => {
      if (this.failure) return;
      this.failure = err;
      rejectReady(err);
      this.stop(); // one worker failed: the others stop too (their flows would be remapped anyway)
    };
    for (let index = 0; index < options.count; index++) {
      const worker = spawn({ ...options.start, index });
      this.workers.push(worker);
      worker.on('message', (m: FromWorker) => {
        switch (m.kind) {
          case 'ready':
            filterText ||= m.filterText;
            if (++readyCount === options.count) resolveReady(filterText);
            break;
          case 'batch':
            this.latest[index] = m.counters;
            unpackBatch(m, options.deliver);
            this.credit(worker);
            break;
          case 'stats':
          case 'end':
            this.latest[index] = m.counters;
            break;
          case 'failed':
            fail(new TaplineError(m.code as ErrorCode, m.message, m.where === undefined ? {} : { where: m.where }));
            break;
        }
      });
      worker.on('error', (err) => fail(asTaplineError(err, index)));
      worker.on('exit', (code) => {
        if (code !== 0)
          fail(new TaplineError(ERROR_CODES.INTERNAL, `capture worker ${index} exited with code ${code}`));
        if (++exited < options.count) return;
        if (this.failure) rejectDone(this.failure);
        else resolveDone();
      });
    }
  }

  /** Every worker stops capturing, delivers what it still holds, and ends. Idempotent. */
  stop(): void {
    for (const w of this.workers) w.postMessage({ kind: 'stop' });
  }

  /** The workers' counters summed (each as of its last report: batches carry them, and every 500 ms). */
  stats(): Record<string, number | string> {
    const summed = withEngineStats(
      sumCounters(this.latest.map((c) => c.flows)),
      sumCounters(this.latest.map((c) => c.engine)),
    );
    // How the kernel spread the connections: `12/9` = 12 on worker 0, 9 on worker 1.
    return { ...summed, worker_connections: this.latest.map((c) => c.flows.connections ?? 0).join('/') };
  }

  private credit(worker: Worker): void {
    const room = this.options.room();
    if (room) room.then(() => worker.postMessage({ kind: 'credit' }));
    else worker.postMessage({ kind: 'credit' });
  }
}

/** From TypeScript sources the worker needs tsx registered inside it first (worker-bootstrap.mjs). */
function spawn(start: WorkerStart): Worker {
  if (import.meta.url.endsWith('.ts')) {
    const entry = new URL('./capture-worker.ts', import.meta.url).href;
    return new Worker(new URL('./worker-bootstrap.mjs', import.meta.url), { workerData: { ...start, entry } });
  }
  return new Worker(new URL('./capture-worker.js', import.meta.url), { workerData: start });
}

function asTaplineError(err: unknown, index: number): TaplineError {
  if (err instanceof TaplineError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new TaplineError(ERROR_CODES.INTERNAL, `capture worker ${index} failed: ${msg}`, { cause: err });
}
