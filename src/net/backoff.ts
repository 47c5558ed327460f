/**
 * Reconnect delays: 100 ms, doubling up to a ceiling (2 s by default), with ±20% jitter so that many workers
 * that lost one peer together do not knock on it together. gor waits a flat 1 s between attempts.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly firstMs = 100,
    private readonly maxMs = 2000,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next attempt. */
  next(): number {
    const base = Math.min(this.maxMs, this.firstMs * 2 ** Math.min(this.attempt, 20));
    this.attempt++;
    return Math.round(base * (0.8 + 0.4 * this.random()));
  }

  /** Attempts since the last success. */
  get failures(): number {
    return this.attempt;
  }

  reset(): void {
    this.attempt = 0;
  }
}
