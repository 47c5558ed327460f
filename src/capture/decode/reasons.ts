/**
 * Why a packet did not become a TCP segment. Every packet `decode()` returns null for is counted under
 * exactly one reason (or held as a fragment), so "why did I lose this packet?" always has an answer:
 *
 *   packets = segments + Σ dropped + fragments.pending + fragments.merged
 */

export const DROP_REASONS = [
  /** The file's link type is not one we decode (see `link.ts` for the list). */
  'unsupported-link-type',
  /** The frame is shorter than its link-layer header. */
  'link-truncated',
  /** Not IPv4/IPv6: ARP, LLDP, 802.3 LLC, a loopback family we do not know, ... */
  'non-ip',
  /** More stacked VLAN tags than any real network uses (8): a corrupt or hostile frame. */
  'vlan-too-deep',
  /** Removed by the VLAN filter (`vlanIds` / `vlanOnly`). */
  'vlan-filtered',
  /** NFLOG frame whose TLVs are malformed or that has no payload attribute. */
  'nflog-malformed',
  /** The IP version nibble is neither 4 nor 6 where an IP header must start. */
  'ip-bad-version',
  /** Fewer bytes than the IPv4 header (20 bytes, or its IHL) were captured. */
  'ipv4-truncated-header',
  /** IHL below 5 words. */
  'ipv4-bad-header-length',
  /** Total length smaller than the header. */
  'ipv4-bad-total-length',
  /** Fewer than 40 bytes of IPv6 header were captured. */
  'ipv6-truncated-header',
  /** An IPv6 extension header runs past the packet, or headers nest absurdly deep. */
  'ipv6-bad-extension',
  /** Neither TCP nor a VXLAN tunnel: UDP, ICMP, ESP, ... */
  'non-tcp',
  /** A fragment that can never be reassembled: overlapping, oversized, misaligned, or cut by the snaplen. */
  'fragment-invalid',
  /** Fragments whose datagram never completed within the timeout (or by the end of the input). */
  'fragment-expired',
  /** Fragments thrown out because the reassembly table was full (oldest first). */
  'fragment-evicted',
  /** An exact duplicate of a fragment already held. */
  'fragment-duplicate',
  /** Removed by the VXLAN VNI filter (gor's `--input-raw-vxlan-vni` semantics). */
  'vxlan-filtered',
  /** A packet to the VXLAN port whose UDP or VXLAN header is short or lacks the VNI flag. */
  'vxlan-malformed',
  /** VXLAN nested deeper than we unwrap (2 levels). */
  'vxlan-too-deep',
  /** IP in IP (or IPv6 in IP) nested deeper than we unwrap (2 levels, tunnels of any kind together). */
  'ip-in-ip-too-deep',
  /** The snaplen cut the capture inside the TCP header. */
  'tcp-truncated-header',
  /** TCP data offset below 5 words or beyond the segment. */
  'tcp-bad-data-offset',
] as const;

export type DropReason = (typeof DROP_REASONS)[number];

/** The reasons that mean the snaplen cut the packet inside a header (counted apart: headers_cut_by_snaplen). */
export const SNAPLEN_CUT_REASONS: readonly DropReason[] = [
  'link-truncated',
  'ipv4-truncated-header',
  'ipv6-truncated-header',
  'tcp-truncated-header',
];

/** What `decode()` returned null for last: a drop reason, or a fragment held for reassembly. */
export type NullReason = DropReason | 'fragment-held';

export function emptyDropCounts(): Record<DropReason, number> {
  const counts = {} as Record<DropReason, number>;
  for (const r of DROP_REASONS) counts[r] = 0;
  return counts;
}
