/**
 * One worker of `--output-tcp` / `--output-ws`: a persistent connection to the peer and the queue in front of
 * it. The connection is redialed with backoff whenever it is lost; while the peer is away, messages wait in
 * the queue (bounded), and those that do not fit are dropped and counted, so a capture never stalls on a
 * missing aggregator.
 *
 *   enqueue(frame) ─▶ [queue, ≤ queueLimit] ─pump─▶ Conduit (socket) ─▶ peer
 *        │ full + connected: the returned promise waits for room (backpressure reaches the input)
 *        │ full + peer away: dropped, counted (dropped_while_away)
 *   run(): dial ─ok─▶ pump until the connection is gone ─▶ dial again after backoff ─▶ …
 *
 * Bytes handed to the kernel just before the peer vanished are lost with it (there is no acknowledgement in
 * gor's framing; gor has the same limit, and counts them as sent). Where TCP_INFO can be read (src/net/tcp-ack.ts)
 * each connection remembers the sizes of the frames written on it, and when it ends, the frames whose end the
 * peer's TCP never acknowledged are counted as not_acknowledged (they stay in `sent`: the kernel took them).
 */
import { sleep } from '../core/async.js';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { Backoff } from './backoff.js';
import type { Conduit } from './conduit.js';
import { FramesOnWire } from './tcp-ack.js';

export type Dialer = () => Promise<Conduit>;

export interface LinkCounters {
  /** Messages handed to the socket. */
  sent: number;
  /** Bytes handed to the socket. */
  sent_bytes: number;
  /** Messages dropped because the queue was full while the peer was away. */
  dropped_while_away: number;
  /** Messages still queued (or written but not taken by the kernel) when the output closed. */
  lost_at_close: number;
  /** Messages written to a connection that ended before the kernel took them, sent again on the next one. */
  resent: number;
  /**
   * Messages the kernel took (counted in `sent`) whose end the peer's TCP had not acknowledged when their
   * connection ended in an error (a reset; a peer closing with unread data resets): lost, or possibly lost.
   * Counted only where TCP_INFO can be read (Linux, the tapline_net addon, not TLS); 0 elsewhere.
   */
  not_acknowledged: number;
  connects: number;
  disconnects: number;
  dial_failures: number;
}

export function zeroLinkCounters(): LinkCounters {
  return {
    sent: 0,
    sent_bytes: 0,
    dropped_while_away: 0,
    lost_at_close: 0,
    resent: 0,
    not_acknowledged: 0,
    connects: 0,
    disconnects: 0,
    dial_failures: 0,
  };
}

/** What the links of one output have said: a failure they share is said once, by the first link it hits. */
export class SiblingNotices {
  private readonly said = new Set<string>();

  constructor(readonly links: number) {}

  /** True the first time `what` comes from any link. */
  first(what: string): boolean {
    if (this.said.has(what)) return false;
    this.said.add(what);
    return true;
  }
}

/** At most this much goes to the socket in one write. */
const WRITE_BATCH_BYTES = 256 * 1024;

export class ForwardLink {
  readonly counters: LinkCounters = zeroLinkCounters();
  private queue: Buffer[] = [];
  private head = 0;
  private conduit: Conduit | undefined;
  private stopping = false;
  private readonly stop = new AbortController();
  private wakePump: (() => void) | undefined;
  private roomWaiters: (() => void)[] = [];
  private emptyWaiters: (() => void)[] = [];
  private readonly backoff = new Backoff();
  private running: Promise<void> | undefined;
  /** The run is stopping: enqueue() no longer waits for room (what was read still comes; close() bounds it). */
  private released = false;
  /** Frames written since the conduit's buffer was last empty: those it may give back as `abandoned`. */
  private unflushed: Buffer[] = [];
  /** Whether the last connection was up when close() began (to say why messages were not sent). */
  private upAtClose = false;
  /** Why the last dial failed, while no connection is up (said when messages are left at close). */
  private lastDialFailure: string | undefined;
  /** Sizes of the frames written on the current connection not yet known acknowledged (when it can be known). */
  private onWire: FramesOnWire | undefined;
  /** Connections ended whose final acknowledged figure is still to come (close() waits for them). */
  private readonly settling = new Set<Promise<void>>();

