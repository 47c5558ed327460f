/**
 * A helper library for external middleware written in Node (what gor's npm package `goreplay_middleware`
 * offers, on the same protocol): read hex lines from stdin, hand each message to callbacks as an HttpMessage
 * (header/path/param/body/cookie helpers), write back what they keep, and correlate responses by id.
 *
 *   import { MiddlewareRunner } from 'tapline/middleware';
 *   const mw = new MiddlewareRunner();
 *   mw.on('request', (m) => m.setHeader('X-Replayed', '1'));
 *   await mw.run();
 *
 *   stdin ──chunks──▶ HexLineDecoder ──▶ callbacks ──▶ hex lines, one write per input chunk ──▶ stdout
 *     ▲ paused while stdout is full (backpressure)
 *
 * Rules (as gor's helper): for each message the `message` callbacks run, then those of its kind (`request`,
 * `response`, `replay`), then one-shot callbacks registered for its id. Each receives what the previous one
 * returned; a callback returning null/false drops the message, an array emits several. Without callbacks a
 * message is echoed. One-shot callbacks that never fire expire after `ttlMs`.
 */
import type { Readable, Writable } from 'node:stream';
import type { Message } from '../core/message.js';
import { type CallbackResult, Correlator } from './correlator.js';
import { formatHexLine, HexLineDecoder, hexLineLength, writeHexLine } from './hex-lines.js';
import { HttpMessage } from './http-message.js';

export type MessageKind = 'message' | 'request' | 'response' | 'replay';
/** Return the message (edited or not) to keep it, null/false to drop it, an array to emit several. */
export type HelperCallback = (m: HttpMessage) => HttpMessage | Message | readonly Message[] | null | false | undefined;

export interface MiddlewareRunnerOptions {
  input?: Readable;
  output?: Writable;
  /** Where decode problems and logs go (default: stderr). */
  log?: (line: string) => void;
  /** One-shot and correlation callbacks expire after this long (default 60 s; gor's helper: 10 s). */
  ttlMs?: number;
}

const KIND_OF_TYPE: Record<string, MessageKind> = { '1': 'request', '2': 'response', '3': 'replay' };
const TYPE_OF_KIND: Record<string, string> = { response: '2', replay: '3' };

/** Parses one hex line (with or without its LF) into a message. Throws with the reason when it is not one. */
export function parseHexLine(line: string | Buffer): HttpMessage {
  const decoder = new HexLineDecoder();
  const text = typeof line === 'string' ? line : line.toString('latin1');
  const r = decoder.push(Buffer.from(text.endsWith('\n') ? text : `${text}\n`, 'latin1'));
  if (r.problems.length > 0) throw new Error(r.problems[0]!.message);
  if (r.messages.length === 0) throw new Error('empty line');
  return new HttpMessage(r.messages[0]!);
}

export { formatHexLine };

export class MiddlewareRunner {
  private readonly callbacks = new Map<MessageKind, HelperCallback[]>();
  private readonly once = new Map<string, { cb: HelperCallback; at: number }>();
  private readonly correlator: Correlator;
  private readonly input: Readable;
  private readonly output: Writable;
  private readonly log: (line: string) => void;
  private readonly ttlMs: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  readonly counters = { in: 0, out: 0, dropped: 0, bad_lines: 0 };

  constructor(options: MiddlewareRunnerOptions = {}) {
    this.input = options.input ?? process.stdin;
    this.output = options.output ?? process.stdout;
    this.log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.ttlMs = options.ttlMs ?? 60_000;
    this.correlator = new Correlator(this.ttlMs);
  }

  /** `on(kind, cb)` for every message of a kind; `on('response' | 'replay', id, cb)` once, for that id. */
  on(kind: MessageKind, cb: HelperCallback): this;
  on(kind: 'response' | 'replay', id: string, cb: HelperCallback): this;
  on(kind: MessageKind, idOrCb: string | HelperCallback, cb?: HelperCallback): this {
    if (typeof idOrCb === 'string') {
      const type = TYPE_OF_KIND[kind];
      if (!type) throw new TypeError(`per-id callbacks are for 'response' or 'replay', not '${kind}'`);
      this.once.set(`${type}#${idOrCb}`, { cb: cb!, at: Date.now() });
    } else {
      const list = this.callbacks.get(kind) ?? [];
      list.push(idOrCb);
      this.callbacks.set(kind, list);
    }
    return this;
  }

