/**
 * Correlating a request with its responses by id: the original response (type 2, captured with
 * --input-raw-track-response) and the replayed one (type 3, --output-http-track-response) share the request's
 * id. Two forms:
 *  - `once(type, id, cb)`: gor's npm helper `on('response'|'replay', id, cb)`, a one-shot callback;
 *  - `correlate(id, cb)`: calls `cb(original, replayed)` once both have arrived, in whichever order (gor gives
 *    no ordering guarantee between them, spec §4.3).
 * Pending callbacks expire after `ttlMs` (and the oldest go first past `maxPending`), so memory stays bounded
 * when a response never comes; expired ones are counted.
 */
import type { Message } from '../core/message.js';

// biome-ignore lint/suspicious/noConfusingVoidType: callbacks written without a return must type-check
export type CallbackResult = Message | readonly Message[] | null | undefined | void;

interface Pending {
  readonly at: number;
  once?: Map<string, (m: Message) => CallbackResult>;
  pair?: { cb: (original: Message, replayed: Message) => CallbackResult; original?: Message; replayed?: Message };
}

export class Correlator {
  private readonly pending = new Map<string, Pending>();
  /** Callbacks dropped because their responses did not arrive in time (or too many were waiting). */
  expired = 0;

  constructor(
    private readonly ttlMs = 60_000,
    private readonly maxPending = 100_000,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  /** One-shot callback for the next message of `type` ('2' or '3') with this id. */
  once(type: string, id: string, cb: (m: Message) => CallbackResult): void {
    const p = this.entry(id);
    p.once ??= new Map();
    p.once.set(type, cb);
  }

  /** `cb(original, replayed)` once both responses of request `id` have arrived. */
  correlate(id: string, cb: (original: Message, replayed: Message) => CallbackResult): void {
    this.entry(id).pair = { cb };
  }

  /** Runs the callbacks waiting for `msg`; returns what they returned (messages to emit). */
  dispatch(msg: Message): Message[] | undefined {
    if (this.pending.size === 0) return undefined;
    this.expire(Date.now());
    const type = msg.meta.type;
    if (type === '1') return undefined;
    const id = msg.meta.id;
    const p = this.pending.get(id);
    if (!p) return undefined;
    let out: Message[] | undefined;
    const add = (r: CallbackResult) => {
      if (r === null || r === undefined) return;
      out ??= [];
      if (Array.isArray(r)) out.push(...(r as readonly Message[]));
      else out.push(r as Message);
    };
    const cb = p.once?.get(type);
    if (cb) {
      p.once!.delete(type);
      add(cb(msg));
    }
    if (p.pair) {
      if (type === '2') p.pair.original = msg;
      else if (type === '3') p.pair.replayed = msg;
      if (p.pair.original && p.pair.replayed) {
        const { cb: pairCb, original, replayed } = p.pair;
        p.pair = undefined;
        add(pairCb(original, replayed));
      }
    }
    if (!p.pair && (!p.once || p.once.size === 0)) this.pending.delete(id);
    return out;
  }

  private entry(id: string): Pending {
    let p = this.pending.get(id);
    if (!p) {
      p = { at: Date.now() };
      this.pending.set(id, p);
      if (this.pending.size > this.maxPending) {
        const oldest = this.pending.keys().next().value as string;
        this.pending.delete(oldest);
        this.expired++;
      }
    }
    return p;
  }

  /** Entries are in insertion order, so the expired ones are at the front. */
  private expire(now: number): void {
    for (const [id, p] of this.pending) {
      if (now - p.at < this.ttlMs) break;
      this.pending.delete(id);
      this.expired++;
    }
  }
}
