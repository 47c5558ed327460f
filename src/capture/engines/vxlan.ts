/**
 * The vxlan capture engine (gor's `--input-raw-engine vxlan`): a UDP listener on 0.0.0.0:<port> (default
 * 4789) that receives VXLAN-encapsulated traffic — a switch, a cloud traffic mirror or a tunnel endpoint
 * sends copies of packets to it — and hands the inner Ethernet frames on. No privileges are needed (for a
 * port ≥ 1024), and nothing is captured from the machine's own interfaces.
 *
 *   UDP datagram ─▶ VXLAN header (8 bytes: VNI flag, 24-bit VNI) ─▶ [VNI filter, gor's rules]
 *                ─▶ [`filter` on the inner frame: --input-raw-bpf-filter]
 *                ─▶ RawPacket { linkType: ETHERNET, data: inner frame (a view), tsNs: wall clock at receive }
 *                ─▶ bounded queue ─▶ `for await (const packets of capture.packets)`, everything queued per batch
 *
 * UDP has no backpressure: when the consumer is `maxQueued` packets behind, further datagrams are dropped
 * here and counted (`dropped`), as the kernel would drop them from a full socket buffer.
 */
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { Channel } from '../../core/async.js';
import { ERROR_CODES, TaplineError } from '../../core/errors.js';
import { nowNs } from '../../core/message.js';
import { createVniFilter, DEFAULT_VXLAN_PORT, parseVxlan, VXLAN_HEADER } from '../decode/vxlan.js';
import { LinkType, type RawPacket, TunnelKind, tunnelId } from '../types.js';
import type { PacketFilter } from './pcap-file-common.js';

export interface VxlanOptions {
  /** UDP port; 0 means 4789 (gor's rule). */
  readonly port: number;
  /** `--input-raw-vxlan-vni`: allow (positive) / deny (negative) list. */
  readonly vnis?: readonly number[];
  /** Listen address. Default 0.0.0.0, as gor. */
  readonly host?: string;
  /** Packets queued for the consumer before datagrams are dropped. Default 100,000. */
  readonly maxQueued?: number;
  /** Kernel receive buffer (SO_RCVBUF) in bytes, when > 0. */
  readonly bufferSize?: number;
  /** Keeps the inner frames it returns true for (`--input-raw-bpf-filter`, as on a capture file); counted. */
  readonly filter?: PacketFilter;
}

export interface VxlanStats {
  /** Datagrams received. */
  readonly datagrams: number;
  /** Inner frames handed on. */
  readonly delivered: number;
  /** Datagrams without a valid VXLAN header (too short, or the VNI flag clear). */
  readonly malformed: number;
  /** Datagrams whose VNI the filter rejected. */
  readonly filtered: number;
  /** Inner frames `filter` left out. */
  readonly bpfFiltered: number;
  /** Datagrams dropped because the consumer was `maxQueued` packets behind. */
  readonly dropped: number;
  /**
   * Datagrams the kernel dropped because the socket's receive buffer was full (Linux: /proc/net/udp's `drops`;
   * null where that cannot be read).
   */
  readonly kernelDropped: number | null;
}

export interface VxlanCapture {
  /** The bound UDP port. */
  readonly port: number;
  readonly host: string;
  readonly packets: AsyncIterable<RawPacket[]>;
  stats(): VxlanStats;
  /**
   * Stop listening (after reading for 50 ms more what already arrived); packets received are still delivered,
   * then `packets` ends. Idempotent.
   */
  close(): void;
}

const DEFAULT_MAX_QUEUED = 100_000;
const DRAIN_MS = 50;

/** The largest SO_RCVBUF a socket takes (an int); the kernel then caps it at net.core.rmem_max. */
const MAX_RECV_BUFFER = 0x7fffffff;

/**
 * `--input-raw-buffer-size` for the listener, checked without opening anything (the CLI runs it when the input
 * is created, so a bad value exits 2 before the run): Node refused a larger one with its own words.
 */
export function checkVxlanBufferSize(bufferSize: number | undefined): void {
  if (bufferSize !== undefined && (!Number.isInteger(bufferSize) || bufferSize < 0 || bufferSize > MAX_RECV_BUFFER)) {
    throw new TaplineError(
      ERROR_CODES.USAGE,
      `the VXLAN listener's receive buffer of ${bufferSize} bytes must be an integer from 0 to ${MAX_RECV_BUFFER}`,
      { where: '--input-raw-buffer-size' },
    );
  }
}

