/**
 * `--middleware-module ./mw.ts|.js`: in-process middleware. The module's default export is called once per
 * message, in order, with an HttpMessage (typed helpers) and a context:
 *
 *   export default (m, ctx) => (m.isRequest ? m.setHeader('X-Replayed', '1') : m);
 *
 * It returns the message (edited or not), an array (to add messages), or null (to drop it); or a promise
 * of one of those, which is awaited before the next message (order is kept). Returning undefined is an error
 * (usually a forgotten `return`), never a silent drop. A throw stops the run like a dead external middleware.
 * No hex and no process boundary: this is the fast path.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeError, ERROR_CODES, TaplineError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { type Message, type MetaFields, makeMeta, nowNs, REQUEST, randomId } from '../core/message.js';
import type { Batch, Transform } from '../core/plugin.js';
import { type CallbackResult, Correlator } from './correlator.js';
import { HttpMessage } from './http-message.js';

export type MiddlewareResult = Message | readonly Message[] | null;

export interface MiddlewareContext {
  readonly log: Logger;
  /**
   * Calls `cb(original, replayed)` once both responses of this request have arrived (type 2 from
   * --input-raw-track-response, type 3 from --output-http-track-response), in either order. What `cb`
   * returns (messages, or nothing) is emitted before the message that completed the pair.
   */
  correlate(request: Message | string, cb: (original: HttpMessage, replayed: HttpMessage) => CallbackResult): void;
  /** One-shot callback for the next message of this kind with this id (gor's npm helper `on(type, id, cb)`). */
  on(kind: 'response' | 'replay', id: string, cb: (m: HttpMessage) => CallbackResult): void;
  /** A new message to return (e.g. an extra request); the id is random unless given. */
  message(data: Buffer | string, meta?: Partial<MetaFields>): HttpMessage;
}

export type MiddlewareFunction = (
  message: HttpMessage,
  context: MiddlewareContext,
) => MiddlewareResult | Promise<MiddlewareResult>;

/** Identity, for type inference in a module: `export default defineMiddleware((m, ctx) => m)`. */
export function defineMiddleware(fn: MiddlewareFunction): MiddlewareFunction {
  return fn;
}

export interface ModuleCounters {
  in: number;
  out: number;
  dropped: number;
  added: number;
  correlations_expired: number;
}

/** Loads a middleware module: `.js`/`.mjs` directly, `.ts` through tsx (a dev dependency). */
export async function loadMiddlewareModule(path: string): Promise<MiddlewareFunction> {
  const url = pathToFileURL(resolve(path)).href;
  let mod: { default?: unknown };
  try {
    mod = (await import(url)) as { default?: unknown };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_UNKNOWN_FILE_EXTENSION' && /\.[cm]?ts$/.test(path)) {
      mod = await importTypeScript(url, path);
    } else {
      const why = code === 'ERR_MODULE_NOT_FOUND' ? 'not found' : describeError(err);
      throw new TaplineError(ERROR_CODES.MIDDLEWARE, `cannot load ${path}: ${why}`, {
        where: '--middleware-module',
        cause: err,
      });
    }
  }
  if (typeof mod.default !== 'function') {
    throw new TaplineError(
      ERROR_CODES.MIDDLEWARE,
      `${path} has no default export function (export default (message, context) => message)`,
      { where: '--middleware-module' },
    );
  }
  return mod.default as MiddlewareFunction;
}

async function importTypeScript(url: string, path: string): Promise<{ default?: unknown }> {
  let register: (() => unknown) | undefined;
  try {
    ({ register } = (await import('tsx/esm/api')) as { register: () => unknown });
  } catch {
    throw new TaplineError(
      ERROR_CODES.MIDDLEWARE,
      `cannot load ${path}: TypeScript modules need tsx (npm install tsx) or compile it to .js`,
      { where: '--middleware-module' },
    );
  }
  register();
  try {
    return (await import(url)) as { default?: unknown };
  } catch (err) {
    throw new TaplineError(ERROR_CODES.MIDDLEWARE, `cannot load ${path}: ${describeError(err)}`, {
      where: '--middleware-module',
      cause: err,
    });
  }
}

