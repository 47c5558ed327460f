/**
 * A `Conduit` is one open connection as a forwarding link sees it: write frames, wait for the kernel buffer to
 * drain, learn when the connection is gone. `socketConduit` adapts a TCP or TLS socket; the WebSocket dialer
 * wraps frames before handing them to one.
 */
import type { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { WriteLedger, watchAcks } from './tcp-ack.js';

export interface Conduit {
  /** Writes bytes; false when the socket's buffer is full (wait with `drained()`). */
  write(bytes: Buffer): boolean;
  /** Resolves when the buffer has drained or the connection is gone. */
  drained(): Promise<void>;
  /** Bytes accepted by write() that the kernel has not taken yet. */
  readonly pending: number;
  /**
   * False once the connection is closing or gone (the peer ended it, a WebSocket close frame came): bytes
   * written now would be lost, so the link stops writing at once rather than when `closed` is seen.
   */
  readonly open: boolean;
  /**
   * Bytes written that never reached the kernel because the connection ended first (an error, or end() giving
   * up on a peer that read nothing); known once `closed` has settled. Never more than the truth: a byte counted
   * here was not sent, so writing it again on another connection cannot duplicate a record.
   */
  readonly abandoned: number;
  /** Resolves once, when the connection is gone: with the reason, or undefined for an orderly close. */
  readonly closed: Promise<string | undefined>;
  /**
   * Of the bytes given to write(), in order, how many the peer's TCP has acknowledged so far (TCP_INFO,
   * src/net/tcp-ack.ts); undefined where that cannot be read (no tapline_net addon, TLS, not Linux).
   */
  acknowledged(): number | undefined;
  /**
   * The same figure, final, for a connection that ended by an error (a reset: the kernel dropped what the peer
   * had not acknowledged); undefined after an orderly end, where the kernel goes on delivering. Resolves when
   * the socket has closed (for a WebSocket, possibly after `closed`). Bytes beyond it that the kernel took
   * (less `abandoned`) never reached the peer's TCP.
   */
  readonly delivered: Promise<number | undefined>;
  /** Ends gracefully: what was written is sent, then FIN. Resolves when closed (or after `graceMs`). */
  end(graceMs: number): Promise<void>;
  destroy(): void;
}

export function socketConduit(socket: Socket): Conduit {
  let reason: string | undefined;
  let gone = false;
  let abandoned = 0;
  /** Ended by an error (a reset): the kernel dropped what the peer had not acknowledged. */
  let failed = false;
  const watch = watchAcks(socket);
  const ledger = watch ? new WriteLedger(socket, watch) : undefined;
  let settleDelivered: (bytes: number | undefined) => void = () => undefined;
  const delivered = new Promise<number | undefined>((resolve) => {
    settleDelivered = resolve;
  });
  const giveUp = () => {
    abandoned = Math.max(abandoned, unsentBytes(socket));
    socket.destroy();
  };
  const closed = new Promise<string | undefined>((resolve) => {
    socket.on('error', (err: NodeJS.ErrnoException) => {
      failed = true;
      abandoned = Math.max(abandoned, unsentBytes(socket));
      reason ??= err.code ? `${err.message}` : err.message;
    });
    socket.on('end', () => {
      reason ??= 'the peer closed the connection';
    });
    socket.on('close', () => {
      gone = true;
      // After an orderly end (the peer's FIN, or end() given up on) the kernel goes on delivering what it holds
      // after the descriptor closes (a peer that reads later gets it): not lost, so only a failure counts.
      const acked = watch && ledger ? ledger.mine(watch.release()) : undefined;
      settleDelivered(failed ? acked : undefined);
      resolve(reason);
    });
  });
  // Data from the peer is not expected on a forwarding link; read it so the socket never stalls on it.
  socket.on('data', () => undefined);
  return {
    write(bytes) {
      const ok = socket.write(bytes);
      ledger?.wrote(bytes.length);
      return ok;
    },
    acknowledged: () => (watch && ledger ? ledger.mine(watch.acked()) : undefined),
    delivered,
    drained: () => (gone || socket.writableLength === 0 ? Promise.resolve() : drainedOrClosed(socket)),
    get pending() {
      return socket.writableLength;
    },
    get open() {
      return !gone && socket.writable;
    },
    get abandoned() {
      return abandoned;
    },
    closed,
    async end(graceMs) {
      if (gone) return;
      socket.end();
      const timer = setTimeout(giveUp, graceMs);
      await closed;
      clearTimeout(timer);
    },
    destroy: giveUp,
  };
}

/**
 * Bytes written to `socket` that the kernel has not taken: Node's buffer, less the write libuv is doing, plus
 * what libuv still holds of that write (exact on a plain socket, checked against what a peer received). Node
 * keeps these in internals, read only when present; on TLS the libuv part is left out, so the figure can only
 * be low (a record counted as sent that was not), never high (one sent twice).
 */
function unsentBytes(socket: Socket): number {
  const internals = socket as unknown as {
    _writableState?: { writing?: boolean; writelen?: number };
    _handle?: { writeQueueSize?: number } | null;
    encrypted?: boolean;
  };
  const state = internals._writableState;
  const inFlight = state?.writing ? (state.writelen ?? socket.writableLength) : 0;
  const libuv = internals.encrypted ? 0 : (internals._handle?.writeQueueSize ?? 0);
  return Math.max(0, socket.writableLength - inFlight + libuv);
}

/** Resolves at the socket's (or an HTTP response's) next 'drain' or 'close', whichever comes first. */
export function drainedOrClosed(socket: EventEmitter): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}
