/**
 * The af_packet capture engine: Linux AF_PACKET with a TPACKET_V3 ring (native/), in batches.
 *
 *   kernel ─▶ TPACKET_V3 ring (blocks retired when full or after `timeoutMs`)
 *          ─▶ addon, one wake-up: every ready block copied into ONE Buffer of records, blocks returned
 *          ─▶ onBatch(buffer, count)            (one JS call per wake-up, never one per packet)
 *          ─▶ queue of batches (bounded by `maxQueuedBytes`: above it the socket is paused; the ring
 *             then fills and the kernel drops, which `stats().dropped` reports)
 *          ─▶ `for await (const packets of capture.packets)`   decoded lazily, RawPacket[] per batch
 *
 * Framing: Ethernet and loopback interfaces are captured with SOCK_RAW (LINKTYPE_ETHERNET). 'any' (all
 * interfaces) and other interface types use SOCK_DGRAM and the addon synthesizes a 16-byte LINUX_SLL
 * header per packet (LINKTYPE_LINUX_SLL), as libpcap does for 'any'. A VLAN tag the kernel took out
 * of a frame is put back into the bytes.
 *
 * Loopback: the kernel shows each loopback packet twice (PACKET_OUTGOING, then PACKET_HOST). The
 * outgoing copy is dropped (in the kernel by the generated filter, and again in the addon for any
 * other filter) so every packet is delivered once. `dedupeLoopback: false` keeps both.
 *
 * Several sockets (one per worker thread) can share an interface with `fanout`:
 *
 *   kernel ─▶ PACKET_FANOUT group ─┬─▶ socket 1 ring ─▶ worker 1
 *            (symmetric hash: both ├─▶ socket 2 ring ─▶ worker 2
 *             directions of a TCP  └─▶ …
 *             connection → same socket)
 *
 * close() delivers what is still in the ring, including the block the kernel was filling, so stopping
 * a capture loses no packet that passed the filter: afterwards `received = delivered + dropped`.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { endianness, networkInterfaces, totalmem } from 'node:os';
import { ERROR_CODES, TaplineError } from '../../core/errors.js';
import {
  type BpfInstruction,
  type CaptureFilter,
  compileAcceptAll,
  compileCaptureFilter,
  compileFlowHash,
  encodeBpf,
  gorFilterText,
  type LinkFraming,
} from '../bpf.js';
import { viewOf } from '../buffer-view.js';
import { DEFAULT_SNAPLEN, LinkType, type PacketBatchView, type RawPacket } from '../types.js';
import {
  loadCaptureAddon,
  type NativeAfPacketSocket,
  type NativeCaptureModule,
  type NativeRing,
  type NativeStats,
} from './af-packet-native.js';
import { BatchQueue } from './batch-queue.js';

export const ARPHRD_ETHER = 1;
export const ARPHRD_LOOPBACK = 772;
const IFF_UP = 0x1;
const IFF_LOOPBACK = 0x8;
const RECORD_HEADER_SIZE = 24;

// Declared with the capture types so that --input-raw's flags (src/inputs/raw/flags.ts) load without the engine.
export { DEFAULT_SNAPLEN };
/** Default ring size, like gor's af_packet engine. */
export const DEFAULT_BUFFER_SIZE = 32 * 1024 * 1024;
export const DEFAULT_TIMEOUT_MS = 10;
export const DEFAULT_MAX_QUEUED_BYTES = 64 * 1024 * 1024;

export const SETCAP_HINT = 'sudo setcap cap_net_raw,cap_net_admin=eip $(readlink -f $(which node))';

export type FanoutMode = 'flow' | 'hash' | 'lb' | 'cpu' | 'rollover' | 'random' | 'qm';
const FANOUT_MODES: Record<FanoutMode, number> = {
  hash: 0,
  lb: 1,
  cpu: 2,
  rollover: 3,
  random: 4,
  qm: 5,
  flow: 6, // PACKET_FANOUT_CBPF with compileFlowHash()
};

