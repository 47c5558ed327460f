/**
 * The hand-over between a native capture (af_packet ring, libpcap handle) and its one JavaScript consumer:
 * batches queue here, with backpressure on the producer, and leave as an async iterator.
 *
 *   addon ──push(buf, count)──▶ [ queue, bounded by bytes ] ──next()──▶ consumer (decoded packets)
 *     ▲ pause() above maxQueuedBytes, resume() once it has drained to half
 *
 * Ending: `end()` (no more batches) lets the consumer drain what is queued, then the iterator is done;
 * `fail(err)` does the same and then rejects with the error; `discard()` (the consumer left) drops the queue
 * and every later batch.
 */
import { ERROR_CODES, TaplineError } from '../../core/errors.js';

/** What the queue asks of the producer. */
export interface BatchProducer {
  pause(): void;
  resume(): void;
}

export interface BatchQueueStats {
  readonly queuedBatches: number;
  readonly queuedBytes: number;
  /** Times the producer was paused because the consumer fell behind. */
  readonly pauses: number;
  readonly paused: boolean;
}

export class BatchQueue<T> {
  private readonly queue: { buf: Buffer; count: number }[] = [];
  private queuedBytes = 0;
  private pauses = 0;
  private paused = false;
  private done = false;
  private discarded = false;
  private failure: TaplineError | undefined;
  private waiter: { resolve: (r: IteratorResult<T[]>) => void; reject: (e: unknown) => void } | undefined;
  private iterating = false;

  constructor(
    private readonly producer: BatchProducer,
    private readonly maxQueuedBytes: number,
    /** Turns a batch buffer of `count` records into packets (run when the consumer takes it). */
    private readonly decode: (buf: Buffer, count: number) => T[],
  ) {}

  /** No batch will follow. */
  get ended(): boolean {
    return this.done;
  }

  push(buf: Buffer, count: number): void {
    if (this.done || this.discarded) return;
    const w = this.waiter;
    if (w && this.queue.length === 0) {
      this.waiter = undefined;
      w.resolve({ value: this.decode(buf, count), done: false });
      return;
    }
    this.queue.push({ buf, count });
    this.queuedBytes += buf.length;
    if (!this.paused && this.queuedBytes > this.maxQueuedBytes) {
      this.paused = true;
      this.pauses++;
      this.producer.pause();
    }
  }

  end(): void {
    this.done = true;
    this.wake();
  }

  /** The capture broke: queued batches are still delivered, then the consumer gets `err`. */
  fail(err: TaplineError): void {
    this.failure ??= err;
    this.end();
  }

  /** The consumer left: drop everything queued and everything still to come. */
  discard(): void {
    this.discarded = true;
    this.queue.length = 0;
    this.queuedBytes = 0;
  }

  stats(): BatchQueueStats {
    return {
      queuedBatches: this.queue.length,
      queuedBytes: this.queuedBytes,
      pauses: this.pauses,
      paused: this.paused,
    };
  }

  /** The single consumer's iterator; `onReturn` runs when it leaves early (break, throw). */
  iterator(onReturn: () => void): AsyncIterator<T[]> {
    if (this.iterating) {
      throw new TaplineError(ERROR_CODES.INTERNAL, 'capture.packets supports a single consumer');
    }
    this.iterating = true;
    return {
      next: () => this.next(),
      return: async () => {
        this.discard();
        onReturn();
        return { value: undefined, done: true };
      },
    };
  }

  private next(): Promise<IteratorResult<T[]>> {
    const item = this.queue.shift();
    if (item) {
      this.queuedBytes -= item.buf.length;
      if (this.paused && !this.done && this.queuedBytes <= this.maxQueuedBytes / 2) {
        this.paused = false;
        this.producer.resume();
      }
      return Promise.resolve({ value: this.decode(item.buf, item.count), done: false });
    }
    if (this.failure) return Promise.reject(this.failure);
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    if (this.waiter) {
      return Promise.reject(new TaplineError(ERROR_CODES.INTERNAL, 'capture.packets: next() called concurrently'));
    }
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  private wake(): void {
    const w = this.waiter;
    if (!w || this.queue.length > 0) return;
    this.waiter = undefined;
    if (this.failure) w.reject(this.failure);
    else w.resolve({ value: undefined, done: true });
  }
}
