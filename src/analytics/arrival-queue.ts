/**
 * Entries in arrival order, answered ones (`done`) left in place and skipped (a Map's own first entry is slow to
 * reach after many deletions: iteration walks over the deleted slots). Compacted as it drains.
 *
 * Entries are marked done from outside (the tracker answers a request by id), so the queue learns of it only when
 * it looks. oldest() steps over the done ones at the front; push() drops every done one once the array holds
 * twice what was live at the last drop (at least MIN_COMPACT). Without that, a run whose clock never moves
 * forward (a file read again and again with --input-file-loop, the same timestamps every pass) never calls
 * oldest() and kept every answered request (its route, host, path) for the whole run.
 */
const MIN_COMPACT = 4096;

export class ArrivalQueue<T extends { done: boolean }> {
  private items: T[] = [];
  private head = 0;
  private compactAt = MIN_COMPACT;

  /** Entries held, done ones not yet dropped included (what the queue costs in memory). */
  get held(): number {
    return this.items.length;
  }

  /** The oldest entry not done, or undefined. */
  oldest(): T | undefined {
    const q = this.items;
    while (this.head < q.length) {
      const item = q[this.head]!;
      if (!item.done) return item;
      this.head++;
    }
    if (this.head > 0) {
      this.items = [];
      this.head = 0;
    }
    return undefined;
  }

  push(item: T): void {
    if (this.items.length >= this.compactAt) this.dropDone();
    this.items.push(item);
  }

  /**
   * Drops the entries oldest() has passed (before head) and those answered since; the rest stay in order.
   * Each entry is looked at O(1) times on average (compactAt is twice what stays live).
   */
  private dropDone(): void {
    const live: T[] = [];
    for (let i = this.head; i < this.items.length; i++) {
      const item = this.items[i]!;
      if (!item.done) live.push(item);
    }
    this.items = live;
    this.head = 0;
    this.compactAt = Math.max(MIN_COMPACT, live.length * 2);
  }
}
