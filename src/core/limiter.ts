/**
 * `address|N` and `address|N%` limits (spec §5.1) as a gate over a message stream.
 *
 * Differences from gor, on purpose (docs/compat.md): only requests are counted and sampled; responses
 * follow the decision taken for their request (same id), so a sampled stream keeps whole exchanges and a
 * `|10` output sends 10 requests a second, not 5 requests and 5 responses.
 */
import { BoundedMap } from './bounded-set.js';
import { type Message, REQUEST } from './message.js';
import type { Limit } from './values.js';

export interface GateCounters {
  admitted: number;
  dropped: number;
}

export class LimitGate {
  readonly counters: GateCounters = { admitted: 0, dropped: 0 };
  private windowStart: number;
  private windowCount = 0;
  /** Ids of dropped requests, so their responses are dropped too. */
  private readonly droppedIds = new BoundedMap<string, true>(100_000);

  constructor(
    private readonly limit: Limit,
    private readonly random: () => number = Math.random,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.windowStart = now();
  }

  admit(msg: Message): boolean {
    if (msg.meta.type !== REQUEST) {
      const ok = !this.droppedIds.has(msg.meta.id);
      this.count(ok);
      return ok;
    }
    const ok = this.decide();
    // Ids repeat (--input-file-loop replays the same file): a request admitted under an id dropped before gets
    // its own responses, or a looped `|50%` run would keep requests without their responses.
    if (!ok) this.droppedIds.set(msg.meta.id, true);
    else if (this.droppedIds.size > 0) this.droppedIds.delete(msg.meta.id);
    this.count(ok);
    return ok;
  }

  private decide(): boolean {
    switch (this.limit.kind) {
      case 'percent':
        // gor: passes iff N > rand[0,99]
        return this.limit.percent > Math.floor(this.random() * 100);
      case 'rate': {
        const t = this.now();
        if (t - this.windowStart > 1000) {
          this.windowStart = t;
          this.windowCount = 0;
        }
        if (this.windowCount >= this.limit.perSecond) return false;
        this.windowCount++;
        return true;
      }
      default:
        return true;
    }
  }

  private count(ok: boolean): void {
    if (ok) this.counters.admitted++;
    else this.counters.dropped++;
  }
}
