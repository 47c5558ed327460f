/**
 * What a capture file starts with: classic pcap's magic number (either byte order, microsecond or nanosecond
 * timestamps) or pcapng's Section Header Block type. No imports: `--input-file` and `report` ask it about every
 * file they open, before they know whether any capture code is needed.
 */

const PCAP_MAGICS = new Set([0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1]);
const PCAPNG_SHB = 0x0a0d0d0a;

/** 'pcap' or 'pcapng' when `head` (a file's first bytes) starts like one; undefined otherwise. */
export function captureFormatOf(head: Buffer): 'pcap' | 'pcapng' | undefined {
  if (head.length < 4) return undefined;
  const magic = head.readUInt32BE(0);
  if (magic === PCAPNG_SHB) return 'pcapng';
  return PCAP_MAGICS.has(magic) ? 'pcap' : undefined;
}
