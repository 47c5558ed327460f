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
 */
import type { Logger } from './log.js';
import type { Message } from './message.js';

export type Batch = readonly Message[];

export interface PluginContext {
  readonly log: Logger;
  /** Aborted when the run stops (signal, --exit-after, fatal error). */
  readonly signal: AbortSignal;
}

export interface Input {
  /** `input-file(requests.gor)`: used in logs, stats and errors. */
  readonly name: string;
  read(): AsyncIterable<Batch>;
  close(): Promise<void>;
  /** Counters for --stats and the final summary. */
  stats?(): Record<string, number | string>;
}

export interface Output {
  readonly name: string;
  write(msg: Message): void | Promise<void>;
  /** Messages this output produces, such as replayed responses (type 3). They enter the pipeline as input. */
  readonly responses?: AsyncIterable<Batch>;
  /** Finish in-flight work; `responses` ends after this resolves. */
  drain?(): Promise<void>;
  /** Flush everything accepted so far, then release resources. */
  close(): Promise<void>;
  stats?(): Record<string, number | string>;
}

/** Edits or drops one message (null = drop). Runs synchronously on the hot path. */
export type Processor = (msg: Message) => Message | null;

/** Rewrites the whole stream (external middleware): may drop, add, reorder or delay messages. */
export type Transform = (source: AsyncIterable<Batch>) => AsyncIterable<Batch>;
