/**
 * The pipeline: inputs → [transform] → processors → router → outputs.
 *
 *   input ─┐                                                                ┌─▶ output A ─┐
 *   input ─┼─ merge ─▶ [middleware] ─▶ truncate ─▶ processors ─▶ router ────┼─▶ output B  │ responses
 *     ┌────┘                                                                └─▶ output C  │ (type 3)
 *     └───────────────────────────────── merge ◀───────────────────────────────────────────┘
 *
 * One loop moves every message (gor runs one per input; one loop is simpler and keeps order per input).
 * Backpressure: a write that returns a promise is awaited before the next message, and each source has at
 * most one batch outstanding, so a slow output slows the inputs and memory stays bounded.
 *
 * Ending: when every input has ended (finite inputs exhausted, or stop() closed them), outputs that produce
 * responses are drained, their response streams end, the loop ends, and every output is closed (flushed).
 * stop() is what SIGINT/SIGTERM and --exit-after call: nothing already read is lost. Waiting for an output that
 * takes nothing (a stdout reader that stopped reading, a FIFO nobody reads, a target that never answers) can
 * last for ever; after STOP_NOTICE_MS the run says once what it waits for and how to exit without waiting,
 * so a stop never looks like a hang.
 */
import { mergeStreams } from './async.js';
import { describeError, ERROR_CODES, isTaplineError } from './errors.js';
import { payloadLength } from './gor-format.js';
import type { Logger } from './log.js';
import type { Message } from './message.js';
import {
  type Batch,
  type Input,
  isRawRun,
  type Output,
  type Processor,
  type RawRun,
  type Transform,
} from './plugin.js';
import { SplitRouter } from './router.js';

export interface PipelineOptions {
  inputs: Input[];
  outputs: Output[];
  processors?: Processor[];
  transform?: Transform;
  /**
   * With a transform that buffers (external middleware): called once every input has ended; outputs that
   * produce responses are drained only when it resolves, so the replayed responses of the last requests the
   * transform lets through still reach it.
   */
  settle?: () => Promise<void>;
  /** --split-output */
  split?: boolean;
  /** --copy-buffer-size: payloads longer than this are cut (and counted). 0 = no limit. */
  copyBufferSize?: number;
  /**
   * Let inputs hand over raw runs when nothing needs message objects (plugin.ts, "Raw runs"). Default: on,
   * unless TAPLINE_RAW_RUNS=off.
   */
  rawRuns?: boolean;
  log: Logger;
  /** How long a stop may wait before saying what it waits for (default STOP_NOTICE_MS; tests shorten it). */
  stopNoticeMs?: number;
}

/** A stop still waiting after this long says why (once). */
export const STOP_NOTICE_MS = 5000;

/** TAPLINE_RAW_RUNS=off: every message goes through the pipeline one by one, as before raw runs. */
function rawRunsAllowed(): boolean {
  return process.env.TAPLINE_RAW_RUNS !== 'off';
}

export interface PipelineCounters {
  /** Messages that entered the loop (after the transform). */
  messages: number;
  bytes: number;
  /** Dropped by a processor (filters). */
  filtered: number;
  /** Messages with an empty payload (skipped, as gor does). */
  empty: number;
  /** Payloads cut by --copy-buffer-size. */
  truncated: number;
  /** Messages routed to at least one working output. */
  routed: number;
  /**
   * Messages an input passed on that reached neither the loop nor the transform, because the run stopped
   * first: a transform that failed (middleware died) stops taking them, and what the inputs had already
   * handed to the merge is counted here, and so are the replayed responses (type 3) of outputs that reached
   * neither: those in the merge, and those the outputs still produce while they finish. Counted per batch.
   * See docs/pipeline.md, "Every message counted".
   */
  not_passed_on: number;
}

export interface OutputReport {
  name: string;
  written: number;
  /** Set when the output was taken out of service by a failure. */
  failed?: string;
  /**
   * Set instead when it stopped taking messages for a reason that is not a failure: its reader went away
   * (`--output-stdout | head`) or it reached a limit the user set (`--output-file-max-size-limit`).
   */
  stopped?: string;
  /** Messages that could not be written because the output had failed. */
  lost: number;
  stats?: Record<string, number | string>;
}

