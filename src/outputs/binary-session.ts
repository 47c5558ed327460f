/**
 * One replayed connection of `--output-binary`: the turns one original TCP connection's client sent
 * (`--input-raw-protocol binary` makes one message per turn), written in order over one connection to the
 * target, and — with track-response — the target's reply to each turn.
 *
 *   push(turn) ─▶ [turns] ─pump─▶ dial (first turn; again after the target closed) ─▶ write ─▶ target
 *                                   tracking: wait for the reply ◀── data (first byte ≤ timeout, then a quiet gap)
 *                                             └─▶ onReply(turn, reply) (a type-3 message)
 *   not tracking: turns go back to back (TCP keeps them in order); replies are read and counted, not kept.
 *
 * A reply has no end marker in an unknown protocol: it is what the target sends after the turn until it has
 * been quiet for `replyGapMs` (the capture side cuts turns the same way: a side's turn ends when the other
 * speaks). Bytes the target sends while no turn waits (a greeting banner) are counted as unpaired.
 */
import type { Socket } from 'node:net';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { drainedOrClosed } from '../net/conduit.js';
import { dialSocket } from '../net/dial.js';
import { TurnAcks } from './binary-acks.js';

export interface Turn {
  /** The request's id (its type-3 reply gets the same). */
  readonly id: string;
  readonly payload: Buffer;
}

export interface Reply {
  /** Reply bytes, at most responseBuffer of them. */
  readonly bytes: Buffer;
  /** The reply was longer than responseBuffer. */
  readonly truncated: boolean;
  /** performance.now() when the turn was written. */
  readonly sentAtMs: number;
  /** From writing the turn to the last reply byte. */
  readonly latencyMs: number;
}

export interface BinaryCounters {
  /** Turns the kernel took in full (a turn still in Node's buffer when its connection ends is not sent). */
  sent: number;
  sent_bytes: number;
  /** Bytes the target sent back (all of them, kept or not). */
  reply_bytes: number;
  /** Tracking: turns the target answered within the timeout (each became a type-3 message). */
  replies: number;
  /** Tracking: turns the target did not answer within --output-binary-timeout. */
  no_reply: number;
  /** Tracking: replies cut to --output-tcp-response-buffer. */
  replies_truncated: number;
  /**
   * Tracking: replies still coming --output-binary-timeout after their turn was written (never quiet for the
   * reply gap: a target that streams): ended there, so the connection's next turn goes.
   */
  replies_cut: number;
  /**
   * Tracking: turns written after the run began to stop, without waiting for their replies (no type-3 message):
   * each waited for its reply in turn, up to --output-binary-timeout, so a stop took 5 s per queued turn.
   */
  not_tracked_at_stop: number;
  /** Tracking: bytes the target sent while no turn was waiting for a reply (a banner, a late reply). */
  unpaired_reply_bytes: number;
  /**
   * Turns never delivered: the target could not be reached, or the connection ended before the kernel took
   * the whole turn (each failure is warned with its reason).
   */
  failed: number;
  /** Turns still in Node's buffer when tapline closed their connection (end of run, eviction, idle reaping). */
  lost_at_close: number;
  /**
   * Turns the kernel took (counted in `sent`) whose end the target's TCP had not acknowledged when their
   * connection ended in an error (a reset): lost, or possibly lost (binary-acks.ts). Counted only where TCP_INFO
   * can be read (Linux, the tapline_net addon); 0 elsewhere. With tracking such a turn is also a `no_reply`.
   */
  not_acknowledged: number;
  connections_opened: number;
  /** The target closed a replayed connection while the original one was still going (the next turn redials). */
  target_closed: number;
  /** Connections dropped because the target read nothing for --output-binary-timeout while a turn waited. */
  write_timeouts: number;
}

export function zeroBinaryCounters(): BinaryCounters {
  return {
    sent: 0,
    sent_bytes: 0,
    reply_bytes: 0,
    replies: 0,
    no_reply: 0,
    replies_truncated: 0,
    replies_cut: 0,
    not_tracked_at_stop: 0,
    unpaired_reply_bytes: 0,
    failed: 0,
    lost_at_close: 0,
    not_acknowledged: 0,
    connections_opened: 0,
    target_closed: 0,
    write_timeouts: 0,
  };
}

