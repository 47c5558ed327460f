/**
 * One entry point from `RawPacket` to `TcpSegment`:
 *
 *   link (ethernet/vlan, sll, null, raw, nflog) ──▶ [VLAN filter] ──▶ ipv4 | ipv6 (+ extension headers)
 *     ──▶ [fragment table: hold, or complete into one payload] ──▶ tcp ──▶ DecodedSegment
 *                                                              ├─▶ udp:vxlanPort ──▶ [VNI filter] ──▶ inner Ethernet ──▶ (again)
 *                                                              ├─▶ IP in IP (4, 41) ──▶ inner IPv4 | IPv6 ──▶ (again)
 *                                                              └─▶ GRE (47) ──▶ inner IP | Ethernet (ERSPAN) ──▶ (again)
 *   (PPPoE session frames and MPLS label stacks are unwrapped to their packet before the network layer, at
 *   any depth.)
 *
 * Stateful only because of fragment reassembly. Every packet that does not become a segment is counted
 * under one reason (`counters.dropped`) or held as a fragment, and `lastDrop` says what happened to the
 * packet just decoded.
 */
import { type RawPacket, type TcpSegment, TunnelKind, tunnelId, vlanKey } from '../types.js';
import { AddressText } from './address.js';
import { parseEthernet } from './ethernet.js';
import { DEFAULT_FRAGMENT_LIMITS, type FragmentCounters, type FragmentLimits, FragmentTable } from './fragments.js';
import { PROTO_GRE, parseGre } from './gre.js';
import { IpInfo, PROTO_IPIP, PROTO_IPV6, PROTO_TCP, PROTO_UDP } from './ip.js';
import { parseIpv4 } from './ipv4.js';
import { isIpv6Extension, parseIpv6, walkIpv6Extensions } from './ipv6.js';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6, LinkInfo, parseLink } from './link.js';
import { isMpls, parseMpls } from './mpls.js';
import { ETHERTYPE_PPPOE_SESSION, parsePppoe } from './pppoe.js';
import { type DropReason, emptyDropCounts, type NullReason } from './reasons.js';
import { type DecodedSegment, NO_VLANS } from './segment.js';
import { parseTcp, TcpInfo } from './tcp.js';
import { parseUdp, type UdpView } from './udp.js';
import { createVniFilter, DEFAULT_VXLAN_PORT, parseVxlan } from './vxlan.js';

export interface DecoderOptions {
  /** UDP port whose packets are unwrapped as VXLAN. Default 4789 (0 also means 4789, as in gor); null: never. */
  vxlanPort?: number | null;
  /** VNI allow (positive) / deny (negative) list, gor's `--input-raw-vxlan-vni` semantics. */
  vxlanVnis?: readonly number[];
  /** Keep only frames carrying one of these VLAN ids (at any depth of the tag stack). */
  vlanIds?: readonly number[];
  /** Keep only VLAN-tagged frames (gor's `--input-raw-vlan`). */
  vlanOnly?: boolean;
  /** Bounds of the IP fragment reassembly table. */
  fragments?: Partial<{ maxDatagrams: number; maxBytes: number; timeoutMs: number }>;
  /**
   * `decode` returns the same segment object every time, overwritten by the next call (its `payload` and
   * `vlanIds` are still new each time, so they may be kept). For a caller that is done with a segment before
   * it decodes the next packet (the flow pipeline): one object less per packet. Default false.
   */
  reuseSegment?: boolean;
}

export interface DecodeCounters {
  /** Packets given to `decode`. */
  packets: number;
  /** Segments returned. */
  segments: number;
  /** Segments returned with `truncated` set (the snaplen cut their payload). */
  truncated: number;
  /** Packets unwrapped from a VXLAN tunnel. */
  vxlan: number;
  /** Packets that did not become a segment, by reason. */
  dropped: Record<DropReason, number>;
  /** Fragment reassembly: held now, merged into completed datagrams, datagrams completed. */
  fragments: FragmentCounters;
}

