/**
 * Runs the modifiers on every message, as gor's copy loop does (spec §3 step 5):
 *
 *   type 1 with a gor request line ─▶ modifier 1 ─▶ … ─▶ modifier N ─▶ (edited) request
 *                                          └─ null: drop, count it against that flag, remember the id
 *   type 1 without one ─────────────▶ passed through untouched (gor fails open)
 *   type 2 / 3 ─▶ id remembered? ─▶ drop (the response of a dropped request), else pass
 *
 * Remembered ids live in a bounded map (oldest forgotten first, and counted), so memory stays flat however many
 * requests are dropped. Unlike gor, which forgets an id after its first response, every response with that id
 * is dropped (a file recorded with --output-http-track-response holds both a type 2 and a type 3).
 */
import { BoundedMap } from '../core/bounded-set.js';
import { type Message, REQUEST } from '../core/message.js';
import { groupDigits } from '../core/values.js';
import { hasRequestTitle, path } from '../protocol/http1/index.js';
import type { Modifier } from './modifier.js';

/** Ids of dropped requests kept for their responses: ~100 bytes each, so about 6 MB at most. */
export const FILTERED_IDS_CAPACITY = 65_536;

/** After this many requests, none of them matching --http-allow-url, that is said (once). */
export const NONE_MATCHED_NOTICE = 1000;

export class ModifierChain {
  /** Responses dropped because their request was. */
  responsesDropped = 0;
  /**
   * Told once when --http-allow-url has matched none of the first NONE_MATCHED_NOTICE requests it saw: usually a
   * regexp written for the full URL (gor's help says "full url with domain") or the request line, where it sees
   * the request-target only.
   */
  notice?: (message: string) => void;
  private readonly filtered: BoundedMap<string, true>;
  private readonly allowUrl: Modifier | undefined;
  private allowUrlPassed = 0;

  constructor(
    readonly modifiers: readonly Modifier[],
    capacity = FILTERED_IDS_CAPACITY,
  ) {
    this.filtered = new BoundedMap(capacity);
    this.allowUrl = modifiers.find((m) => m.flag === 'http-allow-url');
  }

  /** The Processor: an edited message, the same message, or null (dropped). */
  readonly process = (msg: Message): Message | null => {
    const id = msg.meta.id;
    if (msg.meta.type !== REQUEST) {
      if (this.filtered.size > 0 && this.filtered.has(id)) {
        this.responsesDropped++;
        return null;
      }
      return msg;
    }
    if (!hasRequestTitle(msg.data)) return msg;
    let data = msg.data;
    for (const modifier of this.modifiers) {
      const out = modifier.apply(data);
      if (out === null) {
        modifier.dropped++;
        this.filtered.set(id, true);
        if (modifier === this.allowUrl && modifier.dropped === NONE_MATCHED_NOTICE && this.allowUrlPassed === 0) {
          this.noneMatched(modifier, data);
        }
        return null;
      }
      if (modifier === this.allowUrl) this.allowUrlPassed++;
      data = out;
    }
    // A request that passes under a remembered id (ids can repeat across files) gets its responses back.
    if (this.filtered.size > 0) this.filtered.delete(id);
    return data === msg.data ? msg : { meta: msg.meta, data };
  };

  private noneMatched(modifier: Modifier, payload: Buffer): void {
    const target = path(payload).toString('latin1');
    const example = target.length > 200 ? `${target.slice(0, 200)}…` : target;
    this.notice?.(
      `--http-allow-url: none of the first ${groupDigits(NONE_MATCHED_NOTICE)} requests matched ` +
        `(${modifier.description}), so every one was dropped. The regexp sees the request-target as sent, such ` +
        `as ${JSON.stringify(example)}: path and query, with no method, and no scheme or host unless the ` +
        'client spoke to a proxy',
    );
  }

  /** Counters for the summary and --stats: what each flag dropped. */
  stats(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const m of this.modifiers) if (m.dropped > 0 || isFilter(m.flag)) out[m.flag] = m.dropped;
    out.responses_of_dropped_requests = this.responsesDropped;
    out.dropped_ids_forgotten = this.filtered.evicted;
    return out;
  }
}

function isFilter(flag: string): boolean {
  return !flag.startsWith('http-set-') && !flag.startsWith('http-rewrite-');
}
