/**
 * Packet sources for `--input-raw`: one small adapter per engine, all with the same shape, so the raw input
 * does not care where packets come from.
 *
 *   pcap_file ─▶ PcapFileReader (pcap / pcapng, pure TS)        ┐
 *   af_packet ─▶ TPACKET_V3 ring (native addon; raw_socket too) ├─▶ PacketSource.packets: RawPacket[] batches
 *   libpcap   ─▶ libpcap loaded at run time (native addon)      ┤
 *   vxlan     ─▶ UDP listener, VXLAN unwrapped (node:dgram)     ┘
 *
 * Which interface and which hosts a live address means follows gor (spec §8.1–8.2): no host = every
 * interface, filtered to the machine's own addresses; an IP = the interface that owns it (or every interface
 * with a host filter); a name = that interface and its addresses; `eth*` = the first interface with that prefix.
 */

import { createReadStream } from 'node:fs';
import { isIP } from 'node:net';
import { createGunzip } from 'node:zlib';
import { type CaptureFilter, gorFilterText } from '../../capture/bpf.js';
import {
  type AfPacketCapture,
  canonicalInterfaceName,
  checkAfPacketFilterSize,
  DEFAULT_TIMEOUT_MS,
  interfaceAddresses,
  listInterfaceNames,
  openAfPacket,
} from '../../capture/engines/af-packet.js';
import { compileBpfExpression, MAX_STOP_WAIT_MS, openLibpcap } from '../../capture/engines/libpcap.js';
import { openPcapFile, type PcapFileReader, readPcapStream } from '../../capture/engines/pcap-file.js';
import { bpfFileFilter } from '../../capture/engines/pcap-file-filter.js';
import { openVxlan } from '../../capture/engines/vxlan.js';
import { LinkType, type PacketBatch } from '../../capture/types.js';
import { ERROR_CODES, isTaplineError, TaplineError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { formatGoDuration } from '../../core/values.js';
import { type RawAddress, STDIN_CAPTURE } from './address.js';
import { flowAddon } from './native-flows.js';

export interface PacketSource {
  readonly live: boolean;
  /** gor's log line for the filter (`Interface: lo . BPF Filter: …`), or ''. */
  readonly filterText: string;
  /**
   * Packet batches: views of the engine's buffer where it has one the native flow core can read (classic
   * pcap files, af_packet), packet arrays otherwise.
   */
  readonly packets: AsyncIterable<PacketBatch>;
  /**
   * A live engine's read timeout: how long a captured packet may wait in the engine before it is handed over
   * while tapline keeps up (see LiveExpiryClock).
   */
  readonly deliveryDelayMs?: number;
  /** Engine counters (kernel received/dropped for live captures). */
  stats(): Record<string, number>;
  /** Stop: packets already captured are still delivered, then `packets` ends. */
  close(): void;
}

export type EngineName = 'af_packet' | 'libpcap' | 'pcap_file' | 'vxlan';

export interface LiveCaptureOptions {
  trackResponse: boolean;
  promiscuous: boolean;
  snaplen: number;
  bufferSize: number | undefined;
  timeoutMs: number | undefined;
  ignoreInterfaces: readonly string[];
  vlan: boolean;
  vlanIds: readonly number[];
  /** A tcpdump expression replacing the generated filter (`--input-raw-bpf-filter`). */
  bpfFilter: string;
}

/**
 * A pcap or pcapng file: packets in file order, timestamps as recorded. `bpfFilter` (a tcpdump expression)
 * picks packets as gor's libpcap does on files; the others are counted (`bpf_filtered`).
 */
export function openFileSource(address: RawAddress, log: Logger, bpfFilter = ''): PacketSource {
  const options = {
    onWarning: (w: { where: string; message: string }) => log.warn(`${w.where}: ${w.message}`, 'input-raw:pcap'),
    ...(bpfFilter === '' ? {} : { filter: bpfFileFilter(bpfFilter) }),
  };
  // `-`: standard input (`tcpdump -w - | tapline --input-raw -:80`), read as it comes; destroyed at close, so
  // a stop does not wait for a writer that is still capturing.
  const stdin = address.host === STDIN_CAPTURE ? process.stdin : null;
  const reader =
    stdin !== null
      ? readPcapStream(stdin, { ...options, name: 'stdin' })
      : /\.gz$/i.test(address.host)
        ? readGzipPcap(address.host, options)
        : openPcapFile(address.host, options);
  let stop = false;
  const filter: CaptureFilter = { ports: address.ports, trackResponse: true };
  return {
    live: false,
    filterText: `BPF Filter: ${bpfFilter === '' ? gorFilterText(filter) : bpfFilter}`,
    packets: {
      async *[Symbol.asyncIterator]() {
        // Views only help the native fast path; without it, packet objects straight from the parser.
        try {
          for await (const batch of flowAddon() !== null ? reader.batches() : reader) {
            yield batch;
            if (stop) return;
          }
        } catch (err) {
          if (stop && stdin !== null) return; // the stream destroyed by close()
          throw err;
        }
      },
    },
    stats: () => ({
      file_packets: reader.stats.packets,
      file_bytes: reader.stats.bytes,
      snaplen_truncated: reader.stats.snaplenCut,
      bpf_filtered: reader.stats.filtered,
      // The file ends inside a record (a copy taken while tcpdump wrote it): its last packet was never read.
      file_cut_short: reader.stats.truncatedAtEof,
    }),
    close: () => {
      stop = true;
      stdin?.destroy();
    },
  };
}

/**
 * `dump.pcap.gz` (as logrotate or `tcpdump -w … -z gzip` leave captures; tshark reads them as they are):
 * decompressed as it is read. A file that cannot be opened or is not gzip data is said as the file's error.
 */
function readGzipPcap(path: string, options: Parameters<typeof readPcapStream>[1]): PcapFileReader {
  const file = createReadStream(path);
  const gunzip = createGunzip();
  file.on('error', (err) => gunzip.destroy(err));
  return readPcapStream(file.pipe(gunzip), { ...options, name: path });
}

/** The interface to open and the host addresses to filter on, for a live address. */
export function resolveLiveAddress(address: RawAddress): { iface: string; hosts: string[] } {
  const host = address.host;
  if (host === '' || host === 'any') return { iface: 'any', hosts: host === 'any' ? [] : interfaceAddresses('any') };
  const names = listInterfaceNames();
  if (host.endsWith('*')) {
    const prefix = host.slice(0, -1);
    const match = names.find((n) => n.startsWith(prefix));
    if (!match) throw badAddress(address, `no interface name starts with "${prefix}" (have: ${names.join(', ')})`);
    return { iface: match, hosts: interfaceAddresses(match) };
  }
  if (names.includes(host)) return { iface: host, hosts: interfaceAddresses(host) };
  const main = canonicalInterfaceName(host); // an alternative name, as tcpdump -i takes it
  if (main !== undefined && names.includes(main)) return { iface: main, hosts: interfaceAddresses(main) };
  if ((/^[\d.]+$/.test(host) || host.includes(':')) && isIP(host.split('%')[0]!) === 0) {
    // 999.1.1.1 or 10.0.0: said here with the interfaces, not later by the filter as 'not an IP address'.
    throw badAddress(address, `"${host}" is neither an interface (have: ${names.join(', ')}) nor an IP address`);
  }
  if (/^[\d.]+$/.test(host) || host.includes(':')) {
    // A link-local address carries its interface as a zone (fe80::1%eth0): the zone names where to capture,
    // and the filter takes the address without it (libpcap cannot parse 'dst host fe80::1%eth0').
    const [ip, zone] = host.split('%') as [string, string | undefined];
    const zoneIface = zone === undefined ? undefined : names.includes(zone) ? zone : canonicalInterfaceName(zone);
    if (zone !== undefined && (zoneIface === undefined || !names.includes(zoneIface))) {
      throw badAddress(address, `the zone of "${host}" names no interface (have: ${names.join(', ')})`);
    }
    // Compared in the form the system lists its addresses in: `[0:0:0:0:0:0:0:1]` or `[FD00::2]` is lo or eth0.
    const listed = canonicalIp(ip);
    const owner = zoneIface ?? names.find((n) => interfaceAddresses(n).includes(listed));
    // localhost is ::1 as well: gor's 127.0.0.1 alone missed every client that reached it over IPv6.
    if (address.localhost && owner !== undefined && interfaceAddresses(owner).includes('::1')) {
      return { iface: owner, hosts: [ip, '::1'] };
    }
    return { iface: owner ?? 'any', hosts: [ip] };
  }
  throw badAddress(address, `"${host}" is neither an interface (have: ${names.join(', ')}) nor an IP address`);
}

/** An IP address as os.networkInterfaces() lists it: IPv6 lower-case and compressed (RFC 5952). */
function canonicalIp(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  try {
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    return ip;
  }
}

/** gor's auto filter for a live address (spec §8.2). */
function autoFilter(address: RawAddress, o: LiveCaptureOptions, hosts: readonly string[]): CaptureFilter {
  return {
    ports: address.ports,
    hosts,
    trackResponse: o.trackResponse,
    promiscuous: o.promiscuous,
    vlan: o.vlan,
    vlanIds: o.vlanIds,
  };
}

/**
 * The generated af_packet filter, checked before the run (a usage error, exit 2): a port or host list the
 * kernel cannot take (BPF_MAXINSNS). Not with `--input-raw-bpf-filter`, which replaces it.
 */
export function checkAfPacketFilter(address: RawAddress, o: LiveCaptureOptions): void {
  if (address.file || o.bpfFilter !== '') return;
  let live: ReturnType<typeof resolveLiveAddress>;
  try {
    live = resolveLiveAddress(address);
  } catch {
    return; // the input says what is wrong with the address when it opens
  }
  checkAfPacketFilterSize({
    interface: live.iface,
    filter: autoFilter(address, o, live.hosts),
    snaplen: o.snaplen,
    ignoreInterfaces: o.ignoreInterfaces,
  });
}

/**
 * What a live engine's packets start with on `iface`, for compiling `--input-raw-bpf-filter`: af_packet's
 * socket on `any` shows the filter the IP packet, libpcap's shows a Linux cooked header; one interface is
 * taken as Ethernet (libpcap compiles for the interface's own link type when it opens).
 */
function filterLinkType(engine: 'af_packet' | 'libpcap', iface: string): number {
  if (iface !== 'any') return LinkType.ETHERNET;
  return engine === 'libpcap' ? LinkType.LINUX_SLL : LinkType.RAW;
}

/** A live address that opens `any` (false for a file, or an address the input will refuse when it opens). */
function capturesEveryInterface(address: RawAddress): boolean {
  if (address.file) return false;
  try {
    return resolveLiveAddress(address).iface === 'any';
  } catch {
    return false; // the input says what is wrong with the address when it opens
  }
}

/**
 * Checks `--input-raw-bpf-filter` before the run (a usage error, exit 2): its syntax, and, for a live
 * capture on every interface, that it can filter what that capture sees (no Ethernet header there, so
 * `vlan` or `ether host` cannot be compiled for it; before, that was found only when the input opened).
 */
export function checkFilterExpression(address: RawAddress, engine: EngineName, expression: string): void {
  compileBpfExpression(expression);
  if (engine !== 'af_packet' && engine !== 'libpcap') return;
  if (!capturesEveryInterface(address)) return;
  try {
    compileBpfExpression(expression, filterLinkType(engine, 'any'));
  } catch (err) {
    if (!isTaplineError(err) || err.code !== ERROR_CODES.USAGE) throw err;
    throw new TaplineError(
      ERROR_CODES.USAGE,
      `${err.message}: capturing on every interface (${address.text}), the filter sees packets without their ` +
        `Ethernet header (${engine === 'libpcap' ? 'Linux cooked frames' : 'IP packets'}); name one interface ` +
        '(eth0:80) to filter on VLAN tags or Ethernet addresses',
      { where: err.where ?? '--input-raw-bpf-filter', cause: err },
    );
  }
}

/**
 * `--input-raw-vlan` / `--input-raw-vlan-vid` with the libpcap engine on every interface: libpcap's `any`
 * device gives cooked frames without the VLAN tags, so gor's `vlan …` filter cannot be compiled for it (that
 * failed when the input opened, exit 1, blamed on --input-raw-bpf-filter, which was not given). A usage error
 * before the run. af_packet's own filter reads the tags the kernel keeps beside the packet.
 */
export function checkVlanCapture(address: RawAddress, engine: EngineName, o: LiveCaptureOptions): void {
  if (engine !== 'libpcap' || o.bpfFilter !== '' || (!o.vlan && o.vlanIds.length === 0)) return;
  if (!capturesEveryInterface(address)) return;
  throw new TaplineError(
    ERROR_CODES.USAGE,
    `with the libpcap engine, VLAN filtering needs one interface (eth0:80): capturing on every interface ` +
      `(${address.text}), libpcap gives frames without their VLAN tags; or use the af_packet engine`,
    { where: o.vlanIds.length > 0 ? '--input-raw-vlan-vid' : '--input-raw-vlan' },
  );
}

/** `fanout`: join this PACKET_FANOUT group (one socket per `--input-raw-workers` worker). */
export function openAfPacketSource(
  address: RawAddress,
  o: LiveCaptureOptions,
  fanout?: { group: number; mode: 'hash' },
): PacketSource {
  const { iface, hosts } = resolveLiveAddress(address);
  const filter = autoFilter(address, o, hosts);
  // A custom expression is compiled by libpcap (loaded at run time); on `any` the kernel filter sees the IP packet.
  const custom =
    o.bpfFilter === ''
      ? undefined
      : {
          program: compileBpfExpression(o.bpfFilter, filterLinkType('af_packet', iface), o.snaplen),
          text: o.bpfFilter,
        };
  const capture: AfPacketCapture = openAfPacket({
    interface: iface,
    filter: custom ?? filter,
    snaplen: o.snaplen,
    ...(o.bufferSize !== undefined ? { bufferSize: o.bufferSize } : {}),
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
    promiscuous: o.promiscuous,
    ignoreInterfaces: o.ignoreInterfaces,
    ...(fanout ? { fanout } : {}),
  });
  const packets = flowAddon() !== null ? capture.views : capture.packets;
  const viewed = { interface: capture.interface, filterText: capture.filterText, packets };
  const delay = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return liveSource({ ...viewed, deliveryDelayMs: delay, close: () => capture.close() }, () => {
    const s = capture.stats();
    return { kernel_received: s.received, kernel_dropped: s.dropped, snaplen_truncated: s.truncated };
  });
}

/**
 * The libpcap engine: gor's generated filter text (or `--input-raw-bpf-filter`) compiled by libpcap itself.
 * What libpcap warned about when it opened (monitor mode or a time stamp type the device cannot do, promiscuous
 * mode not supported) is said once; so is, at stop, a read timeout too long to wait out (see MAX_STOP_WAIT_MS).
 */
export function openLibpcapSource(
  address: RawAddress,
  o: LiveCaptureOptions,
  extra: { timestampType: string; monitor: boolean },
  log: Logger,
): PacketSource {
  const { iface, hosts } = resolveLiveAddress(address);
  const text = o.bpfFilter !== '' ? o.bpfFilter : gorFilterText(autoFilter(address, o, hosts));
  const capture = openLibpcap({
    interface: iface,
    filter: text,
    snaplen: o.snaplen,
    ...(o.bufferSize !== undefined ? { bufferSize: o.bufferSize } : {}),
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
    promiscuous: o.promiscuous,
    ignoreInterfaces: o.ignoreInterfaces,
    monitor: extra.monitor,
    ...(extra.timestampType !== '' && extra.timestampType !== 'go' ? { timestampType: extra.timestampType } : {}),
  });
  const where = `input-raw(${address.text})`;
  for (const w of capture.warnings) log.warn(`${where}: libpcap on ${capture.interface}: ${w}`);
  const close = () => {
    // The kernel's count (on lo with each packet's outgoing copy, which libpcap skips) above what came out.
    const s = capture.stats();
    if (capture.stopCutsTimeout && s.received > s.delivered + s.dropped) {
      log.warn(
        `${where}: libpcap hands packets over when a block of its buffer fills or every ` +
          `--input-raw-buffer-timeout (${formatGoDuration(capture.timeoutMs)}); the stop waits ${formatGoDuration(MAX_STOP_WAIT_MS)} ` +
          'for the last block, not the whole timeout, so packets captured since the last hand-over may be missing ' +
          '(a shorter --input-raw-buffer-timeout, or the af_packet engine, delivers them)',
      );
    }
    capture.close();
  };
  return liveSource(
    {
      interface: capture.interface,
      filterText: capture.filterText,
      packets: capture.packets,
      deliveryDelayMs: capture.timeoutMs,
      close,
    },
    () => {
      const s = capture.stats();
      return {
        kernel_received: s.received,
        kernel_dropped: s.dropped,
        interface_dropped: s.ifDropped,
        snaplen_truncated: s.truncated,
      };
    },
  );
}

/**
 * The vxlan engine: a UDP listener on 0.0.0.0:`port` (0 = 4789) receiving VXLAN-encapsulated traffic,
 * filtered by VNI (gor's rules), and by `bpfFilter` on the inner Ethernet frames when given (the packets it
 * leaves out counted as `bpf_filtered`, as on a capture file). The address's host is not used (there is no
 * interface to open); its ports still say which connections are HTTP servers.
 */
export async function openVxlanSource(
  o: { port: number; vnis: readonly number[]; bufferSize: number | undefined; bpfFilter?: string },
  address: RawAddress,
): Promise<PacketSource> {
  const custom = o.bpfFilter ?? '';
  const capture = await openVxlan({
    port: o.port,
    vnis: o.vnis,
    ...(o.bufferSize !== undefined ? { bufferSize: o.bufferSize } : {}),
    ...(custom !== '' ? { filter: bpfFileFilter(custom) } : {}),
  });
  const vnis = o.vnis.length > 0 ? o.vnis.join(',') : 'all';
  const filter = custom !== '' ? custom : gorFilterText({ ports: address.ports, trackResponse: true });
  return {
    live: true,
    filterText: `VXLAN listener: udp ${capture.host}:${capture.port} (VNI ${vnis}) . BPF Filter: ${filter}`,
    packets: capture.packets,
    stats: () => {
      const s = capture.stats();
      return {
        vxlan_port: capture.port,
        vxlan_datagrams: s.datagrams,
        vxlan_malformed: s.malformed,
        vxlan_filtered: s.filtered,
        vxlan_dropped: s.dropped,
        ...(s.kernelDropped !== null ? { kernel_dropped: s.kernelDropped } : {}),
        ...(custom !== '' ? { bpf_filtered: s.bpfFiltered } : {}),
      };
    },
    close: () => capture.close(),
  };
}

/** A live engine's capture as a source, with gor's log line for its filter. */
function liveSource(
  capture: {
    interface: string;
    filterText: string;
    packets: AsyncIterable<PacketBatch>;
    deliveryDelayMs: number;
    close(): void;
  },
  stats: () => Record<string, number>,
): PacketSource {
  return {
    live: true,
    filterText: `Interface: ${capture.interface} . BPF Filter: ${capture.filterText}`,
    packets: capture.packets,
    deliveryDelayMs: capture.deliveryDelayMs,
    stats,
    close: () => capture.close(),
  };
}

function badAddress(address: RawAddress, why: string): TaplineError {
  return new TaplineError(ERROR_CODES.BAD_ADDRESS, why, { where: `--input-raw ${address.text}` });
}
