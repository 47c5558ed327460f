/**
 * Plugin contracts. Everything that moves messages is an Input or an Output; everything that edits or
 * filters them is a Processor (per message) or a Transform (a whole stream, e.g. external middleware).
 *
 * Lifecycle (the pipeline guarantees this order):
 *   inputs: read() is iterated once. A finite input ends its iteration when exhausted; close() must make
 *           an unfinished iteration end promptly (used on SIGINT/SIGTERM and --exit-after). An error thrown by
 *           the iterator ends that input only; the pipeline reports it.
 *   outputs: write() is called for every routed message, in order. Returning a promise means "full": the
 *           pipeline waits for it before the next write (backpressure reaches the inputs). A thrown
 *           TaplineError takes that output out of service; the others go on. After the inputs end, drain()
 *           finishes in-flight work and ends `responses`; then close() flushes and releases, once.
 *
 * Messages are batches (`readonly Message[]`) between inputs and the pipeline: per-message async hops cost
 * more than the work itself at a million messages a second.
 *
 * Raw runs: when nothing between the inputs and the outputs needs a message object (no transform, no
 * processor without `run`, no --split-output, no --copy-buffer-size cut, verbosity below 3, every output has
 * writeRun), the pipeline reads inputs that have readRuns() through it. Such an input may then hand over a
 * RawRun in place of a batch: N records in order as their exact `.gor` encodings, without an object per record
 * (a file copy then costs the kernel's copy and a few calls per MiB). The run must be exactly what the batches
 * would have carried, in the same order; the input counts its records in its stats as it would have. The
 * pipeline counts a run as N messages (counters, every output's `written`), asks each output runFits() and,
 * when one says no (or the run holds a payload --copy-buffer-size would cut), hands the run's records()
 * through the processors and write() one by one instead; otherwise each processor's `run` sees it whole. TAPLINE_RAW_RUNS=off turns raw runs off (docs/native.md).
 */
import type { Logger } from './log.js';
import type { Message } from './message.js';

export type Batch = readonly Message[];

/** N records as their exact `.gor` encodings, in order (see "Raw runs" above). */
export interface RawRun {
  readonly kind: 'raw-run';
  /** Records in the run (none has an empty payload). */
  readonly count: number;
  /** Σ payload lengths (the pipeline's `bytes`). */
  readonly payloadBytes: number;
  /** The longest payload (for --copy-buffer-size). */
  readonly maxPayload: number;
  /** Σ encoded sizes: the bytes of `parts`. */
  readonly bytes: number;
  /** The records' encodings back to back (meta line, LF, payload, separator each). */
  readonly parts: readonly Buffer[];
  /** Where each part is in a file, when it is a range of one (an output may copy it in the kernel). */
  readonly sources?: readonly (FileBytes | undefined)[];
  /**
   * Encoded size of each record, in order, with slice(): records `[start, end)` as a run of their own. An
   * output that cuts files at record boundaries (chunks) takes only runs that have both.
   */
  readonly sizes?: ArrayLike<number>;
  slice?(start: number, end: number): RawRun;
  /** The same records as messages, as the input's batches would have carried them. */
  records(): Message[];
}

/** A part of a raw run that is the bytes `[offset, offset + length)` of a file. */
export interface FileBytes {
  readonly path: string;
  /** `dev:ino` of the file when it was read: a copy checks it is still the same file. */
  readonly id: string;
  readonly offset: number;
}

export function isRawRun(item: Batch | RawRun): item is RawRun {
  return (item as RawRun).kind === 'raw-run';
}

export interface PluginContext {
  readonly log: Logger;
  /** Aborted when the run stops (signal, --exit-after, fatal error). */
  readonly signal: AbortSignal;
}

export interface Input {
  /** `input-file(requests.gor)`: used in logs, stats and errors. */
  readonly name: string;
  read(): AsyncIterable<Batch>;
  /** read(), but may yield RawRuns; the pipeline calls it instead of read() when it can take them. */
  readRuns?(): AsyncIterable<Batch | RawRun>;
  close(): Promise<void>;
  /** Counters for --stats and the final summary. */
  stats?(): Record<string, number | string>;
}

export interface Output {
  readonly name: string;
  write(msg: Message): void | Promise<void>;
  /**
   * Writes a raw run (same contract as write(), for `run.count` messages at once). Outputs that have it take
   * runs whenever runFits() says so; they must leave exactly what write() of each record would have left.
   */
  writeRun?(run: RawRun): void | Promise<void>;
  /** False when this run must come record by record (e.g. it would pass a size limit midway). */
  runFits?(run: RawRun): boolean;
  /** Messages this output produces, such as replayed responses (type 3). They enter the pipeline as input. */
  readonly responses?: AsyncIterable<Batch>;
  /** Finish in-flight work; `responses` ends after this resolves. */
  drain?(): Promise<void>;
  /**
   * The run is stopping (signal, --exit-after): the inputs are closed and what they read is still written. An
   * output whose write() can wait on a peer for ever (one that reads nothing) stops making writes wait here, so
   * that close() is reached and bounds the wait.
   */
  stopping?(): void;
  /** Flush everything accepted so far, then release resources. */
  close(): Promise<void>;
  stats?(): Record<string, number | string>;
}

/**
 * Edits or drops one message (null = drop). Runs synchronously on the hot path. One that only looks (returns
 * every message untouched, e.g. analytics) may have `run`: it then takes a raw run whole, as the messages of
 * its records, and raw runs stay on (see "Raw runs" above).
 */
export type Processor = ((msg: Message) => Message | null) & { readonly run?: (run: RawRun) => void };

/** Rewrites the whole stream (external middleware): may drop, add, reorder or delay messages. */
export type Transform = (source: AsyncIterable<Batch>) => AsyncIterable<Batch>;
