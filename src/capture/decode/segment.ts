/**
 * The decoder's output: a `TcpSegment` (the capture→assembler contract) plus a few facts a user may
 * filter or report on (IP version, VLAN ids, VXLAN VNI, bytes lost to the snaplen). A plain object with
 * data fields only (built as a literal, V8's cheapest allocation), so spreading, cloning and `deepEqual`
 * see everything.
 */
import type { TcpSegment } from '../types.js';

/** Shared by every untagged segment, so most segments allocate no array. */
export const NO_VLANS: readonly number[] = Object.freeze([]);

export interface DecodedSegment extends TcpSegment {
  /** Bytes of this packet the snaplen cut off (0 unless `truncated`). */
  readonly missing: number;
  readonly ipVersion: 4 | 6;
  /** VLAN ids the frame carried, outermost first (outer frame, then a VXLAN inner frame). */
  readonly vlanIds: readonly number[];
  /** VNI of the VXLAN tunnel the segment came out of, or -1. */
  readonly vni: number;
  /** See `TcpSegment.tunnel`: always set by the decoder. */
  readonly tunnel: number;
  /** See `TcpSegment.vlan` (`vlanKey(vlanIds)`): always set by the decoder. */
  readonly vlan: number;
}
