/**
 * The libpcap capture engine: libpcap, loaded at run time (dlopen), for tcpdump-style filter expressions
 * (`--input-raw-bpf-filter`) and for platforms without AF_PACKET.
 *
 *   libpcap handle (pcap_create … pcap_activate, non-blocking; on Linux a TPACKET_V3 ring whose blocks
 *   are retired after `timeoutMs`)
 *          ─▶ addon, one wake-up of the selectable fd: pcap_dispatch until empty, every packet into ONE
 *             Buffer of records (af_packet's layout)
 *          ─▶ onBatch(buffer, count)            (one JS call per wake-up, never one per packet)
 *          ─▶ queue of batches (bounded by `maxQueuedBytes`: above it polling pauses, libpcap's buffer
 *             fills and the kernel drops, which `stats().dropped` reports)
 *          ─▶ `for await (const packets of capture.packets)`   RawPacket[] per batch
 *
 * close() keeps the handle open for the read timeout plus a margin, so that the block the kernel was
 * filling is retired, delivers everything left, then ends the iterator. It waits at most MAX_STOP_WAIT_MS:
 * libpcap gives no way to take a block the kernel has not retired, and a stop must not wait out an hour's
 * read timeout; `stopCutsTimeout` says when packets of that last block may be left behind.
 *
 * `compileBpfExpression()` compiles an expression to classic BPF without a capture (pcap_open_dead +
 * pcap_compile), for the af_packet engine to attach: compile for LinkType.ETHERNET on Ethernet and
 * loopback interfaces (SOCK_RAW); a SOCK_DGRAM socket ('any') shows the filter the network-layer packet,
 * so compile for LinkType.RAW there.
 */

import { ERROR_CODES, isTaplineError, TaplineError } from '../../core/errors.js';
import { BPF_MAXINSNS, type BpfInstruction, encodeBpf } from '../bpf.js';
import { LinkType, type RawPacket } from '../types.js';
import {
  DEFAULT_BUFFER_SIZE,
  DEFAULT_MAX_QUEUED_BYTES,
  DEFAULT_SNAPLEN,
  DEFAULT_TIMEOUT_MS,
  decodeRecords,
  interfaceIndexes,
  type LivePacket,
  promiscuousIndexes,
  SETCAP_HINT,
} from './af-packet.js';
import { BatchQueue } from './batch-queue.js';
import {
  libpcapStatus,
  loadLibpcap,
  type NativePcapHandle,
  type NativePcapInfo,
  type NativePcapStats,
} from './libpcap-native.js';

export { LIBPCAP_INSTALL_HINT, libpcapStatus } from './libpcap-native.js';

const FILTER_FLAG = '--input-raw-bpf-filter';
const TSTAMP_FLAG = '--input-raw-timestamp-type';

/** A filter: a tcpdump-style expression, or a ready classic BPF program (e.g. gor's generated one). */
export type LibpcapFilter = string | { readonly program: readonly BpfInstruction[]; readonly text?: string } | null;

export interface LibpcapOptions {
  /** Interface name (`lo`, `eth0`), or `any` for all interfaces (Linux). */
  readonly interface: string;
  /** What to capture; null/undefined/'' for every packet. An expression is compiled for the handle's link type. */
  readonly filter?: LibpcapFilter;
  /** Bytes kept per packet (`--input-raw-snaplen`). Default 65736; libpcap caps it (262144 in 1.10). */
  readonly snaplen?: number;
  /**
   * libpcap's buffer in bytes (`--input-raw-buffer-size`) when > 0; else 32 MiB, as af_packet's ring. Not
   * libpcap's own default (2 MiB on Linux): its TPACKET_V3 ring is made of 256 KiB blocks, eight in 2 MiB, and
   * each is handed over `timeoutMs` after its first packet however little it holds, so with tapline's 10 ms a
   * trickle of traffic filled all eight in 80 ms and a pause of the process longer than that lost packets
   * (gor's 2 s timeout fills blocks by bytes instead).
   */
  readonly bufferSize?: number;
  /** Read timeout in ms (`--input-raw-buffer-timeout`). Default 10 (gor: 2000). */
  readonly timeoutMs?: number;
  /**
   * `--input-raw-promisc`. On `any` (which libpcap leaves out of promiscuous mode without a word) every
   * interface but `ignoreInterfaces` is made promiscuous through the handle's packet socket (Linux).
   */
  readonly promiscuous?: boolean;
  /** Interfaces a capture on `any` leaves out (`--input-raw-ignore-interface`). */
  readonly ignoreInterfaces?: readonly string[];
  /** `--input-raw-monitor`: RF monitor mode; ignored (with a warning) when the device cannot do it, as gor does. */
  readonly monitor?: boolean;
  /** libpcap immediate mode: every packet as soon as it arrives, no read timeout. */
  readonly immediate?: boolean;
  /**
   * `--input-raw-timestamp-type`: `host`, `host_lowprec`, `host_hiprec`, `adapter`, `adapter_unsynced` (also
   * written `PCAP_TSTAMP_HOST` …), or `go`: the wall clock when the packet is read.
   */
  readonly timestampType?: string;
  /** Pause reading when this many bytes of batches wait for the consumer. Default 64 MiB. */
  readonly maxQueuedBytes?: number;
}

