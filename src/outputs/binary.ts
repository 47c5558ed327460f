/**
 * `--output-binary host:port`: replays raw TCP payloads (from `--input-raw-protocol binary`, or any source of
 * type-1 messages) to a target, one replayed connection per original connection, turns in their original
 * order. With `--output-binary-track-response` each turn's reply becomes a type-3 message with the turn's id.
 *
 *   write(turn) ─ key = id[0:16] (client port, server port, client address) ─▶ session[key] ─▶ target
 *        │ a new key with `workers` sessions open: the least recently used idle session is closed;
 *        │ none idle, or more than QUEUE_LIMIT turns queued overall: the returned promise waits (backpressure)
 *   sessions idle for IDLE_CLOSE_MS are closed (the original connection's end is not in the capture)
 *   responses ◀── Channel of type-3 (read by the pipeline as input; capped, overflow counted)
 *
 * The session (binary-session.ts) owns the connection and the reply gathering.
 */
import { Channel } from '../core/async.js';
import { ERROR_CODES, TaplineError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { type Message, makeMeta, REPLAYED_RESPONSE, REQUEST } from '../core/message.js';
import type { Batch, Output } from '../core/plugin.js';
import type { OutputPluginDef } from '../core/registry.js';
import { dialHost, parseHostPort, refuseUnzonedLinkLocal } from '../net/address.js';
import { binaryOutputDecl, DEFAULT_MAX_SESSIONS } from './binary-flags.js';
import { BinarySession, type Reply, type SessionSettings, type Turn, zeroBinaryCounters } from './binary-session.js';

/** gor's default for the binary response buffer (`--output-tcp-response-buffer 0`). */
export const DEFAULT_RESPONSE_BUFFER = 100 * 1024;
/** Turns queued across all sessions before write() waits. */
const QUEUE_LIMIT = 1000;
/** A session with nothing to do for this long is closed (gor PRO reaps idle session workers after 120 s). */
const IDLE_CLOSE_MS = 120_000;
/** Replies kept for the pipeline at most (they are read as fast as the pipeline goes; this is a safety cap). */
const RESPONSE_CAP = 10_000;

export interface BinaryOutputOptions {
  /** Most connections open at once (0: DEFAULT_MAX_SESSIONS). */
  workers?: number;
  /** Dial timeout and reply wait (0: 5 s, gor). */
  timeoutMs?: number;
  trackResponse?: boolean;
  /** A reply ends after this much quiet (default 50 ms). */
  replyGapMs?: number;
  /** Reply bytes kept per turn (0: 100 KiB). */
  responseBuffer?: number;
  debug?: boolean;
  log: Logger;
}

export function binaryOutput(address: string, options: BinaryOutputOptions): Output {
  const addr = parseHostPort(address, 'output-binary');
  refuseUnzonedLinkLocal(addr, 'output-binary');
  if (addr.port === 0) {
    throw new TaplineError(ERROR_CODES.USAGE, `${address}: cannot connect to port 0`, { where: '--output-binary' });
  }
  const name = `output-binary(${address})`;
  const maxSessions = options.workers && options.workers > 0 ? options.workers : DEFAULT_MAX_SESSIONS;
  const counters = {
    ...zeroBinaryCounters(),
    /** Messages that are not requests (responses of the capture): not replayed. */
    not_request_ignored: 0,
    empty_skipped: 0,
    sessions_closed_idle: 0,
    sessions_evicted: 0,
    responses_dropped: 0,
  };
  const sessions = new Map<string, BinarySession>();
  const track = options.trackResponse ?? false;
  const responses = track ? new Channel<Message>(Number.MAX_SAFE_INTEGER) : undefined;
  let idleWaiters: (() => void)[] = [];
  const wakeIdleWaiters = () => {
    for (const w of idleWaiters.splice(0)) w();
  };
  /** Resolves at the next turn a session takes from its queue, or the next session going idle. */
  const waitForProgress = () => new Promise<void>((resolve) => idleWaiters.push(resolve));

  const settings: SessionSettings = {
    name,
    host: dialHost(addr),
    port: addr.port,
    timeoutMs: options.timeoutMs && options.timeoutMs > 0 ? options.timeoutMs : 5000,
    trackResponse: track,
    replyGapMs: options.replyGapMs && options.replyGapMs > 0 ? options.replyGapMs : 50,
    responseBuffer:
      options.responseBuffer && options.responseBuffer > 0 ? options.responseBuffer : DEFAULT_RESPONSE_BUFFER,
    debug: options.debug ?? false,
    log: options.log,
    counters,
    queue: { queued: 0 },
    stop: { now: false },
    onReply(turn: Turn, reply: Reply) {
      if (!responses) return;
      if (responses.length >= RESPONSE_CAP) {
        counters.responses_dropped++;
        return;
      }
      responses.offer({
        meta: makeMeta({
          type: REPLAYED_RESPONSE,
          id: turn.id,
          timestampNs: BigInt(Math.round((performance.timeOrigin + reply.sentAtMs) * 1000)) * 1000n,
          latencyNs: BigInt(Math.round(reply.latencyMs * 1e6)),
        }),
        data: reply.bytes,
      });
    },
    onProgress: wakeIdleWaiters,
  };

  /** Closes the least recently used idle session; false when every session is busy. */
  const evictIdle = (): boolean => {
    let oldest: BinarySession | undefined;
    for (const s of sessions.values()) {
      if (s.idle && (!oldest || s.lastActiveMs < oldest.lastActiveMs)) oldest = s;
    }
    if (!oldest) return false;
    sessions.delete(oldest.key);
    counters.sessions_evicted++;
    void oldest.close(1000);
    return true;
  };

  const reaper = setInterval(() => {
    const cutoff = performance.now() - IDLE_CLOSE_MS;
    for (const s of sessions.values()) {
      if (s.idle && s.lastActiveMs < cutoff) {
        sessions.delete(s.key);
        counters.sessions_closed_idle++;
        void s.close(1000);
      }
    }
  }, 5000);
  reaper.unref();

  const place = (key: string, turn: Turn): void | Promise<void> => {
    let session = sessions.get(key);
    if (!session) {
      if (sessions.size >= maxSessions && !evictIdle()) {
        // Every connection is busy: wait for one to finish its turns, then try again.
        return waitForProgress().then(() => place(key, turn));
      }
      session = new BinarySession(key, settings);
      sessions.set(key, session);
    }
    session.push(turn);
    if (settings.queue.queued > QUEUE_LIMIT) return waitBelowLimit();
  };
  const waitBelowLimit = async (): Promise<void> => {
    while (settings.queue.queued > QUEUE_LIMIT) await waitForProgress();
  };
  const allIdle = async (): Promise<void> => {
    for (;;) {
      if ([...sessions.values()].every((s) => s.idle)) return;
      await waitForProgress();
    }
  };

  const output: Output = {
    name,
    write(msg: Message) {
      if (msg.meta.type !== REQUEST) {
        counters.not_request_ignored++;
        return;
      }
      if (msg.data.length === 0) {
        counters.empty_skipped++;
        return;
      }
      return place(msg.meta.id.slice(0, 16), { id: msg.meta.id, payload: msg.data });
    },
    stopping() {
      // The turns still queued are sent back to back, as untracked: each waited for its reply (up to
      // --output-binary-timeout) before the next, and a SIGINT took that long per queued turn.
      settings.stop.now = true;
      for (const s of sessions.values()) s.endReply();
    },
    async drain() {
      await allIdle();
      responses?.close();
    },
    async close() {
      await allIdle();
      clearInterval(reaper);
      await Promise.all([...sessions.values()].map((s) => s.close(1000)));
      sessions.clear();
      responses?.close();
      idleWaiters = [];
    },
    stats: () => ({ ...counters, sessions_open: sessions.size, queued: settings.queue.queued }),
  };
  if (responses) Object.assign(output, { responses: responses.drain() as AsyncIterable<Batch> });
  return output;
}

export const binaryOutputPlugin: OutputPluginDef = {
  ...binaryOutputDecl,
  create({ address, flags, ctx }) {
    const workers = flags.number('output-binary-workers');
    if (workers < 0) {
      throw new TaplineError(ERROR_CODES.USAGE, `must be ≥ 0, got ${workers}`, { where: '--output-binary-workers' });
    }
    return binaryOutput(address, {
      workers,
      timeoutMs: flags.number('output-binary-timeout'),
      trackResponse: flags.bool('output-binary-track-response'),
      replyGapMs: flags.number('output-binary-reply-gap'),
      responseBuffer: flags.number('output-tcp-response-buffer'),
      debug: flags.bool('output-binary-debug'),
      log: ctx.log,
    });
  },
};