export interface Decoder {
  /** The TCP segment in this packet, or null (see `lastDrop` and `counters` for why). */
  decode(packet: RawPacket): DecodedSegment | null;
  /** Decodes a batch, appending segments to `out`; returns how many were appended. */
  decodeBatch(packets: readonly RawPacket[], out: TcpSegment[]): number;
  readonly counters: DecodeCounters;
  /** Why the last `decode` returned null (null after a segment). */
  readonly lastDrop: NullReason | null;
  /** Expires fragments older than the timeout at time `nowNs` (packets do this as they arrive, too). */
  expire(nowNs: bigint): void;
  /** End of input: pending fragments can no longer complete and are counted as expired. */
  finish(): void;
}

export function createDecoder(options: DecoderOptions = {}): Decoder {
  return new PacketDecoder(options);
}

/** Datagram facts the fragment table keeps for the completed payload. */
interface FragmentMeta {
  readonly version: 4 | 6;
  readonly protocol: number;
  readonly src4: number;
  readonly dst4: number;
  /** IPv6: copy of the 32 address bytes. */
  readonly addr: Buffer | null;
}

/** A tunnel (VXLAN, IP in IP, GRE) inside a tunnel is unwrapped once more, no further (bounds work per packet). */
const MAX_TUNNEL_DEPTH = 2;
/** Fragments are expired by packet time on fragment arrival and at least every this many packets. */
const EXPIRE_EVERY = 1024;

class PacketDecoder implements Decoder {
  readonly counters: DecodeCounters = {
    packets: 0,
    segments: 0,
    truncated: 0,
    vxlan: 0,
    dropped: emptyDropCounts(),
    fragments: { pending: 0, merged: 0, reassembled: 0 },
  };
  lastDrop: NullReason | null = null;

  private readonly link = new LinkInfo();
  private readonly ip = new IpInfo();
  private readonly tcp = new TcpInfo();
  private readonly udp: UdpView = { srcPort: 0, dstPort: 0, payloadOff: 0, payloadEnd: 0 };
  private readonly text = new AddressText();
  private readonly table: FragmentTable<FragmentMeta>;
  private readonly vxlanPort: number;
  private readonly vniPasses: (vni: number) => boolean;
  private readonly vlanSet: ReadonlySet<number> | null;
  private readonly vlanOnly: boolean;
  private readonly filtersVlans: boolean;
  private vni = -1;
  private tick = 0;
  private readonly scratch: ScratchSegment | null;

  constructor(options: DecoderOptions) {
    this.vxlanPort = options.vxlanPort === null ? -1 : options.vxlanPort || DEFAULT_VXLAN_PORT;
    this.vniPasses = createVniFilter(options.vxlanVnis ?? []);
    this.vlanSet = options.vlanIds && options.vlanIds.length > 0 ? new Set(options.vlanIds) : null;
    this.vlanOnly = options.vlanOnly === true;
    this.filtersVlans = this.vlanOnly || this.vlanSet !== null;
    const f = options.fragments ?? {};
    const limits: FragmentLimits = {
      maxDatagrams: f.maxDatagrams ?? DEFAULT_FRAGMENT_LIMITS.maxDatagrams,
      maxBytes: f.maxBytes ?? DEFAULT_FRAGMENT_LIMITS.maxBytes,
      timeoutNs: f.timeoutMs === undefined ? DEFAULT_FRAGMENT_LIMITS.timeoutNs : BigInt(f.timeoutMs) * 1_000_000n,
    };
    this.table = new FragmentTable(limits, (reason, n) => {
      this.counters.dropped[reason] += n;
    });
    this.counters.fragments = this.table.counters;
    this.scratch = options.reuseSegment ? new ScratchSegment() : null;
  }