export interface LibpcapStats {
  /** pcap_stats ps_recv. On Linux the kernel's count, which on `lo` includes the outgoing copies libpcap skips. */
  readonly received: number;
  /** pcap_stats ps_drop: dropped because libpcap's buffer was full. */
  readonly dropped: number;
  /** pcap_stats ps_ifdrop: dropped by the interface or its driver. */
  readonly ifDropped: number;
  /** Wake-ups that delivered at least one packet (= JS callbacks). */
  readonly batches: number;
  /** Packets handed to JavaScript. */
  readonly delivered: number;
  readonly deliveredBytes: number;
  /** Packets cut by the snaplen. */
  readonly truncated: number;
  readonly queuedBatches: number;
  readonly queuedBytes: number;
  /** Times reading paused because the consumer fell behind. */
  readonly pauses: number;
  readonly paused: boolean;
}

export interface LibpcapCapture {
  readonly interface: string;
  /** The interface index, 0 for `any` or when unknown. */
  readonly ifindex: number;
  /** LINKTYPE_* of the packets. */
  readonly linkType: number;
  /** pcap_datalink (DLT_*), which differs from linkType only for raw IP (DLT 12/14 → LINKTYPE 101). */
  readonly datalink: number;
  /** The snaplen libpcap uses (pcap_snapshot). */
  readonly snaplen: number;
  /** The expression (for `Interface: lo . BPF Filter: …`), a program's text, or '' when none. */
  readonly filterText: string;
  /** Timestamps have nanosecond precision (else microseconds, or the wall clock for `go`). */
  readonly nanosecond: boolean;
  /** What libpcap warned about (promiscuous mode or time stamp type not supported, monitor mode ignored). */
  readonly warnings: readonly string[];
  /** pcap_lib_version(). */
  readonly libpcapVersion: string;
  /** The read timeout in ms (pcap_set_timeout). */
  readonly timeoutMs: number;
  /** How long close() waits for the block the kernel is filling to be retired (the read timeout, capped). */
  readonly stopWaitMs: number;
  /**
   * close() does not wait out the whole read timeout (it is longer than MAX_STOP_WAIT_MS): packets the kernel
   * put in its current block since the last hand-over may never come out. The caller should say so at stop.
   */
  readonly stopCutsTimeout: boolean;
  /** Batches of packets, one array per wake-up. Single consumer; ends after close(). */
  readonly packets: AsyncIterable<RawPacket[]>;
  stats(): LibpcapStats;
  /** Replace the filter while capturing. */
  setFilter(filter: LibpcapFilter | undefined): void;
  /** Let the process exit while this capture is open (or undo that). */
  unref(): void;
  ref(): void;
  /**
   * Stop capturing. Packets libpcap still holds (also those in the block the kernel was filling, which takes
   * up to the read timeout to come out, waited for at most MAX_STOP_WAIT_MS) and batches already queued are
   * delivered, then the iterator ends. Idempotent.
   */
  close(): void;
}

/** True when the addon is built and libpcap could be loaded. */
export function libpcapAvailable(): boolean {
  return libpcapStatus().available;
}

/** pcap_lib_version() of the loaded libpcap, or undefined. */
export function libpcapVersion(): string | undefined {
  return libpcapStatus().version;
}