export interface AfPacketOptions {
  /** Interface name (`lo`, `eth0`), or `any` for all interfaces. */
  readonly interface: string;
  /**
   * What to capture: gor's auto filter (generated BPF), a ready program, or null/undefined for every
   * packet. A program given as instructions is attached as is.
   */
  readonly filter?: CaptureFilter | { readonly program: readonly BpfInstruction[]; readonly text?: string } | null;
  /** Bytes kept per packet (`--input-raw-snaplen`). Default 65736. */
  readonly snaplen?: number;
  /** Ring size in bytes (`--input-raw-buffer-size`). Default 32 MiB. */
  readonly bufferSize?: number;
  /** Ring block size (multiple of the page size, larger than snaplen). Default: fits the snaplen. */
  readonly blockSize?: number;
  /** Block retire timeout in ms (`--input-raw-buffer-timeout`); 0 lets the kernel choose. Default 10. */
  readonly timeoutMs?: number;
  /** `--input-raw-promisc`: on `any`, every interface but the ignored ones (see promiscuousIndexes). */
  readonly promiscuous?: boolean;
  /** Interfaces to leave out when capturing on `any` (`--input-raw-ignore-interface`). */
  readonly ignoreInterfaces?: readonly string[];
  /**
   * Share packets between sockets (one per worker) with PACKET_FANOUT. Every member must use the same
   * interface, mode and group. `hash` (default, the kernel's symmetric flow hash) and `flow` (our
   * classic-BPF symmetric hash, see compileFlowHash) keep both directions of a TCP connection on one
   * member; `lb`, `cpu`, `rollover`, `random`, `qm` do not.
   */
  readonly fanout?: { readonly group: number; readonly mode?: FanoutMode };
  /** Deliver each loopback packet once (default true). */
  readonly dedupeLoopback?: boolean;
  /** Pause the socket when this many bytes of batches wait for the consumer. Default 64 MiB. */
  readonly maxQueuedBytes?: number;
}

/** A captured packet with what the kernel told about it. */
export interface LivePacket extends RawPacket {
  readonly ifindex: number;
  /** PACKET_HOST 0, BROADCAST 1, MULTICAST 2, OTHERHOST 3, OUTGOING 4. */
  readonly pktType: number;
}

export interface AfPacketStats {
  /** Packets that passed the filter, by the kernel's count (includes `dropped`). */
  readonly received: number;
  /** Packets the kernel dropped because the ring was full. */
  readonly dropped: number;
  /** Times the kernel found the ring full (TPACKET_V3 queue freeze). */
  readonly freezeQueueCount: number;
  /** Wake-ups that delivered at least one packet (= JS callbacks). */
  readonly batches: number;
  /** Packets handed to JavaScript. */
  readonly delivered: number;
  readonly deliveredBytes: number;
  readonly blocks: number;
  /** Loopback PACKET_OUTGOING copies skipped by the addon (the generated filter drops them earlier). */
  readonly loopbackSkipped: number;
  /** Packets cut by the snaplen. */
  readonly truncated: number;
  readonly queuedBatches: number;
  readonly queuedBytes: number;
  /** Times the socket was paused because the consumer fell behind. */
  readonly pauses: number;
  readonly paused: boolean;
}

export interface AfPacketCapture {
  readonly interface: string;
  /** 0 for `any`. */
  readonly ifindex: number;
  readonly linkType: number;
  readonly snaplen: number;
  readonly ring: NativeRing;
  /** gor's text for the filter (for `Interface: lo . BPF Filter: …`), or '' when none. */
  readonly filterText: string;
  readonly program: readonly BpfInstruction[];
  /** Batches of packets, one array per wake-up. Single consumer; ends after close(). */
  readonly packets: AsyncIterable<LivePacket[]>;
  /**
   * The same batches left in the addon's buffer, one view per wake-up (for the native flow core). Iterate
   * either this or `packets`, not both.
   */
  readonly views: AsyncIterable<RecordBatchView>;
  stats(): AfPacketStats;
  /** Replace the filter while capturing (e.g. when the interface's addresses change). */
  setFilter(filter: AfPacketOptions['filter']): void;
  /** Let the process exit while this capture is open (or undo that). */
  unref(): void;
  ref(): void;
  /**
   * Stop capturing. Packets already in the kernel ring (even in the block the kernel was filling) and
   * batches already queued are still delivered, then the iterator ends. Idempotent.
   */
  close(): void;
}

