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
import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import { describeError, ERROR_CODES, TaplineError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { type Message, type MetaFields, makeMeta, nowNs, REQUEST, randomId } from '../core/message.js';
import type { Batch, Transform } from '../core/plugin.js';
import { type CallbackResult, Correlator } from './correlator.js';
import { checkMetaChange, HttpMessage } from './http-message.js';

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
  /** The rest of the batch after a message the function failed on: the run stopped before they were given to it. */
  not_taken: number;
}

/** A module path as the file URL it is imported from (and named by in stack traces). */
export function moduleUrl(path: string): string {
  return pathToFileURL(resolve(path)).href;
}

/** Loads a middleware module: `.js`/`.mjs` directly, `.ts` through tsx (a dev dependency). */
export async function loadMiddlewareModule(path: string): Promise<MiddlewareFunction> {
  const url = moduleUrl(path);
  let mod: { default?: unknown };
  try {
    mod = TYPESCRIPT.test(path) ? await importTypeScript(url, path) : ((await import(url)) as { default?: unknown });
  } catch (err) {
    if (err instanceof TaplineError) throw err;
    // Node says ERR_MODULE_NOT_FOUND also for what the module imports (a package not installed): "not found"
    // is said only when the module itself is missing, with the path it was looked for at (a relative path
    // is taken from tapline's working directory); otherwise Node's message names what is missing, and where.
    const code = (err as NodeJS.ErrnoException).code;
    const missing = resolve(path);
    const why =
      code === 'ERR_MODULE_NOT_FOUND' && !existsSync(missing)
        ? `not found (there is no ${missing})`
        : missingImport(err, path);
    throw new TaplineError(ERROR_CODES.MIDDLEWARE, `cannot load ${path}: ${why}`, {
      where: '--middleware-module',
      cause: err,
    });
  }
  // A .ts file outside an ESM package ("type": "module") is compiled to CommonJS: its default export arrives
  // as the default of module.exports.
  const inner = (mod.default as { default?: unknown } | undefined)?.default;
  const fn = typeof mod.default !== 'function' && typeof inner === 'function' ? inner : mod.default;
  if (typeof fn !== 'function') {
    throw new TaplineError(
      ERROR_CODES.MIDDLEWARE,
      `${path} has no default export function (export default (message, context) => message)`,
      { where: '--middleware-module' },
    );
  }
  return fn as MiddlewareFunction;
}

const TYPESCRIPT = /\.[cm]?ts$/;

/** This package's directory: src/middleware or dist/middleware, two levels up. */
const PACKAGE_ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');

/**
 * What a module imports and is not installed, in one line. A .ts module outside an ES package is compiled to
 * CommonJS, whose error runs on with a 'Require stack:' of tsx's internal names (mw.ts?namespace=…); and
 * 'tapline/middleware' (the README's example imports it) resolves only where tapline is installed.
 */
function missingImport(err: unknown, path: string): string {
  const text = describeError(err);
  const name = /^Cannot find (?:module|package) '([^']+)'/.exec((err as Error | undefined)?.message ?? '')?.[1];
  if (name === undefined) return text;
  if (name === 'tapline' || name.startsWith('tapline/')) {
    return (
      `it imports '${name}', which is not installed where the module is: install tapline there ` +
      `(npm install ${PACKAGE_ROOT}), or leave the import out (defineMiddleware only gives the function its types)`
    );
  }
  return text.includes('\nRequire stack:') ? `Cannot find module '${name}' imported from ${resolve(path)}` : text;
}

/**
 * Imports a TypeScript file through tsx's scoped loader, whether or not tsx is registered (the test runner's
 * `--import tsx`) and whatever the module kind of the file's directory. Not by registering tsx and importing
 * the URL: after a plain import had failed (ERR_UNKNOWN_FILE_EXTENSION), a .ts file in a directory without
 * "type": "module" (a CommonJS project, /tmp) then failed inside Node ('Cannot require() ES Module … not yet
 * fully loaded … a bug in Node.js', ERR_INTERNAL_ASSERTION).
 */
async function importTypeScript(url: string, path: string): Promise<{ default?: unknown }> {
  let tsImport: ((specifier: string, parent: string) => Promise<unknown>) | undefined;
  try {
    ({ tsImport } = (await import('tsx/esm/api')) as { tsImport: typeof tsImport });
  } catch {
    throw new TaplineError(
      ERROR_CODES.MIDDLEWARE,
      `cannot load ${path}: TypeScript modules need tsx (npm install tsx) or compile it to .js`,
      { where: '--middleware-module' },
    );
  }
  return (await tsImport!(url, import.meta.url)) as { default?: unknown };
}

export class ModuleMiddleware {
  readonly counters: ModuleCounters = { in: 0, out: 0, dropped: 0, added: 0, correlations_expired: 0, not_taken: 0 };
  private readonly correlator = new Correlator();
  readonly context: MiddlewareContext;

