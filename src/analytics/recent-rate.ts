/**
 * Wire bytes per wall-clock second over the last few seconds: what `bandwidth_bytes_per_s` reports on live runs.
 *
 *   exchange completes at t ─▶ slot[floor(t / 1 s) mod n] += bytes      (n = window / 1 s + 1, a fixed ring)
 *   perSecond(now)          ─▶ Σ slots of the last window ÷ the seconds they cover   (reads only)
 *
 * Reading never changes anything, so any number of consumers (the --stats line, Prometheus scrapes, InfluxDB
 * writes, the dashboard) can ask at their own pace and all see the same figure. Memory is the ring: a few numbers.
 */
const SLOT_MS = 1000;

export class RecentRate {
  private readonly slotStart: Float64Array;
  private readonly slotBytes: Float64Array;

  /** `windowMs`: how far back perSecond() looks (rounded up to whole seconds, at least 1 s). */
  constructor(private readonly windowMs: number) {
    const n = Math.max(1, Math.ceil(windowMs / SLOT_MS)) + 1;
    this.slotStart = new Float64Array(n).fill(-1);
    this.slotBytes = new Float64Array(n);
  }

  add(nowMs: number, bytes: number): void {
    const start = Math.floor(nowMs / SLOT_MS) * SLOT_MS;
    const n = this.slotStart.length;
    const i = (((start / SLOT_MS) % n) + n) % n;
    if (this.slotStart[i] !== start) {
      this.slotStart[i] = start;
      this.slotBytes[i] = 0;
    }
    this.slotBytes[i]! += bytes;
  }

  /**
   * Bytes per second over the last `windowMs` before `nowMs` (whole slots: from the start of the slot that holds
   * `nowMs - windowMs`), never counting time before `sinceMs` (the run's start).
   */
  perSecond(nowMs: number, sinceMs: number): number {
    const from = Math.max(sinceMs, Math.floor((nowMs - this.windowMs) / SLOT_MS) * SLOT_MS);
    const seconds = (nowMs - from) / 1000;
    if (seconds <= 0) return 0;
    let bytes = 0;
    for (let i = 0; i < this.slotStart.length; i++) {
      const s = this.slotStart[i]!;
      if (s >= 0 && s + SLOT_MS > from && s <= nowMs) bytes += this.slotBytes[i]!;
    }
    return bytes / seconds;
  }
}