export interface SessionSettings {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** Dial timeout, how long a tracked turn waits for the first reply byte, and the longest a reply goes on. */
  readonly timeoutMs: number;
  readonly trackResponse: boolean;
  /** Tracking: the reply ends after this much quiet. */
  readonly replyGapMs: number;
  /** Tracking: reply bytes kept per turn. */
  readonly responseBuffer: number;
  readonly debug: boolean;
  readonly log: Logger;
  readonly counters: BinaryCounters;
  /** Turns queued across every session (kept by the sessions, read by the output for backpressure). */
  readonly queue: { queued: number };
  /** Set when the run begins to stop: turns no longer wait for their replies. */
  readonly stop: { now: boolean };
  onReply(turn: Turn, reply: Reply): void;
  /** Called when the session takes a turn from its queue, and when it has nothing left to do. */
  onProgress(): void;
}

export class BinarySession {
  private turns: Turn[] = [];
  private head = 0;
  private socket: Socket | undefined;
  private pumping = false;
  private closing = false;
  /** performance.now() of the last activity, for reaping and least-recently-used eviction. */
  lastActiveMs = performance.now();
  /** The reply being gathered for the turn in flight (tracking only). */
  private gathering: { parts: Buffer[]; kept: number; seen: number; onData: () => void } | undefined;
  private onGone: (() => void) | undefined;
  /** The connection this session dropped itself (write timeout): its close is not the target's doing. */
  private dropped: Socket | undefined;
  /** The connection close() ended: turns it had not sent are lost at close, not failed. */
  private closed: Socket | undefined;
  /** Per connection, what the target's TCP acknowledged of its turns (where it can be known). */
  private readonly acks = new WeakMap<Socket, TurnAcks>();
  /** Connections whose 'close' has not come yet (close() waits for those already destroyed: their count). */
  private readonly open = new Set<Socket>();

  constructor(
    /** The original connection (client port, server port, client address from the message id). */
    readonly key: string,
    private readonly s: SessionSettings,
  ) {}

  get queued(): number {
    return this.turns.length - this.head;
  }

  /** Nothing queued, nothing in flight. */
  get idle(): boolean {
    return !this.pumping && this.queued === 0;
  }

  push(turn: Turn): void {
    this.turns.push(turn);
    this.s.queue.queued++;
    this.lastActiveMs = performance.now();
    if (!this.pumping) {
      this.pumping = true;
      void this.pump();
    }
  }