export interface InterfaceInfo {
  readonly name: string;
  readonly index: number;
  /** ARPHRD_* */
  readonly hatype: number;
  readonly mtu: number;
  readonly flags: number;
  readonly up: boolean;
  readonly loopback: boolean;
  /** Addresses from os.networkInterfaces() (no zone suffix). */
  readonly addresses: string[];
}

/** The addresses of one interface, or of all interfaces for `any`. */
export function interfaceAddresses(name: string): string[] {
  const all = networkInterfaces();
  const entries = name === 'any' ? Object.values(all).flat() : (all[name] ?? []);
  return [...new Set(entries.flatMap((e) => (e ? [e.address.split('%')[0]!] : [])))];
}

/**
 * The index of every interface now (sysfs, Linux), but those named in `leaveOut`: what `--input-raw-promisc`
 * puts in promiscuous mode when the capture is on every interface (one membership per interface, as gor opens
 * one handle per interface). An interface that appears later is not promiscuous.
 */
export function promiscuousIndexes(leaveOut: ReadonlySet<string>): number[] {
  return interfaceIndexes(listInterfaceNames().filter((name) => !leaveOut.has(name)));
}

/** The indexes of the named interfaces that exist now (sysfs, Linux); the others are left out. */
export function interfaceIndexes(names: Iterable<string>): number[] {
  const out: number[] = [];
  for (const name of names) {
    if (name === '' || name.includes('/')) continue;
    try {
      const index = Number(readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8').trim());
      if (Number.isInteger(index) && index > 0) out.push(index);
    } catch {
      // gone since it was listed, or no sysfs
    }
  }
  return out;
}

/**
 * The kernel's name of the interface `name` names, which may be one of its alternative names (`ip link
 * property add dev eth0 altname uplink`; sysfs lists only the main name, the kernel's lookup finds both) or
 * its index (`2`), or undefined when there is no such interface or no capture addon to ask.
 */
export function canonicalInterfaceName(name: string): string | undefined {
  try {
    const addon = loadCaptureAddon();
    // An IPv6 zone may be an interface index (fe80::1%2).
    if (/^\d+$/.test(name)) return addon.interfaceName(Number(name));
    return addon.interfaceName(addon.interfaceInfo(name).index);
  } catch {
    return undefined;
  }
}

/** Interface names known to the kernel (sysfs), falling back to those with addresses. */
export function listInterfaceNames(): string[] {
  try {
    return readdirSync('/sys/class/net').sort();
  } catch {
    return Object.keys(networkInterfaces()).sort();
  }
}

export function lookupInterface(name: string, addon: NativeCaptureModule = loadCaptureAddon()): InterfaceInfo {
  let info: ReturnType<NativeCaptureModule['interfaceInfo']>;
  try {
    info = addon.interfaceInfo(name);
  } catch (cause) {
    throw new TaplineError(ERROR_CODES.BAD_ADDRESS, `no network interface named "${name}"`, {
      where: name,
      cause,
    });
  }
  return {
    name: info.name,
    index: info.index,
    hatype: info.hatype,
    mtu: info.mtu,
    flags: info.flags,
    up: (info.flags & IFF_UP) !== 0,
    loopback: (info.flags & IFF_LOOPBACK) !== 0,
    addresses: interfaceAddresses(name),
  };
}

const LITTLE_ENDIAN = endianness() === 'LE';

/** Decodes a batch Buffer (layout: native/src/af_packet.h) into packets. The data are views into `buf`. */
export function decodeRecords(buf: Buffer, count: number, linkType: number): LivePacket[] {
  const out: LivePacket[] = new Array(count);
  // Batches from the addon start 8-byte aligned: read the headers through typed-array views
  // (about twice as fast as Buffer#readUInt32LE/readBigUInt64LE). Other buffers take the slow path.
  const fast = LITTLE_ENDIAN && buf.byteOffset % 8 === 0 && buf.length % 8 === 0;
  const u32 = fast ? new Uint32Array(buf.buffer, buf.byteOffset, buf.length >>> 2) : undefined;
  const u64 = fast ? new BigUint64Array(buf.buffer, buf.byteOffset, buf.length >>> 3) : undefined;
  let off = 0;
  for (let i = 0; i < count; i++) {
    if (off + RECORD_HEADER_SIZE > buf.length) throw badBatch(i, off, buf.length);
    const w = off >>> 2;
    const caplen = u32 ? u32[w + 3]! : buf.readUInt32LE(off + 12);
    const start = off + RECORD_HEADER_SIZE;
    if (start + caplen > buf.length) throw badBatch(i, off, buf.length);
    out[i] = {
      tsNs: u64 ? u64[off >>> 3]! : buf.readBigUInt64LE(off),
      linkType,
      data: viewOf(buf, start, caplen),
      origLen: u32 ? u32[w + 4]! : buf.readUInt32LE(off + 16),
      ifindex: u32 ? u32[w + 2]! : buf.readUInt32LE(off + 8),
      pktType: buf[off + 20]!,
    };
    off = (start + caplen + 7) & ~7;
  }
  return out;
}

/** A batch left in the addon's buffer (see PacketBatchView): the native flow core reads it in place. */
export class RecordBatchView implements PacketBatchView {
  readonly kind = 'records';
  readonly index = null;

  constructor(
    readonly buffer: Buffer,
    readonly count: number,
    readonly linkType: number,
  ) {}

  /** The packet whose record starts at byte `at` (an offset the caller got from walking the batch). */
  packet(_i: number, at: number): LivePacket {
    const buf = this.buffer;
    if (at < 0 || at + RECORD_HEADER_SIZE > buf.length) throw badBatch(_i, at, buf.length);
    const caplen = buf.readUInt32LE(at + 12);
    const start = at + RECORD_HEADER_SIZE;
    if (start + caplen > buf.length) throw badBatch(_i, at, buf.length);
    return {
      tsNs: buf.readBigUInt64LE(at),
      linkType: this.linkType,
      data: viewOf(buf, start, caplen),
      origLen: buf.readUInt32LE(at + 16),
      ifindex: buf.readUInt32LE(at + 8),
      pktType: buf[at + 20]!,
    };
  }

  packets(): LivePacket[] {
    return decodeRecords(this.buffer, this.count, this.linkType);
  }
}

function badBatch(i: number, off: number, len: number): TaplineError {
  return new TaplineError(ERROR_CODES.INTERNAL, `capture batch is malformed at record ${i} (offset ${off} of ${len})`);
}

function permissionError(iface: string, cause: unknown): TaplineError {
  return new TaplineError(
    ERROR_CODES.CAPTURE_PERMISSION,
    `live capture on "${iface}" needs the CAP_NET_RAW capability (and CAP_NET_ADMIN for some settings), ` +
      'which this process does not have. Run as root, or give them to the node binary once: ' +
      `${SETCAP_HINT} (in a container: --cap-add NET_RAW --cap-add NET_ADMIN). Reading a pcap file needs no privileges.`,
    { where: iface, cause },
  );
}

function nativeError(iface: string, what: string, cause: unknown, ringBytes?: number): TaplineError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EPERM' || code === 'EACCES') return permissionError(iface, cause);
  let msg = cause instanceof Error ? cause.message : String(cause);
  if (code === 'ENOMEM' && ringBytes !== undefined && /PACKET_RX_RING|mmap/.test(msg)) {
    msg += ` (the ring of ${ringBytes} bytes: give a smaller --input-raw-buffer-size)`;
  }
  return new TaplineError(ERROR_CODES.CAPTURE_FAILED, `${what} on "${iface}" failed: ${msg}`, { where: iface, cause });
}

