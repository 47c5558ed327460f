import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { LinkType, type RawPacket, TcpFlag, type TcpSegment, TunnelKind, tunnelId, vlanKey } from '../types.js';
import { createDecoder, type DecodeCounters } from './decoder.js';
import { SUPPORTED_LINK_TYPES } from './link.js';
import type { DROP_REASONS } from './reasons.js';
import {
  erspan2,
  erspan3,
  ethernet,
  ext6,
  fddi,
  frag6,
  gre,
  ip4,
  ipnet,
  ipv4,
  ipv6,
  loopback,
  mpls,
  nflog,
  pppoe,
  raw,
  sll,
  sll2,
  tcp,
  udp,
  vxlan,
} from './testkit.js';

/** packets = segments + Σ dropped + fragments held now + fragments merged into completed datagrams. */
function assertAccounted(c: DecodeCounters): void {
  const dropped = Object.values(c.dropped).reduce((a, b) => a + b, 0);
  assert.equal(c.packets, c.segments + dropped + c.fragments.pending + c.fragments.merged, JSON.stringify(c));
}

describe('decoder', () => {
  it('reuseSegment: one object overwritten per packet, same fields as a fresh decode; payloads stay separate', () => {
    const packets = [
      raw(
        ethernet(ipv4(tcp({ srcPort: 51000, dstPort: 80, seq: 1, ack: 2, payload: 'GET /a HTTP/1.1\r\n\r\n' }))),
        LinkType.ETHERNET,
        5n,
      ),
      raw(
        ethernet(
          ipv4(tcp({ srcPort: 80, dstPort: 51000, seq: 2, ack: 20, payload: 'HTTP/1.1 200 OK\r\n\r\n' }), {
            src: '192.0.2.80',
            dst: '198.51.100.7',
          }),
          0x0800,
          [[0x8100, 7]],
        ),
        LinkType.ETHERNET,
        6n,
      ),
    ];
    const fresh = createDecoder();
    const reused = createDecoder({ reuseSegment: true });
    const a = reused.decode(packets[0]!);
    assert.ok(a);
    const firstPayload = a.payload;
    assert.deepEqual({ ...a }, { ...fresh.decode(packets[0]!)! });
    const b = reused.decode(packets[1]!);
    assert.equal(b, a, 'the same object');
    assert.deepEqual({ ...b! }, { ...fresh.decode(packets[1]!)! });
    assert.equal(firstPayload.toString(), 'GET /a HTTP/1.1\r\n\r\n');
    // decodeBatch hands out copies, since it keeps every segment.
    const out: TcpSegment[] = [];
    assert.equal(reused.decodeBatch(packets, out), 2);
    assert.notEqual(out[0], out[1]);
    assert.equal(out[0]!.srcPort, 51000);
    assert.equal(out[1]!.srcPort, 80);
  });

  it('Ethernet/IPv4/TCP: the whole segment, payload as a view into the packet', () => {
    const frame = ethernet(
      ipv4(
        tcp({
          srcPort: 51000,
          dstPort: 80,
          seq: 0xfffffffe,
          ack: 7,
          flags: TcpFlag.PSH | TcpFlag.ACK,
          window: 501,
          payload: 'GET / HTTP/1.1\r\n\r\n',
        }),
        { src: '198.51.100.7', dst: '192.0.2.80' },
      ),
    );
    const pkt = raw(frame, LinkType.ETHERNET, 1_700_000_000_123_456_789n);
    const d = createDecoder();
    const s = d.decode(pkt);
    assert.ok(s);
    const { payload, ...rest } = s;
    assert.deepEqual(rest, {
      tsNs: 1_700_000_000_123_456_789n,
      srcIp: '198.51.100.7',
      dstIp: '192.0.2.80',
      srcIp4: ip4('198.51.100.7'),
      dstIp4: ip4('192.0.2.80'),
      srcPort: 51000,
      dstPort: 80,
      seq: 0xfffffffe,
      ack: 7,
      flags: 0x18,
      window: 501,
      truncated: false,
      missing: 0,
      ipVersion: 4,
      vlanIds: [],
      vni: -1,
      tunnel: 0,
      vlan: 0,
    });
    assert.equal(payload.toString(), 'GET / HTTP/1.1\r\n\r\n');
    assert.equal(payload.buffer, frame.buffer, 'zero-copy: same memory as the packet');
    assert.equal(d.lastDrop, null);
  });

  it('IPv6: text addresses, src4/dst4 from the last 4 bytes', () => {
    const d = createDecoder();
    const s = d.decode(raw(ethernet(ipv6(tcp({ payload: 'x' }), { src: '2001:db8::a:b', dst: '::1' }), 0x86dd)));
    assert.ok(s);
    assert.deepEqual([s.srcIp, s.dstIp, s.srcIp4, s.dstIp4, s.ipVersion], ['2001:db8::a:b', '::1', 0x000a000b, 1, 6]);
  });

  it('every supported link type yields the same segment', () => {
    const v4 = ipv4(tcp({ payload: 'hello' }));
    const v6 = ipv6(tcp({ payload: 'hello' }));
    const frames: Array<[number, Buffer]> = [
      [LinkType.ETHERNET, ethernet(v4)],
      [LinkType.ETHERNET, ethernet(v4, 0x0800, [[0x8100, 5]])],
      [
        LinkType.ETHERNET,
        ethernet(v4, 0x0800, [
          [0x88a8, 5],
          [0x8100, 6],
        ]),
      ],
      [LinkType.NULL, loopback(v4, 2)],
      [LinkType.NULL, loopback(v6, 30)],
      [LinkType.LOOP, loopback(v4, 2, true)],
      [LinkType.RAW, v4],
      [LinkType.RAW, v6],
      [12, v6],
      [14, v4],
      [LinkType.IPV4, v4],
      [LinkType.IPV6, v6],
      [LinkType.LINUX_SLL, sll(v4)],
      [LinkType.LINUX_SLL2, sll2(v6, 0x86dd)],
      [LinkType.NFLOG, nflog(v4)],
      [LinkType.NFLOG, nflog(v6, 10)],
      [LinkType.FDDI, fddi(v4)],
      [LinkType.FDDI, fddi(v6, 0x86dd)],
      [LinkType.IPNET, ipnet(v4)],
      [LinkType.IPNET, ipnet(v6, 26)],
      [9, Buffer.concat([Buffer.from([0xff, 0x03, 0x00, 0x21]), v4])],
      [50, Buffer.concat([Buffer.from([0xff, 0x03, 0x00, 0x57]), v6])],
      [51, pppoe(v4)],
      [104, Buffer.concat([Buffer.from([0x0f, 0x00, 0x08, 0x00]), v4])],
    ];
    const covered = new Set<number>();
    for (const [linkType, frame] of frames) {
      const s = createDecoder().decode(raw(frame, linkType));
      assert.ok(s, `link type ${linkType}`);
      assert.equal(s.payload.toString(), 'hello', `link type ${linkType}`);
      assert.equal(s.dstPort, 80);
      covered.add(linkType);
    }
    assert.deepEqual([...covered].sort(), [...SUPPORTED_LINK_TYPES].sort());
  });

  it('a snaplen-cut packet is a truncated segment with the missing byte count', () => {
    const frame = ethernet(ipv4(tcp({ payload: 'x'.repeat(1000) })));
    const d = createDecoder();
    const s = d.decode({ tsNs: 1n, linkType: 1, data: frame.subarray(0, 200), origLen: frame.length });
    assert.ok(s);
    assert.deepEqual([s.truncated, s.missing, s.payload.length], [true, 854, 146]);
    assert.equal(d.counters.truncated, 1);
  });

  it('IPv4 fragmented TCP is reassembled, whatever the arrival order', () => {
    const body = Buffer.from('POST /upload HTTP/1.1\r\nContent-Length: 3000\r\n\r\n'.padEnd(3000, 'z'));
    const segment = tcp({ srcPort: 40001, dstPort: 8080, seq: 42, payload: body });
    const pieces = [0, 1480, 2960].map((off) => {
      const end = Math.min(off + 1480, segment.length);
      return ethernet(
        ipv4(segment.subarray(off, end), { id: 777, fragOffset: off, moreFragments: end < segment.length }),
      );
    });
    for (const order of [
      [0, 1, 2],
      [2, 0, 1],
      [1, 2, 0],
    ]) {
      const d = createDecoder();
      const out = order.map((i) => d.decode(raw(pieces[i]!)));
      assert.equal(out[0], null);
      assert.equal(d.lastDrop, null, 'the last piece produced the segment');
      assert.equal(out[1], null);
      const s = out[2];
      assert.ok(s);
      assert.deepEqual([s.srcPort, s.dstPort, s.seq, s.truncated], [40001, 8080, 42, false]);
      assert.deepEqual(s.payload, body);
      assert.deepEqual(d.counters.fragments, { pending: 0, merged: 2, reassembled: 1 });
      assertAccounted(d.counters);
    }
  });

  it('fragments of two VLANs or tunnels with the same addresses and IP id are two datagrams', () => {
    const datagram = (text: string) => {
      const segment = tcp({ srcPort: 40001, dstPort: 8080, seq: 42, payload: text.repeat(2000) });
      return [0, 1480].map((off) => {
        const end = Math.min(off + 1480, segment.length);
        return ipv4(segment.subarray(off, end), { id: 777, fragOffset: off, moreFragments: end < segment.length });
      });
    };
    const a = datagram('a');
    const b = datagram('b');
    const inVlan = (id: number, packet: Buffer) => raw(ethernet(packet, 0x0800, [[0x8100, id]]));
    const d = createDecoder();
    assert.equal(d.decode(inVlan(10, a[0]!)), null);
    assert.equal(d.decode(inVlan(20, b[0]!)), null);
    const sa = d.decode(inVlan(10, a[1]!));
    const sb = d.decode(inVlan(20, b[1]!));
    assert.equal(sa?.payload.toString(), 'a'.repeat(2000));
    assert.equal(sb?.payload.toString(), 'b'.repeat(2000));
    assert.deepEqual([sa?.vlan, sb?.vlan], [vlanKey([10]), vlanKey([20])]);
    // GRE keys 1 and 2 around the same fragments.
    const inKey = (key: number, packet: Buffer) =>
      raw(ethernet(ipv4(gre(packet, 0x0800, { key }), { src: '192.0.2.1', dst: '192.0.2.2', protocol: 47 })));
    const g = createDecoder();
    assert.equal(g.decode(inKey(1, a[0]!)), null);
    assert.equal(g.decode(inKey(2, b[0]!)), null);
    assert.equal(g.decode(inKey(1, a[1]!))?.payload.toString(), 'a'.repeat(2000));
    assert.equal(g.decode(inKey(2, b[1]!))?.payload.toString(), 'b'.repeat(2000));
    assertAccounted(d.counters);
    assertAccounted(g.counters);
  });

  it('IPv6 fragmented TCP is reassembled', () => {
    const segment = tcp({ payload: 'y'.repeat(2000) });
    const first = segment.subarray(0, 1232);
    const second = segment.subarray(1232);
    const d = createDecoder();
    const a = d.decode(raw(ipv6(frag6(6, 0, true, 99, first), { nextHeader: 44 }), LinkType.RAW));
    assert.equal(a, null);
    assert.equal(d.lastDrop, 'fragment-held');
    const s = d.decode(raw(ipv6(frag6(6, 1232, false, 99, second), { nextHeader: 44 }), LinkType.RAW));
    assert.ok(s);
    assert.equal(s.payload.length, 2000);
    assert.equal(s.srcIp, '2001:db8::1');
    assertAccounted(d.counters);
  });

  it('IPv6: extension headers inside the reassembled part are walked; ICMPv6 fragments are not held', () => {
    const fragmentable = ext6(6, tcp({ payload: 'z'.repeat(100) }));
    const d = createDecoder();
    d.decode(raw(ipv6(frag6(60, 0, true, 5, fragmentable.subarray(0, 64)), { nextHeader: 44 }), LinkType.RAW));
    const s = d.decode(raw(ipv6(frag6(60, 64, false, 5, fragmentable.subarray(64)), { nextHeader: 44 }), LinkType.RAW));
    assert.equal(s?.payload.length, 100);
    assert.equal(d.decode(raw(ipv6(frag6(58, 0, true, 6, Buffer.alloc(64)), { nextHeader: 44 }), LinkType.RAW)), null);
    assert.equal(d.lastDrop, 'non-tcp');
    assertAccounted(d.counters);
  });

  it('unfinished fragments are counted as expired by time and at finish()', () => {
    const d = createDecoder({ fragments: { timeoutMs: 1000 } });
    d.decode(raw(ethernet(ipv4(tcp().subarray(0, 16), { id: 1, moreFragments: true })), 1, 1_000_000_000n));
    d.decode(raw(ethernet(ipv4(tcp().subarray(0, 16), { id: 2, moreFragments: true })), 1, 2_500_000_000n));
    assert.equal(d.counters.dropped['fragment-expired'], 1);
    assert.equal(d.counters.fragments.pending, 1);
    d.finish();
    assert.equal(d.counters.dropped['fragment-expired'], 2);
    assertAccounted(d.counters);
  });

  it('non-TCP fragments are not held', () => {
    const d = createDecoder();
    assert.equal(d.decode(raw(ethernet(ipv4(Buffer.alloc(16), { protocol: 1, moreFragments: true })))), null);
    assert.equal(d.lastDrop, 'non-tcp');
  });

  it('VXLAN: the inner segment comes out with its VNI; port and VNI filters apply', () => {
    const inner = ethernet(ipv4(tcp({ payload: 'inner' }), { src: '10.0.0.1', dst: '10.0.0.2' }));
    const outer = (vni: number, port = 4789) =>
      ethernet(ipv4(udp(vxlan(inner, vni), 50000, port), { protocol: 17, src: '172.16.0.1', dst: '172.16.0.2' }));
    const d = createDecoder();
    const s = d.decode(raw(outer(123)));
    assert.ok(s);
    assert.deepEqual([s.srcIp, s.dstIp, s.vni, s.payload.toString()], ['10.0.0.1', '10.0.0.2', 123, 'inner']);
    assert.equal(d.decode(raw(outer(1, 9999))), null);
    assert.equal(d.lastDrop, 'non-tcp');

    const custom = createDecoder({ vxlanPort: 9999, vxlanVnis: [-5] });
    assert.ok(custom.decode(raw(outer(1, 9999))));
    assert.equal(custom.decode(raw(outer(5, 9999))), null);
    assert.equal(custom.lastDrop, 'vxlan-filtered');

    const off = createDecoder({ vxlanPort: null });
    assert.equal(off.decode(raw(outer(1))), null);
    assert.equal(off.lastDrop, 'non-tcp');
  });

  it('VXLAN nesting is bounded and malformed VXLAN is reported', () => {
    const l3 = ipv4(tcp());
    let frame = ethernet(l3);
    for (let i = 0; i < 3; i++) frame = ethernet(ipv4(udp(vxlan(frame, i)), { protocol: 17 }));
    const d = createDecoder();
    assert.equal(d.decode(raw(frame)), null);
    assert.equal(d.lastDrop, 'vxlan-too-deep');
    assert.equal(d.decode(raw(ethernet(ipv4(udp(vxlan(ethernet(l3), 1, 0)), { protocol: 17 })))), null);
    assert.equal(d.lastDrop, 'vxlan-malformed');
  });

  it('IP in IP, 6in4 and 4in6 are unwrapped as tshark does (also from fragments); nesting is bounded', () => {
    const inner4 = ipv4(tcp({ payload: 'four' }), { src: '10.0.0.1', dst: '10.0.0.2' });
    const inner6 = ipv6(tcp({ payload: 'six' }), { src: 'fd00::1', dst: 'fd00::2' });
    const d = createDecoder();
    const seen = (frame: Buffer) => {
      const s = d.decode(raw(frame));
      return s ? [s.srcIp, s.dstIp, s.payload.toString()] : d.lastDrop;
    };
    const outer = { src: '192.0.2.1', dst: '192.0.2.2' };
    assert.deepEqual(seen(ethernet(ipv4(inner4, { ...outer, protocol: 4 }))), ['10.0.0.1', '10.0.0.2', 'four']);
    assert.deepEqual(seen(ethernet(ipv4(inner6, { ...outer, protocol: 41 }))), ['fd00::1', 'fd00::2', 'six']);
    assert.deepEqual(seen(ethernet(ipv6(inner4, { nextHeader: 4 }), 0x86dd)), ['10.0.0.1', '10.0.0.2', 'four']);
    // Behind an IPv6 extension header, and in two IPv4 fragments of the outer packet.
    assert.deepEqual(seen(ethernet(ipv6(ext6(4, inner4), { nextHeader: 0 }), 0x86dd)), [
      '10.0.0.1',
      '10.0.0.2',
      'four',
    ]);
    const first = ipv4(inner4.subarray(0, 16), { ...outer, protocol: 4, id: 7, moreFragments: true });
    const second = ipv4(inner4.subarray(16), { ...outer, protocol: 4, id: 7, fragOffset: 16 });
    assert.equal(seen(ethernet(first)), 'fragment-held');
    assert.deepEqual(seen(ethernet(second)), ['10.0.0.1', '10.0.0.2', 'four']);
    let deep = inner4;
    for (let i = 0; i < 3; i++) deep = ipv4(deep, { ...outer, protocol: 4 });
    assert.equal(seen(ethernet(deep)), 'ip-in-ip-too-deep');
    assertAccounted(d.counters);
  });

  it('GRE (IP, Ethernet, ERSPAN II and III) is unwrapped as tshark does; nesting is bounded with IP in IP', () => {
    const inner4 = ipv4(tcp({ payload: 'four' }), { src: '10.0.0.1', dst: '10.0.0.2' });
    const inner6 = ipv6(tcp({ payload: 'six' }), { src: 'fd00::1', dst: 'fd00::2' });
    const d = createDecoder();
    const seen = (frame: Buffer) => {
      const s = d.decode(raw(frame));
      return s ? [s.srcIp, s.dstIp, s.payload.toString(), ...s.vlanIds] : d.lastDrop;
    };
    const outer = { src: '192.0.2.1', dst: '192.0.2.2', protocol: 47 };
    const in4 = (g: Buffer) => ethernet(ipv4(g, outer));
    const four = ['10.0.0.1', '10.0.0.2', 'four'];
    assert.deepEqual(seen(in4(gre(inner4))), four);
    assert.deepEqual(seen(in4(gre(inner6, 0x86dd))), ['fd00::1', 'fd00::2', 'six']);
    assert.deepEqual(seen(ethernet(ipv6(gre(inner4), { nextHeader: 47 }), 0x86dd)), four);
    assert.deepEqual(seen(in4(gre(inner4, 0x0800, { checksum: true, key: 9, seq: 3 }))), four);
    // Ethernet bridged over GRE (with its VLAN tag), ERSPAN I (no header), II and III (with and without subheader).
    assert.deepEqual(seen(in4(gre(ethernet(inner4, 0x0800, [[0x8100, 7]]), 0x6558, { key: 1 }))), [...four, 7]);
    assert.deepEqual(seen(in4(gre(ethernet(inner4), 0x88be))), four);
    assert.deepEqual(seen(in4(gre(erspan2(ethernet(inner4)), 0x88be, { seq: 1 }))), four);
    assert.deepEqual(seen(in4(gre(erspan3(ethernet(inner4)), 0x22eb, { seq: 1 }))), four);
    assert.deepEqual(seen(in4(gre(erspan3(ethernet(inner4), true), 0x22eb, { seq: 1 }))), four);
    // In two IPv4 fragments of the outer packet.
    const g = gre(inner4);
    assert.equal(seen(ethernet(ipv4(g.subarray(0, 16), { ...outer, id: 9, moreFragments: true }))), 'fragment-held');
    assert.deepEqual(seen(ethernet(ipv4(g.subarray(16), { ...outer, id: 9, fragOffset: 16 }))), four);
    // What GRE carries that is not read: PPTP (version 1), source routing, another protocol, a short header,
    // ERSPAN III of IP frames.
    assert.equal(seen(in4(gre(inner4, 0x880b, { extraFlags: 1 }))), 'non-tcp');
    assert.equal(seen(in4(gre(inner4, 0x0800, { extraFlags: 0x4000 }))), 'non-tcp');
    assert.equal(seen(in4(gre(inner4, 0x880b))), 'non-tcp');
    assert.equal(seen(in4(Buffer.from([0, 0, 8]))), 'non-tcp');
    assert.equal(seen(in4(gre(erspan3(inner4, false, 2), 0x22eb, { seq: 1 }))), 'non-tcp');
    // GRE in IP in IP in GRE: the third tunnel is too deep, whatever its kind.
    const deep = gre(ipv4(gre(ipv4(inner4, { protocol: 4 })), outer));
    assert.equal(seen(in4(deep)), 'ip-in-ip-too-deep');
    assertAccounted(d.counters);
  });

  it('a GRE key, an NVGRE subnet id or a VXLAN VNI is the segment’s tunnel (the innermost one with an id)', () => {
    const inner4 = ipv4(tcp({ payload: 'four' }), { src: '10.0.0.1', dst: '10.0.0.2' });
    const d = createDecoder();
    const tunnelOf = (frame: Buffer, packetTunnel?: number) =>
      d.decode({ ...raw(frame), tunnel: packetTunnel })?.tunnel;
    const in4 = (payload: Buffer, protocol = 47) =>
      ethernet(ipv4(payload, { src: '192.0.2.1', dst: '192.0.2.2', protocol }));
    const key = (k: number) => tunnelId(TunnelKind.GRE_KEY, k);
    assert.equal(tunnelOf(ethernet(inner4)), 0);
    assert.equal(tunnelOf(in4(gre(inner4))), 0);
    assert.equal(tunnelOf(in4(inner4, 4)), 0);
    assert.equal(tunnelOf(in4(gre(inner4, 0x0800, { key: 9 }))), key(9));
    assert.equal(tunnelOf(in4(gre(inner4, 0x0800, { checksum: true, key: 0xffffffff, seq: 3 }))), key(0xffffffff));
    assert.notEqual(key(0), 0);
    // Ethernet in GRE (NVGRE): the upper 24 bits, whatever the FlowID byte.
    const nv = (flowId: number) => tunnelOf(in4(gre(ethernet(inner4), 0x6558, { key: (0x1234 << 8) | flowId })));
    assert.equal(nv(1), tunnelId(TunnelKind.NVGRE_VSID, 0x1234));
    assert.equal(nv(200), nv(1));
    const vx = (vni: number) => in4(udp(vxlan(ethernet(inner4), vni)), 17);
    assert.equal(tunnelOf(vx(5001)), tunnelId(TunnelKind.VXLAN_VNI, 5001));
    // Nested: the innermost id; a tunnel without one inside keeps the outer id.
    assert.equal(
      tunnelOf(in4(gre(ipv4(udp(vxlan(ethernet(inner4), 7)), { protocol: 17 }), 0x0800, { key: 3 }))),
      tunnelId(TunnelKind.VXLAN_VNI, 7),
    );
    assert.equal(tunnelOf(in4(gre(ipv4(inner4, { protocol: 4 }), 0x0800, { key: 3 }))), key(3));
    // The vxlan engine hands frames with their VNI.
    assert.equal(tunnelOf(ethernet(inner4), tunnelId(TunnelKind.VXLAN_VNI, 8)), tunnelId(TunnelKind.VXLAN_VNI, 8));
    assert.equal(tunnelOf(ethernet(inner4)), 0);
  });

  it('PPPoE session frames are unwrapped to their IP packet (behind VLAN tags too); others are non-IP', () => {
    const inner4 = ipv4(tcp({ payload: 'four' }), { src: '10.0.0.1', dst: '10.0.0.2' });
    const inner6 = ipv6(tcp({ payload: 'six' }), { src: 'fd00::1', dst: 'fd00::2' });
    const d = createDecoder();
    const seen = (frame: Buffer, linkType: number = LinkType.ETHERNET) => {
      const s = d.decode(raw(frame, linkType));
      return s ? [s.srcIp, s.payload.toString(), ...s.vlanIds] : d.lastDrop;
    };
    assert.deepEqual(seen(ethernet(pppoe(inner4), 0x8864)), ['10.0.0.1', 'four']);
    assert.deepEqual(seen(ethernet(pppoe(inner6, 0x0057), 0x8864)), ['fd00::1', 'six']);
    assert.deepEqual(seen(ethernet(pppoe(inner4, 0x21, true), 0x8864)), ['10.0.0.1', 'four']);
    assert.deepEqual(seen(ethernet(pppoe(inner4), 0x8864, [[0x8100, 12]])), ['10.0.0.1', 'four', 12]);
    assert.deepEqual(seen(sll(pppoe(inner4), 0x8864), LinkType.LINUX_SLL), ['10.0.0.1', 'four']);
    // Padding after the PPPoE payload (a short frame) is not read as TCP payload.
    assert.deepEqual(seen(ethernet(Buffer.concat([pppoe(inner4), Buffer.alloc(20, 0x41)]), 0x8864)), [
      '10.0.0.1',
      'four',
    ]);
    assert.equal(seen(ethernet(pppoe(Buffer.alloc(8), 0xc021), 0x8864)), 'non-ip'); // LCP
    assert.equal(seen(ethernet(Buffer.from([0x11, 0x09, 0, 0, 0, 0]), 0x8863)), 'non-ip'); // discovery
    assert.equal(seen(ethernet(Buffer.from([0x11, 0]), 0x8864)), 'link-truncated');
    assertAccounted(d.counters);
  });

  it('MPLS label stacks are unwrapped to IPv4, IPv6 or an Ethernet pseudowire (with or without control word)', () => {
    const inner4 = ipv4(tcp({ payload: 'four' }), { src: '10.0.0.1', dst: '10.0.0.2' });
    const inner6 = ipv6(tcp({ payload: 'six' }), { src: 'fd00::1', dst: 'fd00::2' });
    const d = createDecoder();
    const seen = (frame: Buffer) => {
      const s = d.decode(raw(frame));
      return s ? [s.srcIp, s.payload.toString(), ...s.vlanIds] : d.lastDrop;
    };
    const four = ['10.0.0.1', 'four'];
    assert.deepEqual(seen(ethernet(mpls(inner4), 0x8847)), four);
    assert.deepEqual(seen(ethernet(mpls(inner6, [16, 17, 18]), 0x8847)), ['fd00::1', 'six']);
    assert.deepEqual(seen(ethernet(mpls(inner4), 0x8848, [[0x8100, 5]])), [...four, 5]);
    // A pseudowire: the customer's frame (here with a destination MAC starting 00), with or without the
    // 4-byte control word, its VLAN tag kept once.
    const customer = ethernet(inner4, 0x0800, [[0x8100, 9]]);
    customer[0] = 0x00;
    assert.deepEqual(seen(ethernet(mpls(customer, [20, 30]), 0x8847)), [...four, 9]);
    assert.deepEqual(seen(ethernet(mpls(Buffer.concat([Buffer.alloc(4), customer]), [20, 30]), 0x8847)), [...four, 9]);
    // In GRE (MPLS over GRE), and what is not read.
    assert.deepEqual(seen(ethernet(ipv4(gre(mpls(inner4), 0x8847), { protocol: 47 }))), four);
    assert.equal(seen(ethernet(mpls(Buffer.from([0x50, 0, 0, 0])), 0x8847)), 'non-ip');
    assert.equal(seen(ethernet(Buffer.alloc(3), 0x8847)), 'link-truncated');
    assert.equal(seen(ethernet(mpls(inner4, Array<number>(17).fill(3)), 0x8847)), 'non-ip');
    assertAccounted(d.counters);
  });

  it('VLAN filter: by id at any depth, or tagged only', () => {
    const tagged = (vids: number[]) =>
      raw(
        ethernet(
          ipv4(tcp()),
          0x0800,
          vids.map((v) => [0x8100, v] as [number, number]),
        ),
      );
    const byId = createDecoder({ vlanIds: [20] });
    assert.ok(byId.decode(tagged([10, 20])));
    assert.equal(byId.decode(tagged([10])), null);
    assert.equal(byId.lastDrop, 'vlan-filtered');
    assert.equal(byId.decode(tagged([])), null);
    const only = createDecoder({ vlanOnly: true });
    assert.ok(only.decode(tagged([1])));
    assert.equal(only.decode(tagged([])), null);
    const s = createDecoder().decode(tagged([3, 4]));
    assert.deepEqual(s?.vlanIds, [3, 4]);
    // The stack is the segment's vlan (part of its connection's identity); a priority tag (VID 0) is none.
    assert.equal(s?.vlan, vlanKey([3, 4]));
    assert.notEqual(s?.vlan, createDecoder().decode(tagged([4, 3]))?.vlan);
    assert.equal(createDecoder().decode(tagged([0]))?.vlan, 0);
    assert.equal(createDecoder().decode(tagged([]))?.vlan, 0);
    // A VXLAN inner frame's tags come after the outer frame's.
    const inner = ethernet(ipv4(tcp()), 0x0800, [[0x8100, 7]]);
    const vx = ethernet(ipv4(udp(vxlan(inner, 5)), { protocol: 17 }), 0x0800, [[0x8100, 9]]);
    assert.equal(createDecoder().decode(raw(vx))?.vlan, vlanKey([9, 7]));
  });

  it('says why each kind of packet was dropped', () => {
    const cases: Array<[RawPacket, string]> = [
      [raw(Buffer.alloc(60), 147), 'unsupported-link-type'],
      [raw(Buffer.alloc(10)), 'link-truncated'],
      [raw(ethernet(Buffer.alloc(28), 0x0806)), 'non-ip'],
      [raw(ethernet(ipv4(udp(Buffer.alloc(4), 1, 53), { protocol: 17 }))), 'non-tcp'],
      [raw(ethernet(ipv4(tcp({ dataOffsetWords: 2 })))), 'tcp-bad-data-offset'],
      [raw(Buffer.from([0x50, 0, 0]), LinkType.RAW), 'ip-bad-version'],
    ];
    const d = createDecoder();
    for (const [pkt, reason] of cases) {
      assert.equal(d.decode(pkt), null, reason);
      assert.equal(d.lastDrop, reason);
      assert.equal(d.counters.dropped[reason as (typeof DROP_REASONS)[number]], 1, reason);
    }
    assertAccounted(d.counters);
  });

  it('decodeBatch appends segments and returns their count', () => {
    const d = createDecoder();
    const out: unknown[] = ['keep'];
    const n = d.decodeBatch(
      [raw(ethernet(ipv4(tcp()))), raw(Buffer.alloc(3)), raw(ethernet(ipv4(tcp())))],
      out as never,
    );
    assert.equal(n, 2);
    assert.equal(out.length, 3);
  });

  it('random bytes on any link type never throw, and every packet is accounted for', () => {
    const linkTypes = [...SUPPORTED_LINK_TYPES, 147];
    const d = createDecoder({ fragments: { maxDatagrams: 4 } });
    fc.assert(
      fc.property(
        fc.constantFrom(...linkTypes),
        fc.uint8Array({ maxLength: 200 }),
        fc.boolean(),
        (linkType, bytes, plausible) => {
          // Half the cases start from a valid packet with random bytes overwritten, to get past the checks.
          const base = plausible
            ? ethernet(ipv4(tcp({ payload: 'abcdefgh' }), { moreFragments: bytes[0] === 1 }))
            : null;
          const data = base ? Buffer.from(base) : Buffer.from(bytes);
          if (base) for (let i = 1; i < bytes.length; i += 2) data[bytes[i]! % data.length] = bytes[i - 1]!;
          d.decode({ tsNs: 1n, linkType: base ? 1 : linkType, data, origLen: data.length });
        },
      ),
      { numRuns: 3000 },
    );
    assertAccounted(d.counters);
  });
});
