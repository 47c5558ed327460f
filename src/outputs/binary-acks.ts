/**
 * What the target's TCP acknowledged of one replayed `--output-binary` connection, to count the turns the kernel
 * took (`sent`) that a connection ending in an error (a reset) lost: `not_acknowledged`. The same watch and the
 * same rule as the forwarding outputs (src/net/tcp-ack.ts, src/net/forward-link.ts):
 *
 *   connect ─▶ watch (a second descriptor, TCP_INFO) ─▶ turn taken whole by the kernel: its size is noted
 *   'error' (a reset) ─▶ the connection failed
 *   'close' ─▶ final acknowledged figure, descriptor released ─▶ failed: the noted turns ending past it are counted
 *
 * Only a connection that ended in an error counts: after an orderly end (the target's FIN, or tapline's end() at
 * close, eviction or idle reaping, or a connection dropped for reading nothing) the kernel goes on delivering
 * what it holds. Nothing is known (and nothing counted) without the tapline_net addon, with TAPLINE_TCP_ACK=off,
 * or off Linux. The session is the only writer on its socket, so the stream's bytes are the turns' bytes.
 */
import type { Socket } from 'node:net';
import { type AckWatch, FramesOnWire, watchAcks } from '../net/tcp-ack.js';

export class TurnAcks {
  private readonly frames = new FramesOnWire();
  private failed = false;
  private released = false;

  private constructor(private readonly watch: AckWatch) {}

  /** Starts watching a connected socket nothing has been written to; undefined where acks cannot be read. */
  static watch(socket: Socket): TurnAcks | undefined {
    const watch = watchAcks(socket);
    return watch ? new TurnAcks(watch) : undefined;
  }

  /**
   * A turn the kernel took whole (counted as sent). Turns are taken in the order they were written and a turn
   * not taken whole ends its connection, so the noted turns are the stream's bytes from its start.
   */
  sent(payload: Buffer): void {
    this.frames.add([payload], () => this.watch.acked());
  }

  /** The connection reported an error (a reset: the kernel dropped what the target had not acknowledged). */
  errored(): void {
    this.failed = true;
  }

  /**
   * Call at 'close' (once): reads the final figure, lets the descriptor go, and returns how many sent turns end
   * past what the target's TCP acknowledged — 0 after an orderly end.
   */
  settle(): number {
    if (this.released) return 0;
    this.released = true;
    const acked = this.watch.release();
    return this.failed ? this.frames.beyond(acked) : 0;
  }
}