export interface RunSummary {
  durationMs: number;
  counters: PipelineCounters;
  inputs: { name: string; error?: string; stats?: Record<string, number | string> }[];
  outputs: OutputReport[];
  /** True when the run ended because stop() was called. */
  stopped: boolean;
  /** Problems that should make the process exit non-zero. */
  failures: string[];
}

interface OutputSlot {
  output: Output;
  written: number;
  lost: number;
  failed?: string;
  /** `failed` is not a failure (OutputReport.stopped). */
  endedByChoice?: boolean;
  /** Writes that returned a promise not yet settled (the output has not taken them): what a stop waits on. */
  waiting: number;
  /** close() called and not yet settled. */
  closing: boolean;
}

export class Pipeline {
  readonly counters: PipelineCounters = {
    messages: 0,
    bytes: 0,
    filtered: 0,
    empty: 0,
    truncated: 0,
    routed: 0,
    not_passed_on: 0,
  };
  private readonly slots: OutputSlot[];
  private readonly inputErrors = new Map<number, string>();
  private stopping = false;
  /** Every message is routed; the outputs are being closed. */
  private closing = false;
  private started = 0;
  private finished = false;
  /** Inputs still reading, and outputs whose replayed responses (type 3) still come: what a slow stop waits on. */
  private inputsLeft = 0;
  private readonly replaying = new Set<Output>();
  private readonly failures: string[] = [];

  constructor(private readonly options: PipelineOptions) {
    this.slots = options.outputs.map((output) => ({ output, written: 0, lost: 0, waiting: 0, closing: false }));
  }

