/**
 * input-file timing (spec §5.3): gor's wait rules, and a drift-free clock to apply them.
 *
 * `GorWaits` decides how long to wait before each record exactly as gor does (and counts what the dry-run
 * report prints): the gap to the last record that had a non-negative wait, divided by the speed factor
 * (truncated to whole ns), capped by --input-file-max-wait; a negative gap is not waited for and is counted.
 *
 * `ReplayClock` applies them without drift: gor sleeps each gap after the previous emission, so timer lateness
 * and consumer time add up over a long file; tapline schedules record k at `start + Σ waits(1..k)` in absolute
 * time, and the input emits every record that is due as one batch. A slow consumer makes the replay fall
 * behind, and it then catches up at full speed.
 */

/** Largest int64: what Go prints for "Min wait" when no wait was ever measured. */
export const MAX_INT64 = 9223372036854775807n;

export interface WaitRules {
  /** Speed factor: 1 = original pace, 2 = twice as fast (`|200%`), Infinity = `|max` (no waiting). */
  readonly speed: number;
  /** --input-file-max-wait in ns; 0 = no cap. */
  readonly maxWaitNs: bigint;
}

export class GorWaits {
  /** Timestamp of the last record that had a non-negative wait (gor's `lastTime`). */
  private last: bigint | undefined;
  /** The same for count(), as a double. */
  private lastKey: number | undefined;
  firstWait = 0n;
  maxWait = 0n;
  minWait = MAX_INT64;
  totalWait = 0n;
  /** Records with a timestamp earlier than the one before (gor's "negative wait"). */
  negative = 0;
  /** Records whose timestamp is not a number: emitted at once, not taken into account. */
  badTimestamp = 0;

  constructor(private readonly rules: WaitRules) {}

  /** The timestamp later records are waited from (the last one with a non-negative wait), as next() keeps it. */
  get lastTimestamp(): bigint | undefined {
    return this.last;
  }

  /** The wait (ns, ≥ 0) before the record with timestamp `ts`. */
  next(ts: bigint, badTimestamp = false): bigint {
    if (badTimestamp) {
      // gor reads it as 0, which reorders it and can cause a decades-long sleep; tapline skips it for timing.
      this.badTimestamp++;
      return 0n;
    }
    const last = this.last;
    if (last === undefined) {
      this.last = ts;
      return 0n;
    }
    const { speed, maxWaitNs } = this.rules;
    if (speed === Number.POSITIVE_INFINITY) {
      // |max: nothing to wait for; the same bookkeeping in fewer steps (this runs a million times a second).
      if (this.firstWait === 0n && ts !== last) this.firstWait = ts - last;
      if (ts < last) {
        this.negative++;
      } else {
        this.last = ts;
        this.minWait = 0n;
      }
      return 0n;
    }
    let diff = ts - last;
    if (this.firstWait === 0n) this.firstWait = diff;
    if (speed !== 1) {
      // Go: int64(float64(diff) / speedFactor)
      const scaled = Math.trunc(Number(diff) / speed);
      diff = scaled >= 9.2e18 ? MAX_INT64 : scaled <= -9.2e18 ? -MAX_INT64 : BigInt(scaled);
    }
    if (maxWaitNs > 0n && diff > maxWaitNs) diff = maxWaitNs;
    if (diff < 0n) {
      this.negative++;
      return 0n;
    }
    this.last = ts;
    this.totalWait += diff;
    if (diff > this.maxWait) this.maxWait = diff;
    if (diff < this.minWait) this.minWait = diff;
    return diff;
  }

  /**
   * `|max` bookkeeping without BigInt: the timestamp as a double (NaN when not a number). Counts negative
   * and bad timestamps as next() does; there is no wait to compute. Returns 0n.
   */
  count(key: number): bigint {
    if (Number.isNaN(key)) {
      this.badTimestamp++;
      return 0n;
    }
    if (this.lastKey === undefined || key >= this.lastKey) this.lastKey = key;
    else this.negative++;
    return 0n;
  }

  /** count() of keys[from..to), in order. */
  countRange(keys: ArrayLike<number>, from: number, to: number): void {
    let last = this.lastKey;
    for (let i = from; i < to; i++) {
      const key = keys[i]!;
      if (Number.isNaN(key)) this.badTimestamp++;
      else if (last === undefined || key >= last) last = key;
      else this.negative++;
    }
    this.lastKey = last;
  }

  /** A new pass (--input-file-loop): no wait between the last record and the first of the next pass. */
  restart(): void {
    this.last = undefined;
    this.lastKey = undefined;
  }
}

/**
 * Absolute schedule: each record is due at `start + Σ waits` (ms on the monotonic clock).
 *
 * The caller gathers due records into a batch and emits it when advance() says so: when the next record is
 * in the future (it then waits), or when it has held records for `flushMs` while catching up (a batch of
 * records that were due must not wait for the reader to fill it; at start-up, before the JIT warms up, the
 * reader can be slower than a `|10000%` schedule for a while).
 */
export class ReplayClock {
  private start = 0;
  private offsetNs = 0;
  private lastFlush = 0;

  constructor(
    private readonly now: () => number = () => performance.now(),
    private readonly flushMs = 1,
  ) {}

  restart(): void {
    this.start = this.now();
    this.lastFlush = this.start;
    this.offsetNs = 0;
  }

  /**
   * Adds the wait before the next record; returns ms until it is due. > 0: emit what is held, then wait
   * that long (a tiny positive value when only the held records are too old). ≤ 0: due now, keep gathering.
   */
  advance(waitNs: bigint): number {
    if (waitNs > 0n) this.offsetNs += Number(waitNs);
    const now = this.now();
    const until = this.start + this.offsetNs / 1e6 - now;
    if (until > 0 || now - this.lastFlush >= this.flushMs) {
      this.lastFlush = now;
      return until > 0 ? until : Number.MIN_VALUE;
    }
    return until;
  }

  /** ms until the current schedule position (≤ 0: reached). */
  untilDue(): number {
    return this.start + this.offsetNs / 1e6 - this.now();
  }
}