/** LINKTYPE_* (pcap files, RawPacket) → DLT_* (libpcap's API); they differ only for raw IP. */
export function linkTypeToDlt(linkType: number): number {
  return linkType === LinkType.RAW ? 12 : linkType;
}

/** DLT_* → LINKTYPE_*: DLT_RAW is 12 on most systems and 14 on OpenBSD; both are LINKTYPE_RAW. */
export function dltToLinkType(dlt: number): number {
  return dlt === 12 || dlt === 14 ? LinkType.RAW : dlt;
}

function badFilter(text: string, pcapMessage: string, cause: unknown): TaplineError {
  return new TaplineError(ERROR_CODES.USAGE, `invalid BPF filter expression "${text}": ${pcapMessage}`, {
    where: FILTER_FLAG,
    cause,
  });
}

function isCompileError(err: unknown): err is Error {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === 'PCAP_COMPILE';
}

/**
 * Compiles a tcpdump-style expression to classic BPF (what `tcpdump -d` shows), optimized, for packets of
 * `linkType` cut at `snaplen` (the accept instructions return it). Throws TaplineError: USAGE for a bad
 * expression (quoting libpcap's message) or a program longer than the kernel takes; CAPTURE_FAILED when
 * libpcap is missing.
 */
export function compileBpfExpression(
  text: string,
  linkType: number = LinkType.ETHERNET,
  snaplen: number = DEFAULT_SNAPLEN,
): BpfInstruction[] {
  if (!Number.isInteger(snaplen) || snaplen < 1 || snaplen > 0x7fffffff) {
    throw new TaplineError(ERROR_CODES.USAGE, `snaplen ${snaplen} must be a positive integer`, { where: FILTER_FLAG });
  }
  let addon: ReturnType<typeof loadLibpcap>;
  try {
    addon = loadLibpcap();
  } catch (err) {
    throw withoutLibpcapForFilter(err);
  }
  let program: BpfInstruction[];
  try {
    program = addon.compileBpf(text, linkTypeToDlt(linkType), snaplen);
  } catch (cause) {
    if (isCompileError(cause)) throw badFilter(text, cause.message, cause);
    throw new TaplineError(
      ERROR_CODES.CAPTURE_FAILED,
      `compiling the BPF filter "${text}" failed: ${cause instanceof Error ? cause.message : String(cause)}`,
      { where: FILTER_FLAG, cause },
    );
  }
  if (program.length > BPF_MAXINSNS) {
    throw new TaplineError(
      ERROR_CODES.USAGE,
      `BPF filter expression "${text}" compiles to ${program.length} instructions; the kernel takes at most ${BPF_MAXINSNS}`,
      { where: FILTER_FLAG },
    );
  }
  return program;
}

/**
 * Without libpcap, the expression cannot be compiled, whatever the engine; the engine's own hint ('use
 * --input-raw-engine af_packet, which needs no libpcap') would send an af_packet user in a circle.
 */
function withoutLibpcapForFilter(err: unknown): unknown {
  if (!isTaplineError(err)) return err;
  const why = err.message
    .replace(/^the libpcap engine needs/, 'that needs')
    .replace(/,? or use --input-raw-engine af_packet, which needs no libpcap/, '');
  return new TaplineError(
    err.code,
    `the expression is compiled by libpcap, and ${why.replace(/\.$/, '')}; or leave the flag out (tapline ` +
      "builds gor's filter for the address itself, without libpcap)",
    { where: FILTER_FLAG, cause: err },
  );
}

function permissionError(iface: string, detail: string, cause: unknown): TaplineError {
  return new TaplineError(
    ERROR_CODES.CAPTURE_PERMISSION,
    `live capture on "${iface}" needs the CAP_NET_RAW capability (and CAP_NET_ADMIN for some settings), ` +
      `which this process does not have (libpcap: ${detail}). Run as root, or give them to the node binary once: ` +
      `${SETCAP_HINT} (in a container: --cap-add NET_RAW --cap-add NET_ADMIN). Reading a pcap file needs no privileges.`,
    { where: iface, cause },
  );
}

