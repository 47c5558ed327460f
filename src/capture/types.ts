/**
 * The contract between capture (packets) and TCP reassembly (segments).
 *
 *   engine ──RawPacket──▶ decode (link → ip → tcp) ──TcpSegment──▶ tcp assembler
 *
 * Engines (af_packet, libpcap, pcap_file) produce `RawPacket`s; the decoders in `capture/decode/` turn one
 * into zero or one `TcpSegment` (after VLAN/VXLAN unwrapping and IPv4 fragment reassembly). Nothing here
 * knows about HTTP.
 */

/** Link-layer types, by their LINKTYPE_* number (tcpdump.org/linktypes.html). */
export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  FDDI: 10,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPNET: 226,
  IPV4: 228,
  IPV6: 229,
  NFLOG: 239,
  LINUX_SLL2: 276,
} as const;

/**
 * Default snaplen: 64 KiB + 200, gor's `--input-raw-override-snaplen` value. It holds loopback's 64 KiB
 * MTU and GRO/GSO packets (64 KiB unless BIG TCP is configured); gor's own default, MTU + 200, cuts
 * GRO packets short. Cut packets are flagged and counted (`stats().truncated`).
 */
export const DEFAULT_SNAPLEN = 65736;

export const TcpFlag = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20 } as const;

export interface RawPacket {
  /** Capture time, Unix nanoseconds. */
  readonly tsNs: bigint;
  /** LINKTYPE_* of `data`. */
  readonly linkType: number;
  /** The captured bytes (may be shorter than `origLen` when the snaplen cut it). */
  readonly data: Buffer;
  /** Length of the packet on the wire. */
  readonly origLen: number;
  /**
   * The tunnel the packet came out of before it reached the decoder (the vxlan engine: its VNI), as
   * `TcpSegment.tunnel` numbers it; absent for captured packets, whose tunnels the decoder unwraps itself.
   */
  readonly tunnel?: number;
}

export interface TcpSegment {
  readonly tsNs: bigint;
  /** Addresses as text: `192.0.2.1`, `2001:db8::1` (no brackets). */
  readonly srcIp: string;
  readonly dstIp: string;
  /** 4 bytes used by gor's id formula: the IPv4 address, or the last 4 bytes of an IPv6 address. */
  readonly srcIp4: number;
  readonly dstIp4: number;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly seq: number;
  readonly ack: number;
  /** TCP flag bits: see `TcpFlag`. */
  readonly flags: number;
  readonly window: number;
  /** TCP payload (a view into the packet, not a copy). */
  readonly payload: Buffer;
  /** True when the snaplen cut the payload short: the assembler must account for the missing bytes. */
  readonly truncated: boolean;
  /**
   * Which tunnel the segment came out of, part of its connection's identity (`tunnelId`): two tenants' GRE
   * keys or VXLAN VNIs may carry the same inner 4-tuple. 0 (or absent) for no tunnel, or one without an id.
   */
  readonly tunnel?: number;
  /**
   * The VLAN ids the frame carried (`vlanKey`), part of its connection's identity as `tunnel` is: two
   * VLANs of a trunk (tenants with overlapping address spaces) may carry the same 4-tuple. 0 (or absent)
   * for an untagged frame.
   */
  readonly vlan?: number;
}

/**
 * `TcpSegment.vlan` of a frame's VLAN ids (outermost first): each id but 0 (a priority tag, 802.1p: no VLAN,
 * and often added in one direction only) is a digit base 4097 of the number, so a stack of up to four ids is
 * told apart exactly (the number stays below 2^53); 0 when none is left. Ids past the fourth are not part of
 * it (8 is the most the decoder reads, and no network stacks five).
 */
export function vlanKey(ids: readonly number[]): number {
  let key = 0;
  let digits = 0;
  for (let i = 0; i < ids.length && digits < 4; i++) {
    const id = ids[i]!;
    if (id === 0) continue;
    key = key * 4097 + id;
    digits++;
  }
  return key;
}

/** `TcpSegment.tunnel` kinds: the id's number space is `kind × 2^32 + value`, so kinds never meet. */
export const TunnelKind = { GRE_KEY: 1, NVGRE_VSID: 2, VXLAN_VNI: 3 } as const;

/** The `TcpSegment.tunnel` number of a tunnel id (a GRE key, an NVGRE VSID, a VXLAN VNI). */
export function tunnelId(kind: number, value: number): number {
  return kind * 0x1_0000_0000 + (value >>> 0);
}

/**
 * A batch of packets left in the engine's buffer, for a consumer that reads them in place (the native flow
 * core, src/inputs/raw/native-flows.ts) instead of through one `RawPacket` object each. `packet()` makes
 * the object of one packet, `packets()` of all of them, for everything else.
 *
 *   'records': the af_packet addon's batch layout (native/src/af_packet.h), walked by whoever reads it;
 *   'indexed': any buffer plus `index`, 5 numbers a packet: byte offset in `buffer`, captured length,
 *              length on the wire, seconds and nanoseconds of the capture time.
 */
export interface PacketBatchView {
  readonly kind: 'records' | 'indexed';
  readonly buffer: Buffer;
  readonly count: number;
  readonly linkType: number;
  readonly index: Uint32Array | null;
  /** Packet `i`; `at` is its record's byte offset ('records'; the index has it for 'indexed'). */
  packet(i: number, at: number): RawPacket;
  packets(): RawPacket[];
}

/** What a packet source yields: packet objects, or a view of a batch still in its buffer. */
export type PacketBatch = readonly RawPacket[] | PacketBatchView;

export function isBatchView(batch: PacketBatch): batch is PacketBatchView {
  return !Array.isArray(batch);
}