  constructor(
    private readonly name: string,
    private readonly dial: Dialer,
    private readonly queueLimit: number,
    private readonly log: Logger,
    /** Shared by the links of one output (forwarder.ts). */
    private readonly siblings: SiblingNotices = new SiblingNotices(1),
  ) {}

  get queued(): number {
    return this.queue.length - this.head;
  }

  get connected(): boolean {
    return this.conduit !== undefined;
  }

  start(): void {
    this.running ??= this.run();
  }

  /** Queues one message's bytes. A promise means "full, wait" (only while connected). */
  enqueue(frame: Buffer): void | Promise<void> {
    if (this.stopping) {
      this.counters.lost_at_close++;
      return;
    }
    if (this.queued >= this.queueLimit && !this.conduit) {
      this.counters.dropped_while_away++;
      this.log.warn(
        `${this.name}: peer away and ${this.queueLimit} messages already buffered: message dropped (counted as dropped_while_away)`,
        `${this.name} dropped`,
      );
      return;
    }
    this.queue.push(frame);
    this.wakePump?.();
    if (this.queued > this.queueLimit && !this.released) {
      return new Promise((resolve) => this.roomWaiters.push(resolve));
    }
  }

  /**
   * The run is stopping: writers waiting for room go on, and none waits again. A peer that reads nothing would
   * otherwise hold the pipeline before close(), for ever; close() gives what is queued a bounded time.
   */
  release(): void {
    this.released = true;
    this.freeRoom(true);
  }

