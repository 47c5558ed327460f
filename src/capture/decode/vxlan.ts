/**
 * VXLAN (RFC 7348): an 8-byte header (flags with the I bit 0x08 meaning "VNI valid", 24-bit VNI) on UDP
 * port 4789 by default, followed by an inner Ethernet frame. Also the VNI filter with gor's semantics
 * (spec §8.9), shared with the live vxlan engine.
 */

export const VXLAN_HEADER = 8;
export const DEFAULT_VXLAN_PORT = 4789;
const FLAG_VNI_VALID = 0x08;

/** The VNI of the VXLAN header at `off`, or -1 when it is short or its VNI flag is clear. */
export function parseVxlan(buf: Uint8Array, off: number, end: number): number {
  if (end - off < VXLAN_HEADER) return -1;
  if ((buf[off]! & FLAG_VNI_VALID) === 0) return -1;
  return (buf[off + 4]! << 16) | (buf[off + 5]! << 8) | buf[off + 6]!;
}

/**
 * gor's `--input-raw-vxlan-vni` rule, entry order matters:
 * - no entries: every VNI passes;
 * - walking the entries in order, a positive entry equal to the VNI accepts it, and a negative entry
 *   whose absolute value equals it rejects it, whichever comes first;
 * - when nothing matched, the VNI passes only if there is at least one negative entry ("default allow").
 * A 0 entry (what gor makes of an unparsable value) matches nothing, exactly as in gor.
 */
export function createVniFilter(entries: readonly number[]): (vni: number) => boolean {
  if (entries.length === 0) return () => true;
  const list = [...entries];
  const hasNegative = list.some((v) => v < 0);
  return (vni) => {
    for (const v of list) {
      if (v > 0 && v === vni) return true;
      if (v < 0 && -v === vni) return false;
    }
    return hasNegative;
  };
}
