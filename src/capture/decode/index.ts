/**
 * Packet decoding: `createDecoder(options).decode(rawPacket)` → `TcpSegment | null`, with counters that
 * say why every other packet was dropped. The layer parsers are exported for tools and tests.
 */
export { AddressText, ipv4ToString, ipv6ToString } from './address.js';
export { createDecoder, type DecodeCounters, type Decoder, type DecoderOptions } from './decoder.js';
export { DEFAULT_FRAGMENT_LIMITS, type FragmentLimits } from './fragments.js';
export { SUPPORTED_LINK_TYPES } from './link.js';
export { DROP_REASONS, type DropReason, type NullReason, SNAPLEN_CUT_REASONS } from './reasons.js';
export type { DecodedSegment } from './segment.js';
export { createVniFilter, DEFAULT_VXLAN_PORT } from './vxlan.js';