  /**
   * `cb(original, replayed)` once both responses to request `id` have arrived, in either order. What it
   * returns (messages) is written; the responses themselves go through the usual callbacks.
   */
  correlate(id: string, cb: (original: HttpMessage, replayed: HttpMessage) => CallbackResult): this {
    this.correlator.correlate(id, (o, r) => cb(new HttpMessage(o), new HttpMessage(r)));
    return this;
  }

  /**
   * gor's `searchResponses`: `cb(originalMatch, replayedMatch)` with capture group 1 of `pattern` in each
   * response's payload (undefined when it does not match).
   */
  searchResponses(id: string, pattern: RegExp, cb: (original?: string, replayed?: string) => void): this {
    return this.correlate(id, (o, r) => {
      cb(pattern.exec(o.data.toString('utf8'))?.[1], pattern.exec(r.data.toString('utf8'))?.[1]);
    });
  }

  /** Writes a message now (e.g. a request held back until a token was known). */
  write(msg: Message): void {
    this.queue(msg instanceof HttpMessage ? msg.toMessage() : msg);
    this.flush();
  }

  /** Processes messages until stdin ends; resolves once everything is written. */
  async run(): Promise<void> {
    const decoder = new HexLineDecoder();
    for await (const chunk of this.input as AsyncIterable<Buffer>) {
      this.handle(decoder.push(chunk));
      if (!this.flush()) await new Promise<void>((r) => this.output.once('drain', r));
    }
    this.handle(decoder.end());
    this.flush();
  }

  /** Processes one message (exposed for tests); returns what would be written. */
  process(msg: Message): Message[] {
    const out: Message[] = [];
    const extra = this.correlator.dispatch(msg);
    if (extra) out.push(...extra.map((m) => (m instanceof HttpMessage ? m.toMessage() : m)));
    this.counters.in++;
    const kind = KIND_OF_TYPE[msg.meta.type];
    const chain: HelperCallback[] = [...(this.callbacks.get('message') ?? [])];
    if (kind) chain.push(...(this.callbacks.get(kind) ?? []));
    const key = `${msg.meta.type}#${msg.meta.id}`;
    const one = this.once.get(key);
    if (one) {
      this.once.delete(key);
      chain.push(one.cb);
    }
    this.expire();
    let current: unknown = new HttpMessage(msg);
    for (const cb of chain) {
      if (!(current instanceof HttpMessage)) break;
      current = cb(current);
      if (current && !Array.isArray(current) && !(current instanceof HttpMessage))
        current = new HttpMessage(current as Message);
    }
    if (!current) {
      this.counters.dropped++;
      return out;
    }
    for (const m of Array.isArray(current) ? current : [current]) {
      out.push(m instanceof HttpMessage ? m.toMessage() : (m as Message));
    }
    return out;
  }

  private handle(r: ReturnType<HexLineDecoder['push']>): void {
    for (const p of r.problems) {
      this.counters.bad_lines++;
      this.log(`middleware helper: input ${p.message}; skipped`);
    }
    for (const m of r.messages) for (const o of this.process(m)) this.queue(o);
  }

  private queue(msg: Message): void {
    const buf = Buffer.allocUnsafe(hexLineLength(msg));
    writeHexLine(msg, buf, 0);
    this.pending.push(buf);
    this.pendingBytes += buf.length;
    this.counters.out++;
  }

  /** One write for everything queued; false when the output asks to wait. */
  private flush(): boolean {
    if (this.pending.length === 0) return true;
    const all = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    return this.output.write(all);
  }

  private expire(): void {
    if (this.once.size === 0) return;
    const now = Date.now();
    for (const [key, v] of this.once) {
      if (now - v.at < this.ttlMs) break;
      this.once.delete(key);
    }
  }
}
