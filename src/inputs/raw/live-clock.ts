/**
 * The time a live capture expires idle connections at (`--input-raw-expire`).
 *
 * A connection is idle when no packet of it came for the expire time, on the packets' own clock (the kernel's
 * timestamps). The wall clock says so only when every packet captured up to then has been read: a packet
 * waits in the engine up to its read timeout (`--input-raw-buffer-timeout`: the kernel hands its ring block
 * over when full or that old), and any time while tapline is behind (its outputs slow, the process stopped or
 * starved of CPU, the ring filling). Expiring at the wall clock then gave up connections whose next packets
 * were waiting to be read: they came back as new connections picked up mid-stream, a message in progress
 * was cut, its response counted unmatched and its request unanswered at close.
 *
 * So the time is the newest packet read, and the wall clock only when the reader found the source empty for
 * a whole tick (nothing read since the tick before): then every packet older than that tick minus twice the
 * read timeout has been read.
 */
export class LiveExpiryClock {
  /** The newest packet timestamp read. */
  private newest = 0n;
  /** Wall time the reader began waiting for a batch with none queued; null while it has one or is held up. */
  private waitingSince: bigint | null = null;
  private previousTick: bigint | null = null;

  constructor(private readonly deliveryDelayNs: bigint) {}

  /** A batch was read; `newest` is its newest packet's timestamp. */
  read(newest: bigint): void {
    this.waitingSince = null;
    if (newest > this.newest) this.newest = newest;
  }

  /** The reader waits for the next batch (call right before awaiting it). */
  waiting(now: bigint): void {
    this.waitingSince = now;
  }

  /** The reader is held up by something else (the outputs): packets may pile up meanwhile. */
  held(): void {
    this.waitingSince = null;
  }

  /** The time to expire at, on a tick at wall time `now`. */
  tick(now: bigint): bigint {
    const previous = this.previousTick;
    this.previousTick = now;
    let t = this.newest;
    if (previous !== null && this.waitingSince !== null && this.waitingSince <= previous) {
      const quiet = previous - 2n * this.deliveryDelayNs;
      if (quiet > t) t = quiet;
    }
    return t;
  }
}