/**
 * The ring's block timeout (`--input-raw-buffer-timeout`) the kernel takes, checked without opening anything:
 * `openAfPacket` runs it, and the CLI when the input is created, so a bad value exits 2 before the run.
 */
export function checkAfPacketTimeout(timeoutMs: number | undefined): void {
  const ms = timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(ms) || ms < 0 || ms > 60000) {
    throw usage('--input-raw-buffer-timeout', `block timeout ${ms} ms must be an integer from 0 to 60000`);
  }
}

/** The ring's block size for `snaplen`: room for the block header, the kernel's per-packet header and one packet. */
export function afPacketBlockSize(snaplen: number): number {
  return Math.max(128 * 1024, nextPow2(snaplen + 4096));
}

/**
 * The ring the kernel is asked for, given `--input-raw-buffer-size` (`bufferSize`, default 32 MiB): whole blocks
 * (`afPacketBlockSize`), at least two, so a size below two blocks is raised to them.
 */
export function afPacketRing(
  snaplen: number,
  bufferSize: number | undefined,
  blockSize = afPacketBlockSize(snaplen),
): { blockSize: number; blockCount: number; bytes: number } {
  const blockCount = Math.max(2, Math.floor((bufferSize ?? DEFAULT_BUFFER_SIZE) / blockSize));
  return { blockSize, blockCount, bytes: blockSize * blockCount };
}