/** Maps an error of the addon (error.code = PCAP_ERROR_* name) to a TaplineError. */
function pcapError(iface: string, what: string, cause: unknown): TaplineError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  const msg = cause instanceof Error ? cause.message : String(cause);
  switch (code) {
    case 'PCAP_ERROR_PERM_DENIED':
    case 'PCAP_ERROR_PROMISC_PERM_DENIED':
      return permissionError(iface, msg, cause);
    case 'PCAP_ERROR_NO_SUCH_DEVICE':
      return new TaplineError(ERROR_CODES.BAD_ADDRESS, `no network interface named "${iface}" (libpcap: ${msg})`, {
        where: iface,
        cause,
      });
    case 'PCAP_ERROR_IFACE_NOT_UP':
      return new TaplineError(ERROR_CODES.CAPTURE_FAILED, `interface "${iface}" is down (libpcap: ${msg})`, {
        where: iface,
        cause,
      });
    case 'PCAP_BAD_TSTAMP_TYPE':
    case 'PCAP_ERROR_CANTSET_TSTAMP_TYPE':
      return new TaplineError(
        ERROR_CODES.USAGE,
        `${msg} (use host, host_lowprec, host_hiprec, adapter, adapter_unsynced or go)`,
        { where: TSTAMP_FLAG, cause },
      );
    default:
      return new TaplineError(ERROR_CODES.CAPTURE_FAILED, `${what} on "${iface}" failed: ${msg}`, {
        where: iface,
        cause,
      });
  }
}

function usage(where: string, message: string): TaplineError {
  return new TaplineError(ERROR_CODES.USAGE, message, { where });
}

/** `PCAP_TSTAMP_HOST_HIPREC` → `host_hiprec`; other spellings pass through for libpcap to judge. */
function timestampName(t: string): string {
  return t.replace(/^PCAP_TSTAMP_/i, '').toLowerCase();
}

/** libpcap's time stamp type names (pcap_tstamp_type_name_to_val), as `--input-raw-timestamp-type` takes them. */
const TIMESTAMP_TYPES = ['host', 'host_lowprec', 'host_hiprec', 'host_hiprec_unsynced', 'adapter', 'adapter_unsynced'];

/**
 * Refuses a `--input-raw-timestamp-type` neither libpcap nor gor (`go`) knows, whatever the engine: called when
 * the input is created, so the mistake exits 2 instead of failing the input when it opens (libpcap) or being
 * ignored (af_packet). Also written `PCAP_TSTAMP_HOST`, in any case.
 */
export function checkTimestampType(text: string): void {
  if (text === '' || text === 'go' || TIMESTAMP_TYPES.includes(timestampName(text))) return;
  throw usage(TSTAMP_FLAG, `unknown time stamp type ${JSON.stringify(text)} (use ${TIMESTAMP_TYPES.join(', ')} or go)`);
}

function filterText(filter: LibpcapFilter | undefined): string {
  if (filter === undefined || filter === null) return '';
  return typeof filter === 'string' ? filter : (filter.text ?? '');
}

/**
 * The numbers libpcap takes (snaplen, read timeout, buffer size), checked without opening anything: `openLibpcap`
 * runs it, and the CLI runs it when the input is created, so a bad value exits 2 before the run.
 */
export function checkLibpcapRanges(options: Pick<LibpcapOptions, 'snaplen' | 'timeoutMs' | 'bufferSize'>): void {
  const snaplen = options.snaplen ?? DEFAULT_SNAPLEN;
  if (!Number.isInteger(snaplen) || snaplen < 64 || snaplen > 16 * 1024 * 1024) {
    throw usage('--input-raw-snaplen', `snaplen ${snaplen} must be an integer from 64 to 16777216`);
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 0 || timeoutMs > 3_600_000) {
    throw usage('--input-raw-buffer-timeout', `read timeout ${timeoutMs} ms must be an integer from 0 to 3600000`);
  }
  const bufferSize = options.bufferSize ?? 0;
  if (!Number.isInteger(bufferSize) || bufferSize < 0 || bufferSize > 0x7fffffff) {
    throw usage('--input-raw-buffer-size', `buffer size ${bufferSize} must be an integer from 0 to 2147483647`);
  }
}

/**
 * The longest close() waits for the kernel to retire the block it is filling (gor's default read timeout).
 * A longer --input-raw-buffer-timeout (up to an hour) would otherwise hold every stop that long.
 */
