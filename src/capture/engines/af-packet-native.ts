/**
 * Loads the capture addon (native/, built by `node scripts/build-native.mjs`) and describes its API.
 * The record layout of a batch is documented in native/src/af_packet.h.
 */
import { ERROR_CODES, TaplineError } from '../../core/errors.js';
import { addonCandidates, loadAddon } from '../../core/native-addon.js';

export interface NativeSocketOptions {
  /** Interface index; 0 = all interfaces. */
  ifindex: number;
  /** SOCK_DGRAM + synthesized LINUX_SLL headers instead of SOCK_RAW. */
  cooked: boolean;
  blockSize: number;
  blockCount: number;
  frameSize?: number;
  /** Block retire timeout (ms). */
  timeoutMs: number;
  promiscuous?: boolean;
  /** With ifindex 0: the interfaces promiscuous mode is set on (one membership each). */
  promiscIfindexes?: number[];
  /** `struct sock_filter[]` (see `encodeBpf`). */
  filter?: Buffer;
  /** Fanout group id (0..65535), or -1 for none. */
  fanoutGroup?: number;
  /** PACKET_FANOUT_* mode number. */
  fanoutMode?: number;
  /** Program for PACKET_FANOUT_CBPF. */
  fanoutFilter?: Buffer;
  dedupeLoopback?: boolean;
  /** Stop walking ready blocks once a batch holds this many bytes. */
  maxBatchBytes?: number;
}

export interface NativeStats {
  /** Packets that passed the filter (PACKET_STATISTICS tp_packets, which includes tp_drops). */
  packets: number;
  /** Packets the kernel dropped because the ring was full. */
  drops: number;
  freezeQueueCount: number;
  batches: number;
  delivered: number;
  deliveredBytes: number;
  blocks: number;
  loopbackSkipped: number;
  truncated: number;
}

export interface NativeRing {
  blockSize: number;
  blockCount: number;
  frameSize: number;
  timeoutMs: number;
  cooked: boolean;
  ifindex: number;
}

export interface NativeAfPacketSocket {
  start(onBatch: (batch: Buffer, count: number) => void, onError: (err: NodeJS.ErrnoException) => void): void;
  pause(): void;
  resume(): void;
  close(): void;
  stats(): NativeStats;
  setFilter(filter: Buffer | undefined): void;
  ref(): void;
  unref(): void;
  readonly ring: NativeRing;
  readonly closed: boolean;
}

export interface NativeInterfaceInfo {
  name: string;
  index: number;
  flags: number;
  mtu: number;
  /** ARPHRD_* */
  hatype: number;
}

export interface NativeCaptureModule {
  AfPacketSocket: new (opts: NativeSocketOptions) => NativeAfPacketSocket;
  interfaceInfo(name: string): NativeInterfaceInfo;
  interfaceName(index: number): string | undefined;
  constants: {
    RECORD_HEADER_SIZE: number;
    RECORD_ALIGN: number;
    FLAG_VLAN_REINSERTED: number;
    FLAG_SLL_SYNTHESIZED: number;
    FLAG_TRUNCATED: number;
    TPACKET3_HDRLEN: number;
    PAGE_SIZE: number;
  };
  abiVersion: number;
}

const ABI_VERSION = 1;
let cached: NativeCaptureModule | undefined;
let loadError: TaplineError | undefined;

/** Where the addon is looked for: $TAPLINE_NATIVE_ADDON when set (only there), else native/build/{Release,Debug}. */
export function nativeAddonCandidates(): string[] {
  return addonCandidates('tapline_capture.node', process.env.TAPLINE_NATIVE_ADDON);
}

/** The addon, or a TaplineError(CAPTURE_FAILED) that says how to get it. */
export function loadCaptureAddon(): NativeCaptureModule {
  if (cached) return cached;
  if (loadError) throw loadError;
  if (process.platform !== 'linux') {
    loadError = new TaplineError(
      ERROR_CODES.CAPTURE_FAILED,
      `the af_packet capture engine is Linux-only (this is ${process.platform}); use the libpcap engine or read a pcap file`,
    );
    throw loadError;
  }
  const load = loadAddon<NativeCaptureModule>('tapline_capture.node', ABI_VERSION, process.env.TAPLINE_NATIVE_ADDON);
  if (load.addon) {
    cached = load.addon;
    return load.addon;
  }
  loadError =
    load.reason === 'missing'
      ? new TaplineError(
          ERROR_CODES.CAPTURE_FAILED,
          "live capture needs tapline's native capture addon, which is not built. Build it with `node scripts/build-native.mjs` " +
            '(needs g++, make and python3; no libpcap). Reading pcap files works without it.',
          { where: load.where.join(' | ') },
        )
      : new TaplineError(
          ERROR_CODES.CAPTURE_FAILED,
          `the native capture addon could not be loaded (${load.detail}); rebuild it with \`node scripts/build-native.mjs\``,
          { where: load.where[0] },
        );
  throw loadError;
}

export function captureAddonAvailable(): boolean {
  try {
    loadCaptureAddon();
    return true;
  } catch {
    return false;
  }
}