  decode(packet: RawPacket): DecodedSegment | null {
    this.counters.packets++;
    if (this.table.size > 0 && ++this.tick % EXPIRE_EVERY === 0) this.table.expire(packet.tsNs);
    this.vni = -1;
    const link = this.link;
    link.reset();
    link.tunnel = packet.tunnel ?? 0;
    const buf = packet.data;
    const r = parseLink(packet.linkType, buf, link) ?? (this.filtersVlans ? this.vlanFilter() : null);
    if (r !== null) return this.drop(r);
    return this.network(packet, buf, 0);
  }

  decodeBatch(packets: readonly RawPacket[], out: TcpSegment[]): number {
    let n = 0;
    for (let i = 0; i < packets.length; i++) {
      const s = this.decode(packets[i]!);
      if (s !== null) {
        out.push(this.scratch === null ? s : { ...s });
        n++;
      }
    }
    return n;
  }

  expire(nowNs: bigint): void {
    this.table.expire(nowNs);
  }

  finish(): void {
    this.table.clear();
  }

  private drop(reason: NullReason): null {
    if (reason !== 'fragment-held') this.counters.dropped[reason]++;
    this.lastDrop = reason;
    return null;
  }

  private vlanFilter(): DropReason | null {
    const ids = this.link.vlanIds;
    if (this.vlanOnly && ids.length === 0) return 'vlan-filtered';
    if (this.vlanSet !== null && !ids.some((id) => this.vlanSet!.has(id))) return 'vlan-filtered';
    return null;
  }

  /** From the network header the link layer found, for the outer frame or a tunnel's inner frame. */
  private network(packet: RawPacket, buf: Buffer, depth: number): DecodedSegment | null {
    const link = this.link;
    const ip = this.ip;
    let r: DropReason | null = null;
    if (link.etherType === ETHERTYPE_PPPOE_SESSION) r = parsePppoe(buf, link);
    if (r === null && isMpls(link.etherType)) r = parseMpls(buf, link);
    if (r !== null) return this.drop(r);
    if (link.etherType === ETHERTYPE_IPV4) r = parseIpv4(buf, link.offset, link.end, ip);
    else if (link.etherType === ETHERTYPE_IPV6) r = parseIpv6(buf, link.offset, link.end, ip);
    else r = 'non-ip';
    if (r !== null) return this.drop(r);
    if (ip.fragment) return this.fragment(packet, buf, depth);
    return this.transport(packet, buf, depth);
  }

  private transport(packet: RawPacket, buf: Buffer, depth: number): DecodedSegment | null {
    const ip = this.ip;
    if (ip.protocol === PROTO_TCP) return this.segment(packet, buf);
    if (ip.protocol === PROTO_UDP && this.vxlanPort > 0) return this.tunnel(packet, buf, depth);
    if (ip.protocol === PROTO_IPIP || ip.protocol === PROTO_IPV6) return this.ipInIp(packet, buf, depth);
    if (ip.protocol === PROTO_GRE) return this.gre(packet, buf, depth);
    return this.drop('non-tcp');
  }

  /** A packet or Ethernet frame carried in GRE (GRE tunnels, ERSPAN mirrors), as tshark decodes it. */
  private gre(packet: RawPacket, buf: Buffer, depth: number): DecodedSegment | null {
    if (depth >= MAX_TUNNEL_DEPTH) return this.drop('ip-in-ip-too-deep');
    const r = parseGre(buf, this.ip.payloadOff, this.ip.payloadEnd, this.link);
    if (r !== null) return this.drop(r);
    return this.network(packet, buf, depth + 1);
  }

  /** An IP packet carried as the payload of another (IP in IP, 6in4, 4in6), as tshark decodes it. */
  private ipInIp(packet: RawPacket, buf: Buffer, depth: number): DecodedSegment | null {
    if (depth >= MAX_TUNNEL_DEPTH) return this.drop('ip-in-ip-too-deep');
    const ip = this.ip;
    const link = this.link;
    link.etherType = ip.protocol === PROTO_IPIP ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6;
    link.offset = ip.payloadOff;
    link.end = ip.payloadEnd;
    return this.network(packet, buf, depth + 1);
  }

