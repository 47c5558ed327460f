/**
 * Loads the libpcap engine's addon (native/build/…/tapline_libpcap.node, built with the af_packet one by
 * `node scripts/build-native.mjs`) and, through it, libpcap itself with dlopen. Neither is needed to build
 * or to install tapline: when one is missing, using the engine throws a TaplineError that says how to
 * get it. The addon's API is documented in native/src/libpcap.cc.
 */

import { ERROR_CODES, TaplineError } from '../../core/errors.js';
import { addonCandidates, loadAddon } from '../../core/native-addon.js';
import type { BpfInstruction } from '../bpf.js';

export interface NativePcapOptions {
  device: string;
  snaplen: number;
  timeoutMs: number;
  /** pcap_set_buffer_size, applied when > 0. */
  bufferSize?: number;
  promiscuous?: boolean;
  /** On `any` with promiscuous: the interfaces made promiscuous (a membership of libpcap's packet socket each). */
  promiscIfindexes?: number[];
  /** rfmon; ignored with a warning when the device cannot do it. */
  monitor?: boolean;
  immediate?: boolean;
  /** A pcap_tstamp_type_name_to_val name: host, host_lowprec, host_hiprec, adapter, adapter_unsynced. */
  timestampType?: string;
  /** Stamp packets with the wall clock when they are read. */
  wallClock?: boolean;
  maxBatchBytes?: number;
  /** A DLT to ask for after activation (pcap_set_datalink), e.g. 276 LINUX_SLL2 on `any`; see info.datalink. */
  linkType?: number;
  /** How long close() keeps the handle open for the kernel's last block (default: the read timeout + 25 ms). */
  stopWaitMs?: number;
}

export interface NativePcapStats {
  /** pcap_stats ps_recv, ps_drop, ps_ifdrop (accumulated in 64 bits). */
  received: number;
  dropped: number;
  ifDropped: number;
  batches: number;
  delivered: number;
  deliveredBytes: number;
  truncated: number;
  /** Packets left out because a batch could not grow (out of memory). */
  noMemory: number;
}

export interface NativePcapInfo {
  device: string;
  /** pcap_datalink (a DLT_ value). */
  datalink: number;
  /** pcap_snapshot: the snaplen libpcap really uses. */
  snaplen: number;
  timeoutMs: number;
  immediate: boolean;
  /** How long close() keeps the handle open (an addon built before it was reported: undefined). */
  stopWaitMs?: number;
  /** Timestamps have nanosecond precision (else microseconds). */
  nanosecond: boolean;
  ifindex: number;
  warnings: string[];
}

export interface NativePcapHandle {
  start(onBatch: (batch: Buffer, count: number) => void, onError: (err: Error) => void, onEnd: () => void): void;
  pause(): void;
  resume(): void;
  /** true: draining, onEnd() follows; false: closed now, no callback follows. */
  close(now?: boolean): boolean;
  stats(): NativePcapStats;
  /** An expression ('' or undefined: everything) or a Buffer of struct bpf_insn. */
  setFilter(filter: string | Buffer | undefined): void;
  ref(): void;
  unref(): void;
  readonly info: NativePcapInfo;
  readonly closed: boolean;
}

export interface NativeLibpcapModule {
  load(paths: string[]): { loaded: boolean; path?: string; version?: string; error?: string };
  compileBpf(expression: string, dlt: number, snaplen: number, optimize?: boolean): BpfInstruction[];
  PcapHandle: new (opts: NativePcapOptions) => NativePcapHandle;
  abiVersion: number;
}

const ABI_VERSION = 1;

/** What to tell someone who has no libpcap. */
export const LIBPCAP_INSTALL_HINT =
  'Install it (Debian/Ubuntu: apt-get install libpcap0.8; Fedora/RHEL: dnf install libpcap; Alpine: apk add libpcap), ' +
  'or use --input-raw-engine af_packet, which needs no libpcap';

/** Library names tried, in order; $TAPLINE_LIBPCAP (a name or a path) replaces them. */
export function libpcapCandidates(): string[] {
  const fromEnv = process.env.TAPLINE_LIBPCAP;
  if (fromEnv) return [fromEnv];
  if (process.platform === 'darwin') return ['libpcap.A.dylib', '/usr/lib/libpcap.A.dylib', 'libpcap.dylib'];
  return ['libpcap.so.0.8', 'libpcap.so.1', 'libpcap.so'];
}

/**
 * Where the addon is looked for: $TAPLINE_LIBPCAP_ADDON when set (only there); next to
 * $TAPLINE_NATIVE_ADDON when that is set; else native/build/{Release,Debug}.
 */
export function libpcapAddonCandidates(): string[] {
  return addonCandidates('tapline_libpcap.node', process.env.TAPLINE_LIBPCAP_ADDON);
}

export interface LibpcapStatus {
  readonly available: boolean;
  /** pcap_lib_version(), e.g. `libpcap version 1.10.3 (with TPACKET_V3)`. */
  readonly version?: string;
  /** The name or path that was opened. */
  readonly path?: string;
  /** Why it is not available (a TaplineError with CAPTURE_FAILED and the install hint). */
  readonly error?: TaplineError;
}

let status: LibpcapStatus | undefined;
let loadedModule: NativeLibpcapModule | undefined;

/** Loads the addon and libpcap once per process; never throws. */
export function libpcapStatus(): LibpcapStatus {
  if (status) return status;
  status = probe();
  return status;
}

function probe(): LibpcapStatus {
  const load = loadAddon<NativeLibpcapModule>('tapline_libpcap.node', ABI_VERSION, process.env.TAPLINE_LIBPCAP_ADDON);
  if (!load.addon) {
    const error =
      load.reason === 'missing'
        ? new TaplineError(
            ERROR_CODES.CAPTURE_FAILED,
            "the libpcap engine needs tapline's native addon, which is not built. Build it with " +
              '`node scripts/build-native.mjs` (needs g++, make and python3; libpcap itself is loaded at run time).',
            { where: load.where.join(' | ') },
          )
        : new TaplineError(
            ERROR_CODES.CAPTURE_FAILED,
            `the libpcap engine's addon could not be loaded (${load.detail}); rebuild it with \`node scripts/build-native.mjs\``,
            { where: load.where[0] },
          );
    return { available: false, error };
  }
  const mod = load.addon;
  const names = libpcapCandidates();
  const r = mod.load(names);
  if (!r.loaded) {
    return {
      available: false,
      error: new TaplineError(
        ERROR_CODES.CAPTURE_FAILED,
        `the libpcap engine needs libpcap, which is not installed or could not be loaded (tried ${names.join(', ')}). ` +
          `${LIBPCAP_INSTALL_HINT}.`,
        { where: 'libpcap', cause: new Error(r.error ?? 'dlopen failed') },
      ),
    };
  }
  loadedModule = mod;
  return { available: true, version: r.version ?? '', path: r.path ?? '' };
}

/** The addon with libpcap loaded, or the TaplineError that says what is missing. */
export function loadLibpcap(): NativeLibpcapModule {
  const s = libpcapStatus();
  if (!loadedModule) throw s.error ?? new TaplineError(ERROR_CODES.INTERNAL, 'libpcap status without an error');
  return loadedModule;
}