/**
 * The ring size (`--input-raw-buffer-size`), checked before the run: the kernel pins the whole ring in memory,
 * so one larger than the machine's memory can never be had (it failed when the input opened, exit 1, in the
 * kernel's words 'Cannot allocate memory (PACKET_RX_RING)').
 */
export function checkAfPacketBufferSize(bufferSize: number | undefined): void {
  if (bufferSize === undefined) return;
  const memory = totalmem();
  if (bufferSize > memory) {
    throw usage(
      '--input-raw-buffer-size',
      `a ring of ${bufferSize} bytes is more than this machine's memory (${memory} bytes); the kernel keeps the whole ring in memory`,
    );
  }
}

/**
 * The generated filter (ports and hosts of `--input-raw`), compiled before the run as openAfPacket will compile
 * it: a list too long for the kernel's BPF_MAXINSNS is a command-line mistake, so a usage error (exit 2), in
 * the words the open would use (it failed when the input opened, exit 1). The interface's framing and the
 * ignored interfaces' indexes come from /sys/class/net; an interface not there now is left to the open, which
 * names it.
 */
export function checkAfPacketFilterSize(options: {
  interface: string;
  filter: CaptureFilter;
  snaplen?: number;
  ignoreInterfaces?: readonly string[];
}): void {
  const any = options.interface === 'any' || options.interface === '';
  const hatype = any ? undefined : sysNetNumber(options.interface, 'type');
  if (!any && hatype === undefined) return;
  const framing: LinkFraming = hatype === ARPHRD_ETHER || hatype === ARPHRD_LOOPBACK ? 'ethernet' : 'cooked';
  const excludeIfindexes = any ? (options.ignoreInterfaces ?? []).flatMap((n) => sysNetNumber(n, 'ifindex') ?? []) : [];
  try {
    buildFilter(options.filter, framing, options.snaplen ?? DEFAULT_SNAPLEN, true, excludeIfindexes);
  } catch (err) {
    if (!(err instanceof TaplineError) || err.code !== ERROR_CODES.CAPTURE_FAILED) throw err;
    throw new TaplineError(ERROR_CODES.USAGE, err.message, { where: '--input-raw', cause: err });
  }
}