  /**
   * `timeoutMs` (--middleware-timeout): how long a promise it returns may stay unsettled. Without a bound, one
   * that never settles held every later message for ever; with nothing else pending (a file input), Node
   * exited with status 13 and not a word, the outputs unflushed.
   */
  constructor(
    readonly name: string,
    private readonly fn: MiddlewareFunction,
    log: Logger,
    private readonly timeoutMs = 30_000,
    /** The module's file URL: a throw's message names the line of the module it came from. */
    private readonly moduleUrl?: string,
  ) {
    const correlator = this.correlator;
    this.context = {
      log,
      correlate: (request, cb) =>
        correlator.correlate(typeof request === 'string' ? request : request.meta.id, (o, r) => cb(wrap(o), wrap(r))),
      on: (kind, id, cb) => correlator.once(kind === 'response' ? '2' : '3', id, (m) => cb(wrap(m))),
      message: (data, meta) =>
        new HttpMessage({
          meta: makeMeta({
            type: REQUEST,
            id: randomId(),
            timestampNs: nowNs(),
            latencyNs: -1n,
            ...(meta && checkMetaChange(meta)),
          }),
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
    const notTaken = c.not_taken > 0 ? `; ${c.not_taken} not taken: the run stopped` : '';
    return `  ${this.name}: ${c.in} in, ${c.out} out (${c.dropped} dropped, ${c.added} added)${notTaken}`;
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
          if (result != null && typeof (result as Promise<unknown>).then === 'function')
            result = await this.settled(result as PromiseLike<unknown>, msg);
        } catch (err) {
          // What came before the failing message still goes on (then the pipeline flushes and stops); what came
          // after it in the batch is counted, not silently dropped.
          c.not_taken += batch.length - i - 1;
          if (out.length > 0) yield out;
          if (err instanceof TaplineError) throw err;
          throw new TaplineError(
            ERROR_CODES.MIDDLEWARE,
            `${this.name} threw on message ${msg.meta.id} (type ${msg.meta.type}): ${describeThrown(err, this.moduleUrl)}; the run stops`,
            { where: '--middleware-module', cause: err },
          );
        }
        try {
          this.emit(result, out, msg, false);
        } catch (err) {
          c.not_taken += batch.length - i - 1;
          if (out.length > 0) yield out;
          throw err;
        }
      }
      if (out.length > 0) yield out;
    }
  }

  /**
   * The value of a promise it returned, or a failure once it has stayed unsettled for timeoutMs. The timer is
   * what keeps Node running meanwhile: without it, a promise nothing will ever settle let Node exit (13).
   */
  private settled(result: PromiseLike<unknown>, msg: Message): Promise<unknown> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new TaplineError(
            ERROR_CODES.MIDDLEWARE,
            `${this.name} returned a promise for message ${msg.meta.id} (type ${msg.meta.type}) that did not settle ` +
              `in ${this.timeoutMs / 1000}s (--middleware-timeout); the run stops`,
            { where: '--middleware-module' },
          ),
        );
      }, this.timeoutMs);
    });
    return Promise.race([result, timeout]).finally(() => clearTimeout(timer));
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
    // Checked whole before any of it is emitted: a return with a bad item is refused whole, not cut at it.
    const messages = list.map((item) => {
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
      return m;
    });
    for (const m of messages) out.push(m);
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
  return isMeta(m.meta) && Buffer.isBuffer(m.data) ? m : undefined;
}

/**
 * A plain object's meta must be a whole Meta (what makeMeta or a received message has): outputs read its
 * line, type, id and timestamp. Anything less failed later, in an output, with JavaScript's own words
 * ("Cannot read properties of undefined") and the output blamed.
 */
function isMeta(meta: unknown): boolean {
  if (typeof meta !== 'object' || meta === null) return false;
  const m = meta as Record<string, unknown>;
  return (
    typeof m.line === 'string' &&
    !/[\r\n]/.test(m.line) &&
    typeof m.type === 'string' &&
    typeof m.id === 'string' &&
    typeof m.timestampNs === 'bigint'
  );
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'undefined (a missing return?)';
  if (typeof v === 'object' && v !== null) {
    const keys = Object.keys(v).slice(0, 5).join(', ');
    return 'meta' in v && 'data' in v
      ? `an object whose meta or data is not a message's (${keys}; build one with context.message(data, meta))`
      : `an object without meta and data (${keys})`;
  }
  // Not JSON.stringify: it throws on a bigint ('Do not know how to serialize a BigInt', the module unnamed).
  return typeof v === 'string' ? `string ${JSON.stringify(v)}` : `${typeof v} ${inspect(v)}`;
}

/**
 * What a module threw, in words: an Error's message (its name when the message is empty) and, when its stack
 * passes through the module, the module's line (`at mw.mjs:12:7`), so that "Cannot read properties of
 * undefined" points at the user's code; anything else thrown, as inspect shows it ("{ code: 5 }", not
 * "[object Object]").
 */
export function describeThrown(err: unknown, moduleUrl?: string): string {
  if (!(err instanceof Error))
    return `${inspect(err, { depth: 2, breakLength: Number.POSITIVE_INFINITY })} (thrown, not an Error)`;
  const text = describeError(err) || err.name;
  if (!moduleUrl || typeof err.stack !== 'string') return text;
  // A file URL, or a plain path when the module went through a loader with source maps (tsx).
  const path = fileURLToPath(moduleUrl);
  const frame = err.stack.split('\n').find((l) => l.includes(moduleUrl) || l.includes(`(${path}:`));
  const at = frame?.match(/:(\d+):(\d+)\)?\s*$/);
  return at ? `${text} (at ${basename(path)}:${at[1]}:${at[2]})` : text;
}
