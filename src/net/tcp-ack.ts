/**
 * What a forwarding peer's TCP acknowledged, from Linux's TCP_INFO (tcpi_bytes_acked, kernel 4.1+), read
 * through the tapline_net addon (native/src/tcp_ack.cc): Node has no such call.
 *
 * Why: the kernel takes bytes into its send buffer long before the peer has them; a peer that resets the
 * connection (or closes it without reading) loses what it had not acknowledged, while a count of what the
 * kernel took says "sent". The acknowledged figure tells the two apart.
 *
 * Node closes its descriptor the moment it sees a reset, before any JavaScript runs, so the watch keeps a
 * second descriptor of the socket (dup) from the start and reads the final figure from it at 'close', then
 * closes it. Holding it keeps the kernel socket open until then, a turn of the event loop at most.
 *
 * Not available (undefined): not Linux, the addon not built, a TLS socket (the kernel counts ciphertext, which
 * does not map to messages), or a socket without a descriptor. Callers then count as before.
 *
 * What acknowledged cannot tell: bytes the peer's kernel acknowledged but its program never read (a peer that
 * stops reading and resets loses what waits in its receive buffer too).
 */
import type { Socket } from 'node:net';
import { loadAddon } from '../core/native-addon.js';

interface NetAddon {
  dupFd(fd: number): number;
  tcpAcked(fd: number): [acked: number, received: number] | number;
  closeFd(fd: number): number;
  abiVersion: number;
}

let addon: NetAddon | null | undefined;

/** The addon, or null (not Linux, not built, another version, or TAPLINE_TCP_ACK=off). */
export function netAddon(): NetAddon | null {
  if (addon !== undefined) return addon;
  addon = null;
  if (process.platform !== 'linux' || process.env.TAPLINE_TCP_ACK === 'off') return addon;
  addon = loadAddon<NetAddon>('tapline_net.node', 1).addon;
  return addon;
}

export interface AckWatch {
  /** Bytes of the socket's stream (as `socket.bytesWritten` counts them) the peer's TCP acknowledged. */
  acked(): number | undefined;
  /** Reads the figure a last time and lets the socket go; call once, when the socket has closed. */
  release(): number | undefined;
}

/** Starts watching `socket` (connected, nothing written since but what the peer has acknowledged). */
export function watchAcks(socket: Socket): AckWatch | undefined {
  const net = netAddon();
  if (!net || (socket as { encrypted?: boolean }).encrypted) return undefined;
  const fd = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return undefined;
  const copy = net.dupFd(fd);
  if (copy < 0) return undefined;
  const first = net.tcpAcked(copy);
  if (typeof first === 'number') {
    net.closeFd(copy);
    return undefined;
  }
  // tcpi_bytes_acked counts the SYN (and, for a WebSocket, the upgrade request already answered): the stream's
  // offset 0 is what was acknowledged less what was written so far.
  const base = first[0] - socket.bytesWritten;
  let open = true;
  let last: number | undefined;
  const read = () => {
    if (!open) return last;
    const info = net.tcpAcked(copy);
    if (typeof info !== 'number') last = Math.max(0, info[0] - base);
    return last;
  };
  return {
    acked: read,
    release() {
      const final = read();
      if (open) net.closeFd(copy);
      open = false;
      return final;
    },
  };
}

/**
 * Maps what the peer acknowledged (stream bytes) to the bytes one writer gave the socket, when other bytes
 * share the stream (a WebSocket's pongs and close frame, written beside the writer's frames): each write is
 * remembered by where it ends in the stream, and a write's bytes are contiguous there.
 */
export class WriteLedger {
  private ends: { stream: number; mine: number }[] = [];
  private head = 0;
  /** The writer's bytes known acknowledged: the end of the last write forgotten. */
  private floor = 0;
  private total = 0;

  constructor(
    private readonly socket: Socket,
    private readonly watch: AckWatch,
  ) {}

  /** Call right after each `socket.write` of `bytes` of the writer's own. */
  wrote(bytes: number): void {
    this.total += bytes;
    this.ends.push({ stream: this.socket.bytesWritten, mine: this.total });
    // Bounded memory on a long connection: forget writes the peer has acknowledged.
    if (this.ends.length - this.head > 1024) this.mine(this.watch.acked());
  }

  /** The writer's bytes within `streamAcked` acknowledged stream bytes (undefined stays undefined). */
  mine(streamAcked: number | undefined): number | undefined {
    if (streamAcked === undefined) return undefined;
    while (this.head < this.ends.length && this.ends[this.head]!.stream <= streamAcked) {
      this.floor = this.ends[this.head++]!.mine;
    }
    if (this.head > 1024 && this.head * 2 > this.ends.length) {
      this.ends = this.ends.slice(this.head);
      this.head = 0;
    }
    const next = this.ends[this.head];
    if (!next) return this.floor;
    return Math.max(this.floor, next.mine - (next.stream - streamAcked));
  }
}

/**
 * The sizes of the frames (forwarded messages, binary turns) written on one connection, in order, from the
 * first the peer has not (as far as last asked) acknowledged. Only sizes are kept; frames known acknowledged
 * are forgotten as the list grows.
 */
export class FramesOnWire {
  private sizes: number[] = [];
  private head = 0;
  /** Bytes of the frames forgotten (all acknowledged). */
  private start = 0;

  add(frames: Buffer[], acknowledged: () => number | undefined): void {
    for (const f of frames) this.sizes.push(f.length);
    if (this.sizes.length - this.head > 4096) this.forget(acknowledged());
  }

  /** Removes the last `n` frames (taken back to be sent again). */
  dropLast(n: number): void {
    this.sizes.length = Math.max(this.head, this.sizes.length - n);
  }

  /** How many frames end past `acked` bytes (none when it is unknown). */
  beyond(acked: number | undefined): number {
    if (acked === undefined) return 0;
    this.forget(acked);
    return this.sizes.length - this.head;
  }

  private forget(acked: number | undefined): void {
    if (acked === undefined) return;
    while (this.head < this.sizes.length && this.start + this.sizes[this.head]! <= acked) {
      this.start += this.sizes[this.head++]!;
    }
    if (this.head > 4096 && this.head * 2 > this.sizes.length) {
      this.sizes = this.sizes.slice(this.head);
      this.head = 0;
    }
  }
}
