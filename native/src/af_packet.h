// tapline capture addon: Linux AF_PACKET socket with a TPACKET_V3 mmap ring, delivering packets to
// JavaScript in batches.
//
//   kernel ──▶ TPACKET_V3 ring (blockCount blocks of blockSize bytes, each retired when full or after
//              the retire timeout, ~10 ms)
//          ──▶ uv_poll on the socket fd (readable when a block is retired)
//          ──▶ one wake-up: walk every ready block, copy its packets into ONE Buffer of records,
//              hand the blocks back to the kernel at once
//          ──▶ ONE JavaScript callback per wake-up: onBatch(buffer, count)
//
// Batch record layout. A batch Buffer is a sequence of `count` records. Every record starts at an
// offset that is a multiple of 8 from the start of the Buffer. All integers are little-endian.
//
//   offset size field
//   0      8    tsNs     u64  capture time, Unix nanoseconds (kernel software timestamp)
//   8      4    ifindex  u32  interface the packet was seen on
//   12     4    caplen   u32  number of packet bytes that follow this header (after any
//                             synthesized header / re-inserted VLAN tag, see flags)
//   16     4    origlen  u32  length of the packet on the wire, counted the same way as caplen
//   20     1    pkttype  u8   PACKET_HOST 0, BROADCAST 1, MULTICAST 2, OTHERHOST 3, OUTGOING 4
//   21     1    flags    u8   bit 0: an 802.1Q/802.1ad tag the kernel had taken out of the frame
//                                    (VLAN offload, always the case on receive) was put back
//                             bit 1: a 16-byte LINUX_SLL header was synthesized (cooked mode)
//                             bit 2: caplen < origlen (snaplen or the ring's block size cut it)
//   22     2    hatype   u16  ARPHRD_* of the interface (1 Ethernet, 772 loopback, ...)
//   24     caplen     packet bytes
//   then zero to seven padding bytes up to the next multiple of 8.
//
// Link framing of the packet bytes:
//   raw mode    (SOCK_RAW, Ethernet and loopback interfaces): the Ethernet frame (LINKTYPE_ETHERNET);
//   cooked mode (SOCK_DGRAM, 'any' and other interfaces): a synthesized LINUX_SLL header, then the
//               network-layer packet (LINKTYPE_LINUX_SLL), as libpcap does for 'any'.
//
// Loopback: on a loopback interface the kernel shows every packet twice, once as PACKET_OUTGOING when
// it is sent and once as PACKET_HOST when it is received. Records with pkttype OUTGOING on an
// interface whose hatype is ARPHRD_LOOPBACK (or whose flags carry IFF_LOOPBACK) are skipped when the
// `dedupeLoopback` option is on (the default), so each packet is delivered once. tapline's generated
// BPF programs already drop that copy in the kernel; the check here covers any other filter.
#pragma once

#include <cstdint>

namespace tapline {

constexpr uint32_t kRecordHeaderSize = 24;
constexpr uint32_t kRecordAlign = 8;

constexpr uint8_t kFlagVlanReinserted = 1;
constexpr uint8_t kFlagSllSynthesized = 2;
constexpr uint8_t kFlagTruncated = 4;

constexpr uint32_t kSllHeaderSize = 16;
constexpr uint32_t kVlanTagSize = 4;

}  // namespace tapline
