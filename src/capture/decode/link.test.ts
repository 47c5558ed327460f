/** Link-layer parsers: Ethernet and VLAN stacks, Linux cooked v1/v2, BSD loopback, NFLOG. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEthernet } from './ethernet.js';
import { LinkInfo, parseLink } from './link.js';
import { ethernet, fddi, ipnet, ipv4, ipv6, loopback, nflog, pppoe, sll, sll2, tcp } from './testkit.js';
import { MAX_VLAN_TAGS } from './vlan.js';

function parseEth(frame: Buffer) {
  const link = new LinkInfo();
  const r = parseEthernet(frame, 0, link);
  return { r, offset: link.offset, etherType: link.etherType, vlans: [...link.vlanIds] };
}

describe('ethernet + vlan', () => {
  it('finds the IPv4 header after 14 bytes', () => {
    assert.deepEqual(parseEth(ethernet(Buffer.alloc(20))), { r: null, offset: 14, etherType: 0x0800, vlans: [] });
  });

  it('unwraps an 802.1Q tag and keeps its VID', () => {
    const f = ethernet(Buffer.alloc(40), 0x86dd, [[0x8100, 42]]);
    assert.deepEqual(parseEth(f), { r: null, offset: 18, etherType: 0x86dd, vlans: [42] });
  });

  it('unwraps QinQ stacks with every TPID, outermost VID first', () => {
    for (const outer of [0x88a8, 0x9100, 0x8100]) {
      const f = ethernet(Buffer.alloc(20), 0x0800, [
        [outer, 100],
        [0x8100, 4095],
      ]);
      assert.deepEqual(parseEth(f), { r: null, offset: 22, etherType: 0x0800, vlans: [100, 4095] });
    }
  });

  it('masks PCP/DEI bits out of the TCI', () => {
    const f = ethernet(Buffer.alloc(20), 0x0800, [[0x8100, 7]]);
    f[14] = 0xe0 | f[14]!; // priority 7
    assert.deepEqual(parseEth(f).vlans, [7]);
  });

  it('rejects absurd tag stacks and cut frames', () => {
    const deep = ethernet(
      Buffer.alloc(20),
      0x0800,
      Array.from({ length: MAX_VLAN_TAGS + 1 }, () => [0x8100, 1]),
    );
    assert.equal(parseEth(deep).r, 'vlan-too-deep');
    assert.equal(parseEth(Buffer.alloc(13)).r, 'link-truncated');
    assert.equal(parseEth(ethernet(Buffer.alloc(0), 0x0800, [[0x8100, 1]]).subarray(0, 16)).r, 'link-truncated');
  });

  it('reports an 802.3 length field as the EtherType (non-IP to the decoder)', () => {
    assert.equal(parseEth(ethernet(Buffer.alloc(20), 100)).etherType, 100);
  });
});

function parseCooked(linkType: number, frame: Buffer) {
  const link = new LinkInfo();
  const r = parseLink(linkType, frame, link);
  return { r, offset: link.offset, etherType: link.etherType, vlans: [...link.vlanIds] };
}

describe('linux cooked capture', () => {
  it('SLL v1: protocol at byte 14, IP at 16', () => {
    assert.deepEqual(parseCooked(113, sll(Buffer.alloc(20), 0x86dd)), {
      r: null,
      offset: 16,
      etherType: 0x86dd,
      vlans: [],
    });
  });

  it('SLL v2: protocol at byte 0, IP at 20', () => {
    assert.deepEqual(parseCooked(276, sll2(Buffer.alloc(20))), { r: null, offset: 20, etherType: 0x0800, vlans: [] });
  });

  it('follows a VLAN tag libpcap re-inserted after the header', () => {
    const tag = Buffer.from([0x00, 0x0c, 0x08, 0x00]); // VID 12, then IPv4
    assert.deepEqual(parseCooked(113, sll(Buffer.concat([tag, Buffer.alloc(20)]), 0x8100)), {
      r: null,
      offset: 20,
      etherType: 0x0800,
      vlans: [12],
    });
  });

  it('short frames are link-truncated', () => {
    assert.equal(parseCooked(113, Buffer.alloc(15)).r, 'link-truncated');
    assert.equal(parseCooked(276, Buffer.alloc(19)).r, 'link-truncated');
  });
});

function parseLoop(linkType: number, frame: Buffer) {
  const link = new LinkInfo();
  const r = parseLink(linkType, frame, link);
  return { r, offset: link.offset, etherType: link.etherType };
}

describe('BSD loopback (NULL / LOOP)', () => {
  it('AF_INET in host (little-endian) and network byte order', () => {
    assert.deepEqual(parseLoop(0, loopback(Buffer.alloc(20), 2)), { r: null, offset: 4, etherType: 0x0800 });
    assert.deepEqual(parseLoop(0, loopback(Buffer.alloc(20), 2, true)), { r: null, offset: 4, etherType: 0x0800 });
    assert.deepEqual(parseLoop(108, loopback(Buffer.alloc(20), 2, true)), { r: null, offset: 4, etherType: 0x0800 });
  });

  it('every OS value of AF_INET6, both byte orders', () => {
    for (const family of [10, 24, 28, 30]) {
      for (const be of [false, true]) {
        assert.equal(
          parseLoop(0, loopback(Buffer.alloc(40), family, be)).etherType,
          0x86dd,
          `family ${family} be=${be}`,
        );
      }
    }
  });

  it('unknown families are non-IP; short frames link-truncated', () => {
    assert.equal(parseLoop(0, loopback(Buffer.alloc(20), 7)).r, 'non-ip');
    assert.equal(parseLoop(0, Buffer.alloc(3)).r, 'link-truncated');
  });
});

function parseNf(frame: Buffer) {
  const link = new LinkInfo();
  const r = parseLink(239, frame, link);
  return { r, offset: link.offset, end: link.end, etherType: link.etherType };
}

describe('NFLOG', () => {
  it('finds the payload attribute (type 9) after other TLVs, little-endian', () => {
    const packet = ipv4(tcp());
    const frame = nflog(packet);
    const p = parseNf(frame);
    assert.equal(p.r, null);
    assert.equal(p.etherType, 0x0800);
    assert.deepEqual(frame.subarray(p.offset, p.end), packet);
  });

  it('big-endian TLVs and the IPv6 family', () => {
    const packet = ipv6(tcp());
    const frame = nflog(packet, 10, true);
    const p = parseNf(frame);
    assert.equal(p.r, null);
    assert.equal(p.etherType, 0x86dd);
    assert.deepEqual(frame.subarray(p.offset, p.end), packet);
  });

  it('an unknown family falls back to the IP version nibble', () => {
    assert.equal(parseNf(nflog(ipv6(tcp()), 0)).etherType, 0x86dd);
  });

  it('a payload attribute cut by the snaplen still points at the IP header', () => {
    const frame = nflog(ipv4(tcp({ payload: 'x'.repeat(100) })));
    const p = parseNf(frame.subarray(0, frame.length - 50));
    assert.equal(p.r, null);
    assert.equal(p.end, frame.length - 50);
  });

  it('no payload attribute, or garbage TLVs, is nflog-malformed', () => {
    const header = Buffer.from([2, 0, 0, 1]);
    const tlv = Buffer.from([8, 0, 1, 0, 0, 0, 0, 0]);
    assert.equal(parseNf(Buffer.concat([header, tlv])).r, 'nflog-malformed');
    assert.equal(parseNf(Buffer.concat([header, Buffer.from([0xff, 0xff, 0xff, 0xff])])).r, 'nflog-malformed');
    assert.equal(parseNf(Buffer.concat([header, Buffer.from([1, 0, 9, 0])])).r, 'nflog-malformed');
    assert.equal(parseNf(Buffer.alloc(3)).r, 'link-truncated');
  });
});

describe('FDDI and Solaris IPNET (link types gor reads too)', () => {
  const parse = (linkType: number, frame: Buffer) => {
    const link = new LinkInfo();
    const r = parseLink(linkType, frame, link);
    return { r, offset: link.offset, etherType: link.etherType };
  };

  it('FDDI: IP after the LLC/SNAP header (byte 21); a frame without SNAP is not IP; a short one is truncated', () => {
    assert.deepEqual(parse(10, fddi(ipv4(tcp()))), { r: null, offset: 21, etherType: 0x0800 });
    assert.deepEqual(parse(10, fddi(ipv6(tcp()), 0x86dd)), { r: null, offset: 21, etherType: 0x86dd });
    assert.equal(parse(10, fddi(ipv4(tcp()), 0x0800, false)).r, 'non-ip');
    assert.equal(parse(10, fddi(Buffer.alloc(0)).subarray(0, 20)).r, 'link-truncated');
  });

  it('IPNET: IP after 24 bytes, its family 2 or 26 (Solaris AF_INET6); another family is not IP', () => {
    assert.deepEqual(parse(226, ipnet(ipv4(tcp()))), { r: null, offset: 24, etherType: 0x0800 });
    assert.deepEqual(parse(226, ipnet(ipv6(tcp()), 26)), { r: null, offset: 24, etherType: 0x86dd });
    assert.equal(parse(226, ipnet(ipv4(tcp()), 10)).r, 'non-ip');
    assert.equal(parse(226, Buffer.alloc(23)).r, 'link-truncated');
  });
});

describe('PPP link types and Cisco HDLC', () => {
  const parse = (linkType: number, frame: Buffer) => {
    const link = new LinkInfo();
    const r = parseLink(linkType, frame, link);
    return { r, offset: link.offset, end: link.end, etherType: link.etherType };
  };
  const with_ = (head: number[], body: Buffer) => Buffer.concat([Buffer.from(head), body]);
  const ip = ipv4(tcp());

  it('PPP (9) and PPP in HDLC framing (50): with or without 0xff 0x03, compressed protocol, IPv6', () => {
    for (const type of [9, 50]) {
      assert.deepEqual(parse(type, with_([0xff, 0x03, 0x00, 0x21], ip)), {
        r: null,
        offset: 4,
        end: 44,
        etherType: 0x0800,
      });
      assert.deepEqual(parse(type, with_([0x00, 0x21], ip)).offset, 2);
      assert.deepEqual(parse(type, with_([0x21], ip)).offset, 1);
      assert.equal(parse(type, with_([0xff, 0x03, 0x00, 0x57], ipv6(tcp()))).etherType, 0x86dd);
      assert.equal(parse(type, with_([0xff, 0x03, 0xc0, 0x21], Buffer.alloc(8))).r, 'non-ip'); // LCP
      assert.equal(parse(type, Buffer.from([0xff])).r, 'link-truncated');
    }
  });

  it('Cisco HDLC (104, and 50 frames starting 0x0f or 0x8f): an EtherType after two bytes', () => {
    assert.deepEqual(parse(104, with_([0x0f, 0, 0x08, 0x00], ip)), { r: null, offset: 4, end: 44, etherType: 0x0800 });
    assert.equal(parse(50, with_([0x8f, 0, 0x86, 0xdd], ipv6(tcp()))).etherType, 0x86dd);
    assert.equal(parse(104, Buffer.from([0x0f, 0, 8])).r, 'link-truncated');
  });

  it('PPP over Ethernet without the Ethernet header (51): the PPPoE length bounds the packet', () => {
    assert.deepEqual(parse(51, Buffer.concat([pppoe(ip), Buffer.alloc(6)])), {
      r: null,
      offset: 8,
      end: 48,
      etherType: 0x0800,
    });
    assert.equal(parse(51, Buffer.from([0x11, 0x09, 0, 0, 0, 0])).r, 'non-ip'); // discovery (PADI)
  });
});