/** Binds the listener (it is receiving when this resolves). Throws TaplineError(CAPTURE_FAILED, USAGE). */
export async function openVxlan(options: VxlanOptions): Promise<VxlanCapture> {
  checkVxlanBufferSize(options.bufferSize);
  const port = options.port || DEFAULT_VXLAN_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TaplineError(ERROR_CODES.USAGE, `VXLAN port ${options.port} must be from 0 to 65535`, {
      where: '--input-raw-vxlan-port',
    });
  }
  const host = options.host ?? '0.0.0.0';
  const passes = createVniFilter(options.vnis ?? []);
  const maxQueued = options.maxQueued ?? DEFAULT_MAX_QUEUED;
  const queue = new Channel<RawPacket>(maxQueued);
  const counts = { datagrams: 0, delivered: 0, malformed: 0, filtered: 0, bpfFiltered: 0, dropped: 0 };
  const keep = options.filter;
  const socket: Socket = createSocket({ type: 'udp4', reuseAddr: false });

  await new Promise<void>((resolve, reject) => {
    socket.once('error', (err: NodeJS.ErrnoException) => reject(bindError(host, port, err)));
    socket.bind(port, host, () => {
      socket.removeAllListeners('error');
      resolve();
    });
  });
  if (options.bufferSize && options.bufferSize > 0) {
    try {
      socket.setRecvBufferSize(options.bufferSize);
    } catch (err) {
      socket.close();
      throw new TaplineError(
        ERROR_CODES.CAPTURE_FAILED,
        `the VXLAN listener's receive buffer could not be set to ${options.bufferSize} bytes`,
        { where: '--input-raw-buffer-size', cause: err },
      );
    }
  }
  socket.on('message', (msg: Buffer) => {
    counts.datagrams++;
    const vni = parseVxlan(msg, 0, msg.length);
    if (vni < 0 || msg.length === VXLAN_HEADER) {
      counts.malformed++;
      return;
    }
    if (!passes(vni)) {
      counts.filtered++;
      return;
    }
    const data = msg.subarray(VXLAN_HEADER);
    if (keep !== undefined && !keep(LinkType.ETHERNET, data, data.length)) {
      counts.bpfFiltered++;
      return;
    }
    if (queue.length >= maxQueued) {
      counts.dropped++;
      return;
    }
    counts.delivered++;
    // The VNI is part of the inner connections' identity, as when the decoder unwraps VXLAN itself.
    queue.offer({
      tsNs: nowNs(),
      linkType: LinkType.ETHERNET,
      data,
      origLen: data.length,
      tunnel: tunnelId(TunnelKind.VXLAN_VNI, vni),
    });
  });
  const bound = socket.address().port;
  let failure: TaplineError | undefined;
  socket.on('error', (err: NodeJS.ErrnoException) => {
    failure ??= new TaplineError(ERROR_CODES.CAPTURE_FAILED, `the VXLAN listener failed: ${err.message}`, {
      where: `udp ${host}:${port}`,
      cause: err,
    });
    closeNow();
  });
  let closing = false;
  let closed = false;
  let kernelDropped: number | null = null;
  // Read while the socket is open (its line goes with it): at each stats() call and when it closes.
  const readDrops = () => {
    if (!closed) kernelDropped = udpDrops(host, bound) ?? kernelDropped;
  };
  const closeNow = () => {
    if (closed) return;
    readDrops();
    closed = true;
    socket.close();
    queue.close();
  };
  // Datagrams already in the socket's kernel buffer are read for DRAIN_MS more before the socket closes,
  // so stopping does not drop what had arrived (a busy event loop may not have read it yet).
  const close = () => {
    if (closing || closed) return;
    closing = true;
    setTimeout(closeNow, DRAIN_MS);
  };
  return {
    port: bound,
    host,
    packets: {
      async *[Symbol.asyncIterator]() {
        try {
          for await (const batch of queue.drain()) yield batch;
          if (failure) throw failure;
        } finally {
          closeNow();
        }
      },
    },
    stats: () => {
      readDrops();
      return { ...counts, kernelDropped };
    },
    close,
  };
}

/**
 * The kernel's count of datagrams dropped on the UDP socket bound to `host:port` (IPv4): the last column of its
 * /proc/net/udp line (addresses as hex in the kernel's byte order). Null where there is no such file or line.
 */
function udpDrops(host: string, port: number): number | null {
  let table: string;
  try {
    table = readFileSync('/proc/net/udp', 'latin1');
  } catch {
    return null;
  }
  const octets = host.split('.').map(Number);
  const hex = (n: number, width: number) => n.toString(16).toUpperCase().padStart(width, '0');
  const address = octets.reverse().reduce((text, o) => text + hex(o, 2), '');
  const local = `${address}:${hex(port, 4)}`;
  for (const line of table.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields[1] === local) return Number(fields[fields.length - 1]);
  }
  return null;
}

function bindError(host: string, port: number, err: NodeJS.ErrnoException): TaplineError {
  const why =
    err.code === 'EADDRINUSE'
      ? 'the port is in use (another VXLAN endpoint, or another tapline?)'
      : err.code === 'EACCES'
        ? 'ports below 1024 need root or CAP_NET_BIND_SERVICE'
        : err.message;
  return new TaplineError(ERROR_CODES.CAPTURE_FAILED, `cannot listen for VXLAN on udp ${host}:${port}: ${why}`, {
    where: '--input-raw-vxlan-port',
    cause: err,
  });
}