  /** Resolves when everything queued has been handed to the kernel and sent, or after `timeoutMs`. */
  async flush(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && (this.queued > 0 || (this.conduit?.pending ?? 0) > 0)) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(50, Math.max(1, deadline - Date.now())));
        this.emptyWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /**
   * Stops redialing, sends what the open connection can still take (FIN after it), counts the rest. Returns
   * what it could not send and why, for the output to say once for all its links (forwarder.ts).
   */
  async close(graceMs: number): Promise<{ lost: number; why: string } | undefined> {
    this.stopping = true;
    this.stop.abort();
    this.wakePump?.();
    const conduit = this.conduit;
    this.upAtClose = conduit !== undefined;
    if (conduit) await conduit.end(graceMs);
    await this.running;
    await Promise.all(this.settling);
    const lost = this.queued;
    this.counters.lost_at_close += lost;
    const why = this.upAtClose
      ? `the peer took nothing more within ${graceMs}ms of the end (connected, but not reading)`
      : this.lastDialFailure
        ? `no connection when the output closed (the last attempt: ${this.lastDialFailure})`
        : 'the peer was away when the output closed';
    this.queue = [];
    this.head = 0;
    this.freeRoom(true);
    return lost > 0 ? { lost, why } : undefined;
  }

  private async run(): Promise<void> {
    let everUp = false;
    while (!this.stopping) {
      let conduit: Conduit;
      try {
        conduit = await this.dial();
      } catch (err) {
        this.counters.dial_failures++;
        this.lastDialFailure = describeError(err);
        const delay = this.backoff.next();
        const text = `${this.name}: cannot connect (${this.lastDialFailure}); retrying in ${delay}ms, buffering up to ${this.queueLimit} messages`;
        // Said at a link's first failure, unless a sibling link already said the same (10 links to a target
        // that is down said the same line 10 times).
        if (this.backoff.failures === 1 && this.siblings.first(this.lastDialFailure)) {
          const others =
            this.siblings.links > 1
              ? ` (the same failure on its other ${this.siblings.links - 1} connections is not repeated)`
              : '';
          this.log.warn(`${text}${others}`, `${this.name} dial`);
        } else this.log.debug(1, text);
        await sleep(delay, this.stop.signal);
        continue;
      }
      if (this.stopping) {
        conduit.destroy();
        break;
      }
      this.conduit = conduit;
      this.lastDialFailure = undefined;
      this.counters.connects++;
      this.backoff.reset();
      if (everUp) this.log.info(`${this.name}: reconnected`);
      else this.log.debug(2, `${this.name}: connected`);
      everUp = true;
      this.onWire = conduit.acknowledged() === undefined ? undefined : new FramesOnWire();
      const reason = await this.pump(conduit);
      this.conduit = undefined;
      if (this.stopping) await conduit.closed; // close() is ending it; what it gave up is known then
      const back = this.takeBack(conduit.abandoned);
      if (this.stopping) {
        this.settleAcks(conduit, back);
        break;
      }
      this.counters.disconnects++;
      this.log.warn(
        `${this.name}: connection lost (${reason ?? 'closed'}); reconnecting, buffering up to ${this.queueLimit} messages`,
        `${this.name} lost`,
      );
      this.settleAcks(conduit, back); // said after the loss it follows from
      this.freeRoom(true); // writers waiting for room now see the peer away: their messages are buffered or dropped
    }
  }

  /** Writes the queue to `conduit` until the connection is gone (returns its reason) or the link stops. */
  private async pump(conduit: Conduit): Promise<string | undefined> {
    let gone = false;
    let reason: string | undefined;
    void conduit.closed.then((r) => {
      gone = true;
      reason = r;
      this.wakePump?.();
    });
    for (;;) {
      if (gone) return reason;
      if (this.stopping) return undefined;
      // Closing already (the peer ended it): what is queued waits for the next connection instead of being
      // written to one that would lose it. `closed` settles at once or soon after (a close frame, a FIN).
      if (!conduit.open) return await conduit.closed;
      if (this.queued === 0) {
        if (conduit.pending === 0) this.notifyEmpty();
        await new Promise<void>((resolve) => {
          this.wakePump = resolve;
          if (gone || this.stopping || this.queued > 0) resolve();
        });
        this.wakePump = undefined;
        continue;
      }
      if (conduit.pending === 0) this.unflushed = [];
      const parts: Buffer[] = [];
      let bytes = 0;
      while (this.queued > 0 && bytes < WRITE_BATCH_BYTES) {
        const frame = this.queue[this.head]!;
        this.queue[this.head++] = EMPTY;
        parts.push(frame);
        bytes += frame.length;
      }
      if (this.head > 4096 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      this.counters.sent += parts.length;
      this.counters.sent_bytes += bytes;
      for (const p of parts) this.unflushed.push(p);
      this.onWire?.add(parts, () => conduit.acknowledged());
      const ok = conduit.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts, bytes));
      this.freeRoom(false);
      if (!ok) await conduit.drained();
    }
  }

  /**
   * Puts back at the head of the queue the frames whose bytes the ended connection never handed to the kernel
   * (`abandoned`, the tail of what was written): they go on the next connection, or count as lost at close. A
   * frame only partly handed over goes again whole: the peer drops the cut one (a record without its end).
   */
  private takeBack(abandoned: number): number {
    const written = this.unflushed;
    this.unflushed = [];
    if (abandoned <= 0) return 0;
    let bytes = 0;
    let from = written.length;
    while (from > 0 && bytes < abandoned) bytes += written[--from]!.length;
    const back = written.slice(from);
    if (back.length === 0) return 0;
    this.counters.sent -= back.length;
    this.counters.sent_bytes -= bytes;
    if (!this.stopping) this.counters.resent += back.length;
    this.queue = [...back, ...this.queue.slice(this.head)];
    this.head = 0;
    return back.length;
  }

  /**
   * Once the ended connection's final acknowledged figure is known, counts the frames it kept (all written on
   * it but the `takenBack` tail) whose end the peer never acknowledged.
   */
  private settleAcks(conduit: Conduit, takenBack: number): void {
    const frames = this.onWire;
    this.onWire = undefined;
    if (!frames) return;
    frames.dropLast(takenBack);
    const settled = conduit.delivered.then((acked) => {
      this.settling.delete(settled);
      const lost = frames.beyond(acked);
      if (lost === 0) return;
      this.counters.not_acknowledged += lost;
      this.log.warn(
        `${this.name}: ${lost} message(s) the kernel took were never acknowledged by the peer before the connection ended: lost, or possibly lost (counted as not_acknowledged)`,
        `${this.name} not acknowledged`,
      );
    });
    this.settling.add(settled);
  }

  private freeRoom(all: boolean): void {
    if (this.roomWaiters.length === 0) return;
    if (!all && this.queued > this.queueLimit) return;
    for (const w of this.roomWaiters.splice(0)) w();
  }

  private notifyEmpty(): void {
    for (const w of this.emptyWaiters.splice(0)) w();
  }
}

const EMPTY = Buffer.alloc(0);