  private segment(packet: RawPacket, buf: Buffer): DecodedSegment | null {
    const ip = this.ip;
    const tcp = this.tcp;
    const end = ip.payloadEnd;
    const r = parseTcp(buf, ip.payloadOff, end, ip.truncated, tcp);
    if (r !== null) return this.drop(r);
    const v4 = ip.version === 4;
    const srcIp = v4 ? this.text.ipv4(ip.src4) : this.text.ipv6(ip.addrBuf, ip.addrOff, ip.src4);
    const dstIp = v4 ? this.text.ipv4(ip.dst4) : this.text.ipv6(ip.addrBuf, ip.addrOff + 16, ip.dst4);
    const vlans = this.link.vlanIds.length === 0 ? NO_VLANS : [...this.link.vlanIds];
    const vlan = vlans.length === 0 ? 0 : vlanKey(vlans);
    this.counters.segments++;
    if (ip.truncated) this.counters.truncated++;
    this.lastDrop = null;
    const scratch = this.scratch;
    if (scratch !== null) {
      scratch.tsNs = packet.tsNs;
      scratch.srcIp = srcIp;
      scratch.dstIp = dstIp;
      scratch.srcIp4 = ip.src4;
      scratch.dstIp4 = ip.dst4;
      scratch.srcPort = tcp.srcPort;
      scratch.dstPort = tcp.dstPort;
      scratch.seq = tcp.seq;
      scratch.ack = tcp.ack;
      scratch.flags = tcp.flags;
      scratch.window = tcp.window;
      scratch.payload = buf.subarray(tcp.payloadOff, end);
      scratch.truncated = ip.truncated;
      scratch.missing = ip.missing;
      scratch.ipVersion = ip.version;
      scratch.vlanIds = vlans;
      scratch.vni = this.vni;
      scratch.tunnel = this.link.tunnel;
      scratch.vlan = vlan;
      return scratch;
    }
    return {
      tsNs: packet.tsNs,
      srcIp,
      dstIp,
      srcIp4: ip.src4,
      dstIp4: ip.dst4,
      srcPort: tcp.srcPort,
      dstPort: tcp.dstPort,
      seq: tcp.seq,
      ack: tcp.ack,
      flags: tcp.flags,
      window: tcp.window,
      payload: buf.subarray(tcp.payloadOff, end),
      truncated: ip.truncated,
      missing: ip.missing,
      ipVersion: ip.version,
      vlanIds: vlans,
      vni: this.vni,
      tunnel: this.link.tunnel,
      vlan,
    };
  }

  private tunnel(packet: RawPacket, buf: Buffer, depth: number): DecodedSegment | null {
    const ip = this.ip;
    const udp = this.udp;
    if (!parseUdp(buf, ip.payloadOff, ip.payloadEnd, udp)) {
      return this.drop('non-tcp');
    }
    if (udp.dstPort !== this.vxlanPort) return this.drop('non-tcp');
    const vni = parseVxlan(buf, udp.payloadOff, udp.payloadEnd);
    if (vni < 0) return this.drop('vxlan-malformed');
    if (!this.vniPasses(vni)) return this.drop('vxlan-filtered');
    if (depth >= MAX_TUNNEL_DEPTH) return this.drop('vxlan-too-deep');
    this.counters.vxlan++;
    this.vni = vni;
    const link = this.link;
    link.tunnel = tunnelId(TunnelKind.VXLAN_VNI, vni);
    const innerEnd = udp.payloadEnd;
    const r = parseEthernet(buf.subarray(0, innerEnd), udp.payloadOff + 8, link);
    if (r !== null) return this.drop(r);
    link.end = innerEnd;
    return this.network(packet, buf, depth + 1);
  }