  /** Stops reading: inputs are closed, everything already read still reaches the outputs. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.noticeIfSlowToStop();
    for (const o of this.options.outputs) o.stopping?.();
    await Promise.allSettled(this.options.inputs.map((i) => i.close()));
  }

  /** After stop(): if the run has not ended within stopNoticeMs, say once what it is waiting for. */
  private noticeIfSlowToStop(): void {
    const timer = setTimeout(() => {
      if (this.finished) return;
      const names = (list: OutputSlot[]) => list.map((s) => s.output.name).join(', ');
      const taking = this.slots.filter((s) => s.waiting > 0 && s.failed === undefined);
      const closing = this.slots.filter((s) => s.closing);
      const what =
        taking.length > 0
          ? `${names(taking)} to take the messages already read (it takes nothing at the moment: a reader ` +
            'that stopped reading, or a target that does not answer)'
          : closing.length > 0
            ? `${names(closing)} to flush and close`
            : this.inputsLeft === 0 && this.replaying.size > 0
              ? `${[...this.replaying].map((o) => o.name).join(', ')} to finish replaying what it had taken (its responses are ` +
                'still coming)'
              : 'the inputs (or the middleware) to hand over what they had read';
      const seconds = Math.round((this.options.stopNoticeMs ?? STOP_NOTICE_MS) / 100) / 10;
      this.options.log.warn(
        `still stopping after ${seconds}s: waiting for ${what}. To exit without waiting: SIGINT once more ` +
          '(what is not written by then is lost)',
        'pipeline stop-wait',
      );
    }, this.options.stopNoticeMs ?? STOP_NOTICE_MS);
    timer.unref();
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  async run(): Promise<RunSummary> {
    const { inputs, outputs, log } = this.options;
    this.started = performance.now();
    const producers = outputs.filter((o) => o.responses !== undefined);
    this.inputsLeft = inputs.length;
    for (const o of producers) this.replaying.add(o);
    let drained = false;
    const drainProducers = () => {
      if (drained) return;
      drained = true;
      for (const o of producers) {
        o.drain?.().catch((err: unknown) => this.failOutput(o, err));
      }
    };
    const processors = this.options.processors ?? [];
    const router = this.options.split && this.slots.length > 1 ? new SplitRouter(this.slots.length) : undefined;
    if (router && producers.length > 0 && outputs.some((o) => o.responses === undefined)) {
      // A response follows its request (router.ts), so a replayed one goes back to the output that replayed it,
      // which takes no responses: the file or stdout beside it never sees one, which a user keeping replies there
      // would not guess.
      log.warn(
        `--split-output: the responses ${producers.map((o) => o.name).join(', ')} replay` +
          `${producers.length === 1 ? 's' : ''} (type 3) follow their request back to ` +
          `${producers.length === 1 ? 'it' : 'them'}, which take${producers.length === 1 ? 's' : ''} no ` +
          'responses: no other output gets them. Without --split-output every output gets every message, ' +
          'replayed responses included',
      );
    }
    // Raw runs only when nothing on the way needs a message object (plugin.ts, "Raw runs").
    const runs =
      (this.options.rawRuns ?? rawRunsAllowed()) &&
      !this.options.transform &&
      processors.every((p) => p.run !== undefined) &&
      router === undefined &&
      producers.length === 0 &&
      log.verbose < 3 &&
      this.slots.length > 0 &&
      this.slots.every((s) => s.output.writeRun !== undefined && s.output.runFits !== undefined);
    // Replayed responses a failed transform left to the outputs: counted as they come (abandonable()).
    const leftovers: Promise<void>[] = [];
    // mergeStreams passes items through untouched: RawRuns come out as they went in.
    const sources = [
      ...inputs.map((i) => (runs && i.readRuns ? i.readRuns() : i.read())),
      ...producers.map((o) => abandonable(o.responses!, (rest) => leftovers.push(this.countLeftovers(rest)))),
    ] as AsyncIterable<Batch>[];
    if (this.inputsLeft === 0) drainProducers();
    const onSourceEnd = (index: number, error: unknown) => {
      if (index < inputs.length) {
        if (error !== undefined) {
          const text = describeError(error);
          this.inputErrors.set(index, text);
          log.error(`${inputs[index]!.name}: ${text}`);
          if (!isTaplineError(error) || error.code !== ERROR_CODES.LIMIT_REACHED)
            this.failures.push(`${inputs[index]!.name}: ${text}`);
        }
        this.inputsLeft--;
        if (this.inputsLeft === 0) settleThenDrain();
      } else {
        this.replaying.delete(producers[index - inputs.length]!);
      }
    };
    // Replayed responses (sources past the inputs) are counted too: the output counted them as tracked.
    const onDiscard = (_index: number, item: Batch | RawRun) => {
      this.counters.not_passed_on += isRawRun(item) ? item.count : item.length;
    };
    const merged = mergeStreams(sources, onSourceEnd, onDiscard as (index: number, item: Batch) => void);
    let stream: AsyncIterable<Batch | RawRun> = merged;
    const settleThenDrain = () => {
      const settle = this.options.settle;
      if (!settle) return drainProducers();
      settle().then(drainProducers, drainProducers);
    };
    if (this.options.transform)
      stream = this.guardTransform(this.options.transform(detachReturn(merged)), drainProducers, merged);

    const limit = this.options.copyBufferSize ?? 0;
    const c = this.counters;

    for await (const item of stream) {
      let batch: Batch;
      if (isRawRun(item)) {
        if (this.runFits(item, limit)) {
          for (let i = 0; i < processors.length; i++) processors[i]!.run!(item);
          const pending = this.writeRun(item);
          if (pending) await pending;
          continue;
        }
        batch = item.records(); // one by one below, exactly as if the input had sent a batch
      } else {
        batch = item;
      }
      // An index loop: for-of over a batch was not fully optimised away on this path (a million messages a second).
      for (let b = 0; b < batch.length; b++) {
        let msg: Message | null = batch[b]!;
        const length = payloadLength(msg);
        if (length === 0) {
          c.empty++;
          continue;
        }
        c.messages++;
        c.bytes += length;
        if (limit > 0 && length > limit) {
          c.truncated++;
          log.warn(
            `message ${msg.meta.id} (type ${msg.meta.type}) is ${length} bytes; cut to --copy-buffer-size ${limit}`,
            'copy-buffer-size',
          );
          msg = { meta: msg.meta, data: msg.data.subarray(0, limit) };
        }
        for (let i = 0; i < processors.length && msg !== null; i++) msg = processors[i]!(msg);
        if (msg === null) {
          c.filtered++;
          continue;
        }
        if (log.verbose >= 3) log.debug(3, `message ${msg.meta.line}`);
        if (router) {
          const slot = this.slots[router.pick(msg)]!;
          const pending = this.writeTo(slot, msg);
          if (pending) await pending;
        } else {
          let pending: Promise<void>[] | undefined;
          for (const slot of this.slots) {
            const p = this.writeTo(slot, msg);
            if (!p) continue;
            pending ??= [];
            pending.push(p);
          }
          if (pending) await Promise.all(pending);
        }
        c.routed++;
      }
    }

    // Every message has been routed: a failure from here on is the close's (the last flush or upload).
    this.closing = true;
    await Promise.allSettled(
      this.slots.map(async (slot) => {
        slot.closing = true;
        try {
          await slot.output.close();
        } catch (err) {
          this.markFailed(slot, err);
        } finally {
          slot.closing = false;
        }
      }),
    );
    // The outputs are closed, so their replayed responses have ended: the last of them are counted now.
    await Promise.all(leftovers);
    this.finished = true;
    return this.summary();
  }

  /**
   * A transform that fails (middleware died) ends the run: the failure is recorded, inputs are stopped and
   * producers drained, and the loop ends normally so that every output is still flushed and closed.
   *
   * What the inputs had read by then is accounted before the summary: the merge is ended here (its return()
   * waits for each source's pending read, which the stopped inputs settle), and the batches the transform
   * will never take are counted in `not_passed_on` (mergeStreams' onDiscard). A batch the transform took
   * meanwhile is its own to count (an exited middleware's `not_sent`). Left to itself, the transform's reader
   * would go on taking batches after the summary was printed, and the counts did not add up.
   */
  private async *guardTransform(
    stream: AsyncIterable<Batch>,
    drainProducers: () => void,
    merged: AsyncGenerator<Batch>,
  ): AsyncGenerator<Batch> {
    try {
      yield* stream;
    } catch (err) {
      const text = describeError(err);
      this.options.log.error(text);
      this.failures.push(text);
      const stopped = this.stop();
      drainProducers();
      await stopped;
      await merged.return(undefined);
      // The discarded reads are counted in callbacks, and the transform counts its last batch in its own
      // continuation: both are queued microtasks, run before the next turn of the event loop.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Reads what a producer yields after the merge let it go (abandonable()), counting it as not passed on. */
  private async countLeftovers(rest: AsyncIterator<Batch>): Promise<void> {
    try {
      for (let r = await rest.next(); !r.done; r = await rest.next()) this.counters.not_passed_on += r.value.length;
    } catch {
      // The output's own failure is reported by the output.
    }
  }

  /** Every working output takes the run whole, and no payload of it is to be cut. */
  private runFits(run: RawRun, limit: number): boolean {
    if (limit > 0 && run.maxPayload > limit) return false;
    for (const slot of this.slots) if (slot.failed === undefined && !slot.output.runFits!(run)) return false;
    return true;
  }

  /** A run as `run.count` messages: the counters and every output's `written`/`lost` as write() would leave them. */
  private writeRun(run: RawRun): Promise<unknown> | undefined {
    const c = this.counters;
    c.messages += run.count;
    c.bytes += run.payloadBytes;
    let pending: Promise<void>[] | undefined;
    for (const slot of this.slots) {
      if (slot.failed !== undefined) {
        slot.lost += run.count;
        continue;
      }
      try {
        const r = slot.output.writeRun!(run);
        slot.written += run.count;
        if (r) {
          slot.waiting++;
          pending ??= [];
          pending.push(
            r.then(settled(slot), (err: unknown) => {
              slot.waiting--;
              slot.written -= run.count;
              slot.lost += run.count;
              this.markFailed(slot, err);
            }),
          );
        }
      } catch (err) {
        this.markFailed(slot, err);
        slot.lost += run.count;
      }
    }
    c.routed += run.count;
    return pending ? Promise.all(pending) : undefined;
  }

  /** Writes, turning errors (sync or async) into "output out of service". */
  private writeTo(slot: OutputSlot, msg: Message): Promise<void> | undefined {
    if (slot.failed !== undefined) {
      slot.lost++;
      return undefined;
    }
    try {
      const r = slot.output.write(msg);
      slot.written++;
      if (r) {
        slot.waiting++;
        return r.then(settled(slot), (err: unknown) => {
          slot.waiting--;
          // The output took the message but could not write it: count it where it belongs.
          slot.written--;
          slot.lost++;
          this.markFailed(slot, err);
        });
      }
    } catch (err) {
      this.markFailed(slot, err);
      slot.lost++;
    }
    return undefined;
  }

  private failOutput(output: Output, err: unknown): void {
    const slot = this.slots.find((s) => s.output === output);
    if (slot) this.markFailed(slot, err);
  }

  private markFailed(slot: OutputSlot, err: unknown): void {
    if (slot.failed !== undefined) return;
    const text = describeError(err);
    slot.failed = text;
    const code = isTaplineError(err) ? err.code : undefined;
    // While closing there is nothing more to take: the run was not cut short, its last flush failed.
    const after = this.closing ? ' (when it closed)' : '; it takes no more messages';
    if (code === ERROR_CODES.OUTPUT_CLOSED) {
      // `tapline … --output-stdout | head`: the reader has what it wanted; said with -v only, not a failure.
      slot.endedByChoice = true;
      this.options.log.info(`${slot.output.name}: ${text}${after}`);
    } else if (code === ERROR_CODES.LIMIT_REACHED) {
      slot.endedByChoice = true;
      this.options.log.warn(`${slot.output.name}: ${text}${after}`);
    } else {
      this.options.log.error(`${slot.output.name}: ${text}${after}`);
      this.failures.push(`${slot.output.name}: ${text}`);
    }
    // Nothing left to write to: reading on would only count messages as lost (for ever, on a live capture).
    if (!this.stopping && !this.closing && this.slots.every((s) => s.failed !== undefined)) {
      const why = 'every output has stopped taking messages: the inputs are stopped';
      if (this.failures.length > 0) this.options.log.warn(why);
      else this.options.log.info(why);
      void this.stop();
    }
  }

  /** Counters right now (for --stats, the status line and /debug/vars). */
  snapshot(): RunSummary {
    return this.summary();
  }

  private summary(): RunSummary {
    return {
      durationMs: performance.now() - this.started,
      counters: { ...this.counters },
      inputs: this.options.inputs.map((i, index) => {
        const error = this.inputErrors.get(index);
        const stats = i.stats?.();
        return { name: i.name, ...(error ? { error } : {}), ...(stats ? { stats } : {}) };
      }),
      outputs: this.slots.map((s) => {
        const stats = s.output.stats?.();
        return {
          name: s.output.name,
          written: s.written,
          lost: s.lost,
          ...(s.failed ? (s.endedByChoice ? { stopped: s.failed } : { failed: s.failed }) : {}),
          ...(stats ? { stats } : {}),
        };
      }),
      stopped: this.stopping,
      failures: [...this.failures],
    };
  }
}

/** The fulfilment handler of a write the output has now taken. */
function settled(slot: OutputSlot): () => void {
  return () => {
    slot.waiting--;
  };
}

/**
 * The transform's view of the merged stream. A transform that fails stops iterating, and for-await then calls
 * return(), which would wait for every source's pending read, including replayed responses that end only
 * once guardTransform has drained the outputs: a deadlock. Here return() does not wait; the sources finish
 * in the background once the inputs are stopped and the outputs drained.
 */
/**
 * An output's replayed responses as a merge source whose return() (a failed transform ends the merge) does
 * not end them: the output still produces the responses to the requests it has in flight, and counts them
 * as tracked. `onAbandon` gets the rest, to count as not passed on (docs/pipeline.md, "Every message
 * counted"). The read the merge had pending is counted by the merge's onDiscard; the rest come after it.
 */
function abandonable(
  source: AsyncIterable<Batch>,
  onAbandon: (rest: AsyncIterator<Batch>) => void,
): AsyncIterable<Batch> {
  return {
    [Symbol.asyncIterator]() {
      const it = source[Symbol.asyncIterator]();
      let abandoned = false;
      return {
        next: () => it.next(),
        return: async () => {
          if (!abandoned) onAbandon(it);
          abandoned = true;
          return { done: true, value: undefined };
        },
      };
    },
  };
}

function detachReturn(stream: AsyncIterable<Batch>): AsyncIterable<Batch> {
  return {
    [Symbol.asyncIterator]() {
      const it = stream[Symbol.asyncIterator]();
      return {
        next: () => it.next(),
        return: async () => {
          it.return?.().catch(() => {});
          return { done: true, value: undefined };
        },
      };
    },
  };
}