  /** Ends the replayed connection (FIN), after `graceMs` at most; queued turns are not written. */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    this.dropQueued();
    const socket = this.socket;
    if (socket && !socket.destroyed) {
      this.closed = socket;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => socket.destroy(), graceMs);
        socket.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        socket.end();
      });
    }
    // A connection destroyed by a reset emits 'close' a turn of the event loop later; its not_acknowledged
    // count comes then, and the summary must have it.
    const ending = [...this.open].filter((s) => s.destroyed);
    await Promise.all(ending.map((s) => new Promise((resolve) => s.once('close', resolve))));
  }

  private async pump(): Promise<void> {
    try {
      while (this.queued > 0 && !this.closing) {
        let socket = this.socket;
        // A connection that ended (its close event may still be on its way) is not written to: redial.
        if (socket && !socket.writable) socket = this.socket = undefined;
        if (!socket) {
          try {
            socket = await this.connect();
          } catch (err) {
            const n = this.queued;
            this.s.counters.failed += n;
            this.dropQueued();
            this.s.log.warn(
              `${this.s.name}: cannot connect (${describeError(err)}): ${n} turn(s) of connection ${this.key} not replayed (counted as failed)`,
              `${this.s.name} connect`,
            );
            break;
          }
        }
        const turn = this.turns[this.head]!;
        this.turns[this.head++] = EMPTY_TURN;
        this.s.queue.queued--;
        this.s.onProgress();
        if (this.head > 1024 && this.head * 2 > this.turns.length) {
          this.turns = this.turns.slice(this.head);
          this.head = 0;
        }
        await this.replay(socket, turn);
      }
    } finally {
      this.pumping = false;
      this.lastActiveMs = performance.now();
      // The loop ends synchronously after seeing an empty queue, so no push() can slip in unseen here.
      this.s.onProgress();
    }
  }

  private async replay(socket: Socket, turn: Turn): Promise<void> {
    const { counters, debug, log, name } = this.s;
    const sentAtMs = performance.now();
    const reply = this.s.trackResponse && !this.s.stop.now ? this.gatherReply() : undefined;
    if (this.s.trackResponse && this.s.stop.now) counters.not_tracked_at_stop++;
    if (debug) log.write(`[DEBUG] ${name}: ${this.key}: sent ${turn.payload.length} bytes ${preview(turn.payload)}`);
    // Sent once the kernel has taken all of it: a turn still in Node's buffer when the connection ends is lost.
    const written = socket.write(turn.payload, (err) => this.onWritten(socket, turn, err));
    if (!written) await this.drainedWithin(socket);
    if (!reply) return;
    const got = await reply;
    if (got.seen === 0) {
      counters.no_reply++;
      if (debug) log.write(`[DEBUG] ${name}: ${this.key}: no reply within ${this.s.timeoutMs}ms`);
      return;
    }
    const bytes = Buffer.concat(got.parts, got.kept);
    const truncated = got.seen > got.kept;
    counters.replies++;
    if (truncated) counters.replies_truncated++;
    if (got.cut) {
      // A target that streams is never quiet for the gap: the connection waited for ever (its later turns
      // never sent, the run never ended, a SIGINT not taken).
      counters.replies_cut++;
      log.warn(
        `${name}: ${this.key}: a reply was still coming ${this.s.timeoutMs}ms after its turn was written (never ` +
          `quiet for ${this.s.replyGapMs}ms): it ends there and the next turn is sent; what the target sends ` +
          'later counts toward the next reply (counted in replies_cut; a longer --output-binary-timeout lets ' +
          'long replies finish)',
        `${name} reply cut`,
      );
    }
    const latencyMs = got.lastAtMs - sentAtMs;
    if (debug) {
      log.write(`[DEBUG] ${name}: ${this.key}: reply ${got.seen} bytes in ${latencyMs.toFixed(1)}ms ${preview(bytes)}`);
    }
    this.s.onReply(turn, { bytes, truncated, sentAtMs, latencyMs });
  }

  private onWritten(socket: Socket, turn: Turn, err: Error | null | undefined): void {
    const { counters, log, name } = this.s;
    // Node calls back a write the kernel had not finished taking with no error when the socket was destroyed
    // under it (libuv cancels it): a callback after the destroy is a turn that did not get out whole.
    if (!err && !socket.destroyed) {
      counters.sent++;
      counters.sent_bytes += turn.payload.length;
      this.acks.get(socket)?.sent(turn.payload);
      return;
    }
    // tapline closed the connection (end of run, an evicted or idle session), or it ended under the turn (the
    // target closed it, or it was dropped for reading nothing).
    const atClose = this.closed === socket;
    if (atClose) counters.lost_at_close++;
    else counters.failed++;
    log.warn(
      `${name}: ${this.key}: a turn of ${turn.payload.length} bytes was not delivered: the connection was ${atClose ? 'closed by tapline' : 'dropped'} before the target took it all (counted as ${atClose ? 'lost_at_close' : 'failed'})`,
      `${name} undelivered`,
    );
  }

  /**
   * Waits for the socket to take the turn. A target that reads nothing for timeoutMs (it may read slowly: only
   * no progress at all counts) loses the connection, so a stuck target never hangs the run.
   */
  private async drainedWithin(socket: Socket): Promise<void> {
    // Progress: what is still queued in Node and in libuv (writeQueueSize: the bytes of a large write the kernel
    // has not taken yet; internal, read only when present).
    const backlog = () =>
      socket.writableLength +
      ((socket as unknown as { _handle?: { writeQueueSize?: number } })._handle?.writeQueueSize ?? 0);
    let left = backlog();
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const tick = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), this.s.timeoutMs);
      });
      const drained = await Promise.race([drainedOrClosed(socket).then(() => true), tick]);
      clearTimeout(timer);
      if (drained) return;
      if (backlog() < left) {
        left = backlog();
        continue;
      }
      this.s.counters.write_timeouts++;
      this.s.log.warn(
        `${this.s.name}: ${this.key}: the target read nothing for ${this.s.timeoutMs}ms; connection dropped (counted as write_timeouts)`,
        `${this.s.name} stalled`,
      );
      this.dropped = socket;
      this.socket = undefined; // the next turn redials
      socket.destroy();
      return;
    }
  }

  /** The run is stopping: the reply being gathered ends with what came (its turn's next ones do not wait). */
  endReply(): void {
    this.onGone?.();
  }

  /**
   * Starts gathering the reply to the turn about to be written; resolves when it is over: quiet for the reply
   * gap, no first byte within the timeout, or still coming when the timeout has passed (`cut`).
   */
  private gatherReply(): Promise<{ parts: Buffer[]; kept: number; seen: number; lastAtMs: number; cut: boolean }> {
    return new Promise((resolve) => {
      const parts: Buffer[] = [];
      let lastAtMs = 0;
      let quiet: NodeJS.Timeout | undefined;
      const state = {
        parts,
        kept: 0,
        seen: 0,
        onData: () => {
          lastAtMs = performance.now();
          clearTimeout(quiet);
          quiet = setTimeout(() => finish(false), this.s.replyGapMs);
        },
      };
      const finish = (cut: boolean) => {
        clearTimeout(deadline);
        clearTimeout(quiet);
        this.gathering = undefined;
        this.onGone = undefined;
        resolve({ parts, kept: state.kept, seen: state.seen, lastAtMs, cut });
      };
      const deadline = setTimeout(() => finish(state.seen > 0), this.s.timeoutMs);
      this.gathering = state;
      this.onGone = () => finish(false);
    });
  }

  private async connect(): Promise<Socket> {
    const socket = await dialSocket({ host: this.s.host, port: this.s.port, timeoutMs: this.s.timeoutMs });
    this.s.counters.connections_opened++;
    if (this.s.debug) this.s.log.write(`[DEBUG] ${this.s.name}: ${this.key}: connected from port ${socket.localPort}`);
    const acks = TurnAcks.watch(socket); // before anything is written on it
    if (acks) this.acks.set(socket, acks);
    this.open.add(socket);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => {
      acks?.errored();
      if (!this.closing) this.s.log.debug(1, `${this.s.name}: ${this.key}: ${err.message}`);
    });
    socket.on('close', () => {
      this.open.delete(socket);
      this.countUnacknowledged(acks?.settle() ?? 0);
      if (this.socket === socket) this.socket = undefined;
      if (!this.closing && this.dropped !== socket) {
        this.s.counters.target_closed++;
        this.s.log.debug(1, `${this.s.name}: ${this.key}: the target closed the connection`);
      }
      this.onGone?.();
    });
    this.socket = socket;
    return socket;
  }

  private countUnacknowledged(turns: number): void {
    if (turns === 0) return;
    this.s.counters.not_acknowledged += turns;
    this.s.log.warn(
      `${this.s.name}: ${this.key}: ${turns} turn(s) the kernel took were never acknowledged by the target before the connection ended in an error: lost, or possibly lost (counted as not_acknowledged)`,
      `${this.s.name} not acknowledged`,
    );
  }

  private onData(chunk: Buffer): void {
    this.s.counters.reply_bytes += chunk.length;
    const g = this.gathering;
    if (!g) {
      if (this.s.trackResponse) this.s.counters.unpaired_reply_bytes += chunk.length;
      return;
    }
    g.seen += chunk.length;
    const room = this.s.responseBuffer - g.kept;
    if (room > 0) {
      // A copy: the socket may reuse its buffer.
      const keep = Buffer.from(chunk.length > room ? chunk.subarray(0, room) : chunk);
      g.parts.push(keep);
      g.kept += keep.length;
    }
    g.onData();
  }

  private dropQueued(): void {
    this.s.queue.queued -= this.queued;
    this.turns = [];
    this.head = 0;
  }
}

const EMPTY_TURN: Turn = { id: '', payload: Buffer.alloc(0) };

/** The first bytes of a payload as hex, for --output-binary-debug. */
function preview(bytes: Buffer): string {
  const head = bytes.subarray(0, 32).toString('hex');
  return bytes.length > 32 ? `${head}…` : head;
}