  private fragment(packet: RawPacket, buf: Buffer, depth: number): DecodedSegment | null {
    const ip = this.ip;
    // Hold only what can become a segment. An IPv6 fragment's next header may be an extension header
    // that precedes TCP, so those are held too.
    const p = ip.protocol;
    const wanted =
      p === PROTO_TCP ||
      (p === PROTO_UDP && this.vxlanPort > 0) ||
      p === PROTO_IPIP ||
      p === PROTO_IPV6 ||
      p === PROTO_GRE ||
      (ip.version === 6 && isIpv6Extension(p));
    if (!wanted) return this.drop('non-tcp');
    if (ip.truncated) return this.drop('fragment-invalid');
    const key = this.fragmentKey();
    const meta: FragmentMeta = {
      version: ip.version,
      protocol: ip.protocol,
      src4: ip.src4,
      dst4: ip.dst4,
      addr: ip.version === 6 ? Buffer.from(ip.addrBuf.subarray(ip.addrOff, ip.addrOff + 32)) : null,
    };
    const data = buf.subarray(ip.payloadOff, ip.payloadEnd);
    const status = this.table.add(key, ip.fragOffset, data, ip.moreFragments, packet.tsNs, meta);
    if (status === 'held') return this.drop('fragment-held');
    if (status !== 'complete') {
      this.lastDrop = status;
      return null;
    }
    // The datagram is whole: continue as if it had arrived unfragmented, from its transport bytes.
    const whole = this.table.payload;
    const m = this.table.meta!;
    ip.version = m.version;
    ip.src4 = m.src4;
    ip.dst4 = m.dst4;
    ip.truncated = false;
    ip.missing = 0;
    ip.fragment = false;
    if (m.addr !== null) {
      ip.addrBuf = m.addr;
      ip.addrOff = 0;
      const r = walkIpv6Extensions(whole, 0, whole.length, m.protocol, ip);
      if (r !== null) return this.drop(r);
      if (ip.fragment) return this.drop('fragment-invalid');
    } else {
      ip.protocol = m.protocol;
      ip.payloadOff = 0;
      ip.payloadEnd = whole.length;
    }
    return this.transport(packet, whole, depth);
  }

  /**
   * The datagram a fragment belongs to. The VLAN ids and tunnel id are part of it, as of a connection's
   * identity: two tenants' VLANs or tunnels may carry datagrams with the same addresses and IP id, which
   * must not be merged (tshark does the same for IPv4 with protocols.strict_conversation_tracking_heuristics).
   */
  private fragmentKey(): string {
    const ip = this.ip;
    const link = this.link;
    const where = link.vlanIds.length === 0 && link.tunnel === 0 ? '' : ` ${vlanKey(link.vlanIds)}/${link.tunnel}`;
    if (ip.version === 4) return `4 ${ip.src4} ${ip.dst4} ${ip.protocol} ${ip.fragId}${where}`;
    const b = ip.addrBuf;
    let key = `6 ${ip.fragId}${where}`;
    for (let i = 0; i < 32; i += 4) {
      key += ` ${(b[ip.addrOff + i]! << 24) | (b[ip.addrOff + i + 1]! << 16) | (b[ip.addrOff + i + 2]! << 8) | b[ip.addrOff + i + 3]!}`;
    }
    return key;
  }
}

/** The segment `reuseSegment` overwrites: the fields of DecodedSegment, in the literal's order (one shape). */
class ScratchSegment implements DecodedSegment {
  tsNs = 0n;
  srcIp = '';
  dstIp = '';
  srcIp4 = 0;
  dstIp4 = 0;
  srcPort = 0;
  dstPort = 0;
  seq = 0;
  ack = 0;
  flags = 0;
  window = 0;
  payload: Buffer = Buffer.alloc(0);
  truncated = false;
  missing = 0;
  ipVersion: 4 | 6 = 4;
  vlanIds: readonly number[] = NO_VLANS;
  vni = -1;
  tunnel = 0;
  vlan = 0;
}
