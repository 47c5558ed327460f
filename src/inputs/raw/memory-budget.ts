/**
 * `--input-raw-memory-budget`: one bound on the bytes a capture holds in messages still arriving, across all
 * its connections and both directions. `--input-raw-max-size` bounds one message; without this, many
 * connections each sending a large body slowly held max-size each (50 of them: 2.4 GB and climbing).
 *
 *   HttpDirection / BinaryDirection ──update(holder, bytes)──▶ MemoryBudget ◀──setExternal(total, largest)── native
 *                                                                   │ total + external > limit
 *                                                                   ▼ the largest message in progress:
 *            TypeScript holder: cutForBudget() — emitted cut where it was, marked incomplete=memory-budget,
 *                               counted (cut_memory_budget); the rest of it is skipped, as after a max-size cut
 *            native fast path:  releaseLargest() — its connection is handed to the TypeScript path, which then
 *                               holds the message and is cut on the next round
 *
 * Everything runs on one thread (the raw input's, or each worker's with its share of the budget), so the
 * bookkeeping needs no locks. A cut emits a message, which may re-enter `update()` from the holder being cut:
 * `enforce()` is not re-entered, it loops until the total fits.
 */

/** A stream direction holding part of one message in progress. */
export interface BudgetHolder {
  /** Emits the message in progress now, cut, and lets go of its bytes (then reports 0 with `update`). */
  cutForBudget(): void;
  /** The message, for the warning: `request from 10.0.0.1:41000 to 10.0.0.2:80`. */
  describe(): string;
}

/** Messages in progress held outside the TypeScript path (the native fast path). */
export interface ExternalHolder {
  /** Hands the largest message in progress to the TypeScript path; false when there is none. */
  releaseLargest(): boolean;
}

/** Default budget: 512 MiB, or 4 messages of --input-raw-max-size when that is larger. */
export const DEFAULT_MEMORY_BUDGET = 512 * 1024 * 1024;
export function defaultMemoryBudget(maxSize: number): number {
  return Math.max(DEFAULT_MEMORY_BUDGET, 4 * maxSize);
}

/** Cut rounds one `enforce()` may make: each frees one message, so this is never reached in practice. */
const MAX_ROUNDS = 100_000;

export class MemoryBudget {
  private readonly holders = new Map<BudgetHolder, number>();
  /** Bytes the TypeScript holders report. */
  private held = 0;
  private externalTotal = 0;
  /** The external holder's largest message: asked for only when the budget is spent (it may cost a scan). */
  private externalLargest: () => number = () => 0;
  private external: ExternalHolder | null = null;
  private enforcing = false;

  /** `onCut`: told of each cut before it is made (the raw input warns). */
  constructor(
    readonly limit: number,
    private readonly onCut?: (what: string, bytes: number) => void,
  ) {}

  /** Bytes held in messages in progress now, both paths. */
  get total(): number {
    return this.held + this.externalTotal;
  }

  /** The native fast path, whose holdings come with `setExternal`. */
  attach(external: ExternalHolder): void {
    this.external = external;
  }

  /** `holder` now holds `bytes` (0: none; it is forgotten). Over the limit, the largest message is cut. */
  update(holder: BudgetHolder, bytes: number): void {
    const before = this.holders.get(holder) ?? 0;
    if (bytes === before) return;
    this.held += bytes - before;
    if (bytes === 0) this.holders.delete(holder);
    else this.holders.set(holder, bytes);
    if (this.held + this.externalTotal > this.limit) this.enforce();
  }

  /** What the native fast path holds now: in all, and (when asked) its largest message. */
  setExternal(total: number, largest: () => number): void {
    this.externalTotal = total;
    this.externalLargest = largest;
    if (this.held + this.externalTotal > this.limit) this.enforce();
  }

  /** Cuts the largest messages in progress until the total fits the limit. */
  private enforce(): void {
    if (this.enforcing) return;
    this.enforcing = true;
    try {
      for (let round = 0; this.held + this.externalTotal > this.limit && round < MAX_ROUNDS; round++) {
        let largest: BudgetHolder | undefined;
        let size = 0;
        for (const [h, n] of this.holders) {
          if (n > size) {
            largest = h;
            size = n;
          }
        }
        if (this.external !== null && this.externalTotal > 0 && this.externalLargest() > size) {
          // The native path's message is the largest: once handed over it is a TypeScript holder's (adopting
          // it calls update and setExternal), and the next round cuts it.
          if (this.external.releaseLargest()) continue;
          // It could not be handed over: leave the native bytes out rather than loop (never seen).
          this.externalTotal = 0;
          continue;
        }
        if (largest === undefined) return;
        this.onCut?.(largest.describe(), size);
        largest.cutForBudget();
        // A holder that could not let go is forgotten rather than cut again for ever.
        if (this.holders.get(largest) === size) this.update(largest, 0);
      }
    } finally {
      this.enforcing = false;
    }
  }
}