export const MAX_STOP_WAIT_MS = 2000;
/** Beyond the read timeout: the retire timer fires, then the descriptor must be polled once more. */
const STOP_MARGIN_MS = 25;

/** How long the kernel may hold the block it is filling, plus the margin (a timeout of 0 is taken as 10 ms). */
function retireWaitMs(timeoutMs: number, immediate: boolean): number {
  return (immediate ? 0 : timeoutMs > 0 ? timeoutMs : DEFAULT_TIMEOUT_MS) + STOP_MARGIN_MS;
}

function stopWaitMs(timeoutMs: number, immediate: boolean): number {
  return Math.min(retireWaitMs(timeoutMs, immediate), MAX_STOP_WAIT_MS + STOP_MARGIN_MS);
}

/** Opens a live capture. Throws TaplineError: CAPTURE_FAILED (also when libpcap is missing), CAPTURE_PERMISSION, BAD_ADDRESS, USAGE. */
export function openLibpcap(options: LibpcapOptions): LibpcapCapture {
  const addon = loadLibpcap();
  const name = options.interface === '' ? 'any' : options.interface;
  checkLibpcapRanges(options);
  const snaplen = options.snaplen ?? DEFAULT_SNAPLEN;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const bufferSize =
    options.bufferSize !== undefined && options.bufferSize > 0 ? options.bufferSize : DEFAULT_BUFFER_SIZE;
  const maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
  const tstamp = options.timestampType ?? '';
  const wallClock = tstamp === 'go';
  const ignored = options.ignoreInterfaces ?? [];
  if (name !== 'any' && ignored.includes(name)) {
    throw new TaplineError(ERROR_CODES.BAD_ADDRESS, `interface "${name}" is listed in --input-raw-ignore-interface`, {
      where: name,
    });
  }
  // On `any`, interfaces are left out by the filter (`not ifindex N`), which needs each packet's interface:
  // LINUX_SLL2 frames carry it (libpcap 1.10), LINUX_SLL ones do not.
  const leaveOut = name === 'any' ? interfaceIndexes(ignored) : [];

  let handle: NativePcapHandle;
  try {
    handle = new addon.PcapHandle({
      device: name,
      snaplen,
      timeoutMs,
      bufferSize,
      promiscuous: options.promiscuous === true,
      ...(options.promiscuous === true && name === 'any'
        ? { promiscIfindexes: promiscuousIndexes(new Set(options.ignoreInterfaces ?? [])) }
        : {}),
      monitor: options.monitor === true,
      immediate: options.immediate === true,
      timestampType: wallClock ? '' : timestampName(tstamp),
      wallClock,
      stopWaitMs: stopWaitMs(timeoutMs, options.immediate === true),
      ...(leaveOut.length > 0 ? { linkType: DLT_LINUX_SLL2 } : {}),
    });
  } catch (cause) {
    throw pcapError(name, 'opening a libpcap capture', cause);
  }
  try {
    if (leaveOut.length > 0 && handle.info.datalink !== DLT_LINUX_SLL2) {
      throw new TaplineError(
        ERROR_CODES.CAPTURE_FAILED,
        `leaving interfaces out of a capture on every interface needs libpcap 1.10 or later (its LINUX_SLL2 frames ` +
          `name each packet's interface; this is ${libpcapStatus().version ?? 'an older libpcap'}): use the ` +
          'af_packet engine, or name the interface to capture on',
        { where: '--input-raw-ignore-interface' },
      );
    }
    const filter = withoutInterfaces(options.filter, leaveOut);
    applyFilter(handle, name, filter);
    return new Capture(handle, name, filterText(filter), maxQueuedBytes, libpcapStatus().version ?? '', leaveOut);
  } catch (err) {
    handle.close(true);
    throw err;
  }
}

const DLT_LINUX_SLL2 = 276;