export class ModuleMiddleware {
  readonly counters: ModuleCounters = { in: 0, out: 0, dropped: 0, added: 0, correlations_expired: 0 };
  private readonly correlator = new Correlator();
  readonly context: MiddlewareContext;

  constructor(
    readonly name: string,
    private readonly fn: MiddlewareFunction,
    log: Logger,
  ) {
    const correlator = this.correlator;
    this.context = {
      log,
      correlate: (request, cb) =>
        correlator.correlate(typeof request === 'string' ? request : request.meta.id, (o, r) => cb(wrap(o), wrap(r))),
      on: (kind, id, cb) => correlator.once(kind === 'response' ? '2' : '3', id, (m) => cb(wrap(m))),
      message: (data, meta) =>
        new HttpMessage({
          meta: makeMeta({ type: REQUEST, id: randomId(), timestampNs: nowNs(), latencyNs: -1n, ...meta }),
          data: typeof data === 'string' ? Buffer.from(data) : data,
        }),
    };
  }

  readonly transform: Transform = (source) => this.run(source);

  stats(): Record<string, number> {
    return { ...this.counters, correlations_expired: this.correlator.expired };
  }

  describe(): string {
    const c = this.counters;
    return `  ${this.name}: ${c.in} in, ${c.out} out (${c.dropped} dropped, ${c.added} added)`;
  }

  private async *run(source: AsyncIterable<Batch>): AsyncGenerator<Batch> {
    const fn = this.fn;
    const context = this.context;
    const c = this.counters;
    for await (const batch of source) {
      const out: Message[] = [];
      for (let i = 0; i < batch.length; i++) {
        const msg = batch[i]!;
        c.in++;
        let result: unknown;
        try {
          const extra = this.correlator.dispatch(msg);
          if (extra) this.emit(extra, out, msg, true);
          result = fn(new HttpMessage(msg), context);
          if (result != null && typeof (result as Promise<unknown>).then === 'function') result = await result;
        } catch (err) {
          // What came before the failing message still goes on (then the pipeline flushes and stops).
          if (out.length > 0) yield out;
          if (err instanceof TaplineError) throw err;
          throw new TaplineError(
            ERROR_CODES.MIDDLEWARE,
            `${this.name} threw on message ${msg.meta.id} (type ${msg.meta.type}): ${describeError(err)}; the run stops`,
            { where: '--middleware-module', cause: err },
          );
        }
        try {
          this.emit(result, out, msg, false);
        } catch (err) {
          if (out.length > 0) yield out;
          throw err;
        }
      }
      if (out.length > 0) yield out;
    }
  }

  /** Checks and collects what the function (or a correlation callback) returned. */
  private emit(result: unknown, out: Message[], source: Message, fromCallback: boolean): void {
    const c = this.counters;
    if (result === null || (fromCallback && result === undefined)) {
      if (!fromCallback) c.dropped++;
      return;
    }
    const list = Array.isArray(result) ? result : [result];
    let sawSource = false;
    for (const item of list) {
      const m = asMessage(item);
      if (!m) {
        throw new TaplineError(
          ERROR_CODES.MIDDLEWARE,
          `${this.name} returned ${describeValue(item)} for message ${source.meta.id} (type ${source.meta.type}); ` +
            'return the message to keep it, an array of messages, or null to drop it',
          { where: '--middleware-module' },
        );
      }
      if (item instanceof HttpMessage ? item.original === source : item === source) sawSource = true;
      out.push(m);
    }
    c.out += list.length;
    if (fromCallback) c.added += list.length;
    else if (sawSource) c.added += list.length - 1;
    else {
      c.dropped++;
      c.added += list.length;
    }
  }
}

function wrap(m: Message): HttpMessage {
  return m instanceof HttpMessage ? m : new HttpMessage(m);
}

function asMessage(item: unknown): Message | undefined {
  if (item instanceof HttpMessage) return item.toMessage();
  if (typeof item !== 'object' || item === null) return undefined;
  const m = item as Message;
  return m.meta !== undefined && Buffer.isBuffer(m.data) ? m : undefined;
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'undefined (a missing return?)';
  if (typeof v === 'object' && v !== null)
    return `an object without meta and data (${Object.keys(v).slice(0, 5).join(', ')})`;
  return `${typeof v} ${JSON.stringify(v)}`;
}
