/**
 * Async building blocks: an abortable sleep, a merge of several batch streams, and a bounded channel.
 *
 *   producer ──push()──▶ [ Channel, capacity N ] ──for await──▶ consumer
 *        ▲ push() returns a promise while the channel is full (backpressure)
 */
import type { Batch } from './plugin.js';

/** The longest delay setTimeout honours. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Resolves after `ms` (at most ~24.8 days: see MAX_TIMER_MS), or early (without throwing) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    // Node fires a timer of more than 2^31-1 ms (24.8 days) after 1 ms, with a TimeoutOverflowWarning on stderr: a
    // .gor file with a month between two records spun and warned. Capped, the caller's loop sleeps again if due later.
    const timer = setTimeout(done, Math.min(ms, MAX_TIMER_MS));
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Merges streams, yielding batches as soon as any source has one. Each source has at most one pending
 * read, so a fast source cannot run ahead of the consumer. `onSourceEnd(i)` is called when source i ends.
 *
 * A consumer that stops early (return()) leaves, per source, at most one batch the source has already handed
 * over: its pending read, which settles once the source's return() has run. `onDiscard(i, item)` is called
 * with each such batch, so that what a source passed on is never lost without a count (pipeline.ts,
 * `not_passed_on`). A batch yielded to the consumer is the consumer's: it is not reported.
 *
 * Sources that are ready at the same time are served in turn. Promise.race settles with the first ready
 * promise in iteration order, so a source re-armed in place would win every time its read resolves at once
 * (a mapped file at |max): the replayed responses of --output-http-track-response, merged back in here,
 * waited behind the whole file and overflowed. The source just served is re-armed at the back instead.
 */
export async function* mergeStreams(
  sources: readonly AsyncIterable<Batch>[],
  onSourceEnd?: (index: number, error?: unknown) => void,
  onDiscard?: (index: number, item: Batch) => void,
): AsyncGenerator<Batch> {
  const iterators = sources.map((s) => s[Symbol.asyncIterator]());
  type Step = { index: number; result?: IteratorResult<Batch>; error?: unknown };
  const pending = new Map<number, Promise<Step>>();
  const arm = (index: number) => {
    pending.delete(index); // re-inserted last: see "served in turn" above
    pending.set(
      index,
      iterators[index]!.next().then(
        (result) => ({ index, result }),
        (error: unknown) => ({ index, error }),
      ),
    );
  };
  for (let i = 0; i < iterators.length; i++) arm(i);
  try {
    while (pending.size > 0) {
      const step = await Promise.race(pending.values());
      if (step.error !== undefined || step.result?.done) {
        pending.delete(step.index);
        onSourceEnd?.(step.index, step.error);
        continue;
      }
      arm(step.index);
      yield step.result!.value;
    }
  } finally {
    // Consumer stopped early: let the sources clean up.
    const left = [...pending.values()];
    await Promise.allSettled([...pending.keys()].map((i) => iterators[i]!.return?.()));
    // An async generator's return() waits for its pending read, so these have settled by now; an iterator that
    // ends its read later is still counted then (not awaited: a read that never settles must not hang the stop).
    if (onDiscard)
      for (const read of left)
        void read.then((step) => {
          if (step.result !== undefined && !step.result.done) onDiscard(step.index, step.result.value);
        });
  }
}

/** A bounded FIFO of items between a producer and one async consumer. */
export class Channel<T> {
  private items: T[] = [];
  private head = 0;
  private closed = false;
  private waitingReader: (() => void) | undefined;
  private waitingWriters: (() => void)[] = [];

  constructor(private readonly capacity: number) {}

  get length(): number {
    return this.items.length - this.head;
  }

  /** Adds an item; the returned promise (when full) resolves once there is room again. */
  push(item: T): void | Promise<void> {
    if (this.closed) return;
    this.items.push(item);
    this.wakeReader();
    if (this.length >= this.capacity) return new Promise((resolve) => this.waitingWriters.push(resolve));
  }

  /** Adds an item without waiting, even past the capacity (a producer that checks `room()` itself). */
  offer(item: T): void {
    if (this.closed) return;
    this.items.push(item);
    this.wakeReader();
  }

  /** A promise that resolves once the channel is below its capacity again; undefined when it already is. */
  room(): Promise<void> | undefined {
    if (this.length < this.capacity || this.closed) return undefined;
    return new Promise((resolve) => this.waitingWriters.push(resolve));
  }

  /** No more items: the consumer ends after the buffered ones. */
  close(): void {
    this.closed = true;
    this.wakeReader();
    for (const w of this.waitingWriters.splice(0)) w();
  }

  /** Takes everything buffered, as one array. */
  private takeAll(): T[] {
    const out = this.head === 0 ? this.items : this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    for (const w of this.waitingWriters.splice(0)) w();
    return out;
  }

  private wakeReader(): void {
    const r = this.waitingReader;
    this.waitingReader = undefined;
    r?.();
  }

  /** Yields everything available at each wake-up as one array. */
  async *drain(): AsyncGenerator<T[]> {
    for (;;) {
      if (this.length > 0) {
        yield this.takeAll();
        continue;
      }
      if (this.closed) return;
      await new Promise<void>((resolve) => {
        this.waitingReader = resolve;
      });
    }
  }
}