/** A number the kernel shows in /sys/class/net/<name>/<file>; undefined when the interface is not there. */
function sysNetNumber(name: string, file: 'type' | 'ifindex'): number | undefined {
  if (name.includes('/')) return undefined;
  try {
    const n = Number.parseInt(readFileSync(`/sys/class/net/${name}/${file}`, 'utf8'), 10);
    return Number.isInteger(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

function usage(where: string, message: string): TaplineError {
  return new TaplineError(ERROR_CODES.USAGE, message, { where });
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

interface Built {
  program: BpfInstruction[];
  text: string;
}

function buildFilter(
  filter: AfPacketOptions['filter'],
  framing: LinkFraming,
  snaplen: number,
  dropLoopbackOutgoing: boolean,
  excludeIfindexes: number[],
): Built {
  const opts = { link: framing, snaplen, dropLoopbackOutgoing, excludeIfindexes };
  if (filter === undefined || filter === null) return { program: compileAcceptAll(opts), text: '' };
  if ('program' in filter) return { program: [...filter.program], text: filter.text ?? '' };
  return { program: compileCaptureFilter(filter, opts), text: gorFilterText(filter) };
}

/** Opens a live capture. Throws TaplineError: CAPTURE_PERMISSION, CAPTURE_FAILED, BAD_ADDRESS, USAGE. */
export function openAfPacket(options: AfPacketOptions): AfPacketCapture {
  const addon = loadCaptureAddon();
  const name = options.interface;
  const any = name === 'any' || name === '';
  const iface = any ? undefined : lookupInterface(name, addon);

  const ignored = new Set(options.ignoreInterfaces ?? []);
  if (iface && ignored.has(iface.name)) {
    throw new TaplineError(
      ERROR_CODES.BAD_ADDRESS,
      `interface "${iface.name}" is listed in --input-raw-ignore-interface`,
      {
        where: iface.name,
      },
    );
  }
  const excludeIfindexes: number[] = [];
  if (any) {
    for (const n of ignored) {
      try {
        excludeIfindexes.push(addon.interfaceInfo(n).index);
      } catch {
        // not present now: nothing to ignore
      }
    }
  }

  const framing: LinkFraming =
    iface && (iface.hatype === ARPHRD_ETHER || iface.hatype === ARPHRD_LOOPBACK) ? 'ethernet' : 'cooked';
  const linkType = framing === 'ethernet' ? LinkType.ETHERNET : LinkType.LINUX_SLL;

  const snaplen = options.snaplen ?? DEFAULT_SNAPLEN;
  if (!Number.isInteger(snaplen) || snaplen < 64 || snaplen > 16 * 1024 * 1024) {
    throw usage('--input-raw-snaplen', `snaplen ${snaplen} must be an integer from 64 to 16777216`);
  }
  const page = addon.constants.PAGE_SIZE;
  // Room in a block for the block header, the kernel's per-packet header, and one snaplen packet.
  const minBlock = snaplen + 4096;
  // Small blocks, many of them: a block retired by the timeout holds few packets but takes a whole
  // block, so the ring rides out a stalled event loop for about blockCount × timeoutMs at low rates
  // (32 MiB / 128 KiB = 256 blocks → 2.5 s at 10 ms).
  const blockSize = options.blockSize ?? afPacketBlockSize(snaplen);
  if (!Number.isInteger(blockSize) || blockSize % page !== 0 || blockSize < minBlock) {
    throw usage(
      '--input-raw-buffer-size',
      `ring block size ${blockSize} must be a multiple of ${page} and at least snaplen + 4096 (${minBlock})`,
    );
  }
  const bufferSize = options.bufferSize ?? DEFAULT_BUFFER_SIZE;
  if (!Number.isFinite(bufferSize) || bufferSize <= 0) {
    throw usage('--input-raw-buffer-size', `buffer size ${bufferSize} must be positive`);
  }
  const { blockCount } = afPacketRing(snaplen, bufferSize, blockSize);
  checkAfPacketTimeout(options.timeoutMs);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const promiscIfindexes = options.promiscuous && any ? promiscuousIndexes(ignored) : [];
  if (options.promiscuous && any && promiscIfindexes.length === 0) {
    throw new TaplineError(
      ERROR_CODES.BAD_ADDRESS,
      'promiscuous mode on every interface needs the interface list (/sys/class/net); name the interface instead',
      { where: '--input-raw-promisc' },
    );
  }
  const dedupe = options.dedupeLoopback !== false;
  const built = buildFilter(options.filter, framing, snaplen, dedupe, excludeIfindexes);

  let fanoutGroup = -1;
  let fanoutMode = 0;
  let fanoutFilter: Buffer | undefined;
  if (options.fanout) {
    const { group, mode = 'hash' } = options.fanout;
    if (!Number.isInteger(group) || group < 0 || group > 0xffff) {
      throw usage('fanout', `fanout group ${group} must be an integer from 0 to 65535`);
    }
    fanoutGroup = group;
    fanoutMode = FANOUT_MODES[mode];
    if (mode === 'flow') fanoutFilter = encodeBpf(compileFlowHash());
  }

  let sock: NativeAfPacketSocket;
  try {
    sock = new addon.AfPacketSocket({
      ifindex: iface?.index ?? 0,
      cooked: framing === 'cooked',
      blockSize,
      blockCount,
      timeoutMs,
      promiscuous: options.promiscuous === true,
      ...(promiscIfindexes.length > 0 ? { promiscIfindexes } : {}),
      filter: encodeBpf(built.program),
      fanoutGroup,
      fanoutMode,
      ...(fanoutFilter ? { fanoutFilter } : {}),
      dedupeLoopback: dedupe,
    });
  } catch (cause) {
    throw nativeError(any ? 'any' : name, 'opening an AF_PACKET capture', cause, blockSize * blockCount);
  }
  return new Capture(sock, {
    name: any ? 'any' : name,
    ifindex: iface?.index ?? 0,
    linkType,
    snaplen,
    framing,
    dedupe,
    excludeIfindexes,
    built,
    maxQueuedBytes: options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES,
  });
}

interface CaptureConfig {
  name: string;
  ifindex: number;
  linkType: number;
  snaplen: number;
  framing: LinkFraming;
  dedupe: boolean;
  excludeIfindexes: number[];
  built: Built;
  maxQueuedBytes: number;
}

class Capture implements AfPacketCapture {
  readonly interface: string;
  readonly ifindex: number;
  readonly linkType: number;
  readonly snaplen: number;
  readonly ring: NativeRing;
  filterText: string;
  program: readonly BpfInstruction[];
  readonly packets: AsyncIterable<LivePacket[]>;
  readonly views: AsyncIterable<RecordBatchView>;

  private readonly queue: BatchQueue<LivePacket | RecordBatchView>;
  /** Set by the iterator taken: views hand the buffer over undecoded. */
  private asViews = false;
  private closed = false;
  private closing = false;

  constructor(
    private readonly sock: NativeAfPacketSocket,
    private readonly cfg: CaptureConfig,
  ) {
    this.interface = cfg.name;
    this.ifindex = cfg.ifindex;
    this.linkType = cfg.linkType;
    this.snaplen = cfg.snaplen;
    this.ring = sock.ring;
    this.filterText = cfg.built.text;
    this.program = cfg.built.program;
    this.queue = new BatchQueue<LivePacket | RecordBatchView>(sock, cfg.maxQueuedBytes, (buf, count) =>
      this.asViews ? [new RecordBatchView(buf, count, cfg.linkType)] : decodeRecords(buf, count, cfg.linkType),
    );
    this.packets = {
      [Symbol.asyncIterator]: () => this.queue.iterator(() => this.close()) as AsyncIterator<LivePacket[]>,
    };
    this.views = { [Symbol.asyncIterator]: () => this.viewIterator() };
    try {
      sock.start(
        (buf, count) => this.queue.push(buf, count),
        (err) => this.onError(err),
      );
    } catch (cause) {
      sock.close();
      throw nativeError(cfg.name, 'starting the capture', cause);
    }
  }

  /** One view per batch (the queue's decode step returns it as a one-element array). */
  private async *viewIterator(): AsyncGenerator<RecordBatchView> {
    this.asViews = true;
    const batches = { [Symbol.asyncIterator]: () => this.queue.iterator(() => this.close()) };
    for await (const one of batches) yield one[0] as RecordBatchView;
  }

  private onError(err: NodeJS.ErrnoException): void {
    this.closeSocket();
    this.queue.fail(nativeError(this.interface, 'capturing', err));
  }

  stats(): AfPacketStats {
    const s: NativeStats = this.sock.stats();
    return {
      received: s.packets,
      dropped: s.drops,
      freezeQueueCount: s.freezeQueueCount,
      batches: s.batches,
      delivered: s.delivered,
      deliveredBytes: s.deliveredBytes,
      blocks: s.blocks,
      loopbackSkipped: s.loopbackSkipped,
      truncated: s.truncated,
      ...this.queue.stats(),
    };
  }

  setFilter(filter: AfPacketOptions['filter']): void {
    const built = buildFilter(filter, this.cfg.framing, this.snaplen, this.cfg.dedupe, this.cfg.excludeIfindexes);
    try {
      this.sock.setFilter(encodeBpf(built.program));
    } catch (cause) {
      throw nativeError(this.interface, 'setting the capture filter', cause);
    }
    this.program = built.program;
    this.filterText = built.text;
  }

  ref(): void {
    this.sock.ref();
  }

  unref(): void {
    this.sock.unref();
  }

  private closeSocket(): void {
    if (this.closed || this.closing) return;
    // The addon delivers the packets still in the ring (one last onBatch) before close() returns.
    this.closing = true;
    try {
      this.sock.close();
    } finally {
      this.closing = false;
      this.closed = true;
    }
  }

  close(): void {
    this.closeSocket();
    this.queue.end();
  }
}