/** `filter`, and not from the interfaces `leaveOut` (an expression; a ready program cannot be extended). */
function withoutInterfaces(filter: LibpcapFilter | undefined, leaveOut: readonly number[]): LibpcapFilter | undefined {
  if (leaveOut.length === 0) return filter;
  const not = `not (${leaveOut.map((i) => `ifindex ${i}`).join(' or ')})`;
  if (filter === undefined || filter === null || filter === '') return not;
  if (typeof filter !== 'string') {
    throw new TaplineError(ERROR_CODES.USAGE, 'a ready BPF program cannot leave interfaces out; give an expression', {
      where: '--input-raw-ignore-interface',
    });
  }
  return `(${filter}) and ${not}`;
}

function applyFilter(handle: NativePcapHandle, iface: string, filter: LibpcapFilter | undefined): void {
  try {
    if (filter === undefined || filter === null || filter === '') handle.setFilter(undefined);
    else if (typeof filter === 'string') handle.setFilter(filter);
    else handle.setFilter(encodeBpf(filter.program));
  } catch (cause) {
    if (typeof filter === 'string' && isCompileError(cause)) throw badFilter(filter, cause.message, cause);
    throw pcapError(iface, 'setting the capture filter', cause);
  }
}

class Capture implements LibpcapCapture {
  readonly interface: string;
  readonly ifindex: number;
  readonly linkType: number;
  readonly datalink: number;
  readonly snaplen: number;
  readonly nanosecond: boolean;
  readonly warnings: readonly string[];
  readonly timeoutMs: number;
  readonly stopWaitMs: number;
  readonly stopCutsTimeout: boolean;
  readonly packets: AsyncIterable<RawPacket[]>;

  /** Ends when the addon is done: nothing more will arrive. */
  private readonly queue: BatchQueue<LivePacket>;
  /** close() was called (the addon may still be draining). */
  private closing = false;

  constructor(
    private readonly handle: NativePcapHandle,
    iface: string,
    public filterText: string,
    maxQueuedBytes: number,
    readonly libpcapVersion: string,
    /** Interfaces every filter leaves out (`--input-raw-ignore-interface` on `any`). */
    private readonly leaveOut: readonly number[] = [],
  ) {
    this.interface = iface;
    const info: NativePcapInfo = handle.info;
    this.ifindex = info.ifindex;
    this.datalink = info.datalink;
    this.linkType = dltToLinkType(info.datalink);
    this.snaplen = info.snaplen;
    this.nanosecond = info.nanosecond;
    this.warnings = info.warnings;
    this.timeoutMs = info.timeoutMs;
    // An addon built before it reported the wait waits out the whole read timeout.
    const whole = retireWaitMs(info.timeoutMs, info.immediate);
    this.stopWaitMs = info.stopWaitMs ?? whole;
    this.stopCutsTimeout = this.stopWaitMs < whole;
    const linkType = this.linkType;
    this.queue = new BatchQueue(handle, maxQueuedBytes, (buf, count) => decodeRecords(buf, count, linkType));
    this.packets = { [Symbol.asyncIterator]: () => this.queue.iterator(() => this.close()) };
    handle.start(
      (buf, count) => this.queue.push(buf, count),
      (err) => this.onError(err),
      () => this.queue.end(),
    );
  }

  private onError(err: Error): void {
    this.handle.close(true);
    this.queue.fail(pcapError(this.interface, 'capturing', err));
  }

  stats(): LibpcapStats {
    const s: NativePcapStats = this.handle.stats();
    return {
      received: s.received,
      dropped: s.dropped,
      ifDropped: s.ifDropped,
      batches: s.batches,
      delivered: s.delivered,
      deliveredBytes: s.deliveredBytes,
      truncated: s.truncated,
      ...this.queue.stats(),
    };
  }

  setFilter(filter: LibpcapFilter | undefined): void {
    if (this.closing || this.queue.ended) {
      throw new TaplineError(ERROR_CODES.CAPTURE_FAILED, `the capture on "${this.interface}" is closed`, {
        where: this.interface,
      });
    }
    const applied = withoutInterfaces(filter, this.leaveOut);
    applyFilter(this.handle, this.interface, applied);
    this.filterText = filterText(applied);
  }

  ref(): void {
    this.handle.ref();
  }

  unref(): void {
    this.handle.unref();
  }

  close(): void {
    if (this.closing || this.queue.ended) return;
    this.closing = true;
    // true: the addon drains, then calls its end callback; false: it closed at once.
    if (!this.handle.close()) this.queue.end();
  }
}
