/** IPv4 and IPv6 headers, IPv6 extension-header chains and fragment fields. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IpInfo } from './ip.js';
import { parseIpv4 } from './ipv4.js';
import { parseIpv6 } from './ipv6.js';
import { ah6, ext6, frag6, ip4, ip6, ipv4, ipv6, tcp } from './testkit.js';

function parse4(packet: Buffer, end = packet.length) {
  const ip = new IpInfo();
  const r = parseIpv4(packet, 0, end, ip);
  return { r, ip };
}

describe('ipv4', () => {
  it('reads addresses, protocol and the payload span', () => {
    const seg = tcp();
    const { r, ip } = parse4(ipv4(seg, { src: '203.0.113.200', dst: '10.1.2.3' }));
    assert.equal(r, null);
    assert.equal(ip.src4, ip4('203.0.113.200'));
    assert.equal(ip.dst4, ip4('10.1.2.3'));
    assert.equal(ip.src4 > 0x7fffffff, true, 'addresses are unsigned');
    assert.deepEqual([ip.version, ip.protocol, ip.payloadOff, ip.payloadEnd, ip.truncated], [4, 6, 20, 40, false]);
    assert.equal(ip.fragment, false);
  });

  it('honours the IHL (options skipped)', () => {
    const { ip } = parse4(ipv4(tcp(), { options: Buffer.from([1, 1, 1, 0, 1, 1, 1, 1]) }));
    assert.equal(ip.payloadOff, 28);
  });

  it('honours the total length: Ethernet padding is not payload', () => {
    const packet = Buffer.concat([ipv4(tcp()), Buffer.alloc(6)]);
    assert.equal(parse4(packet).ip.payloadEnd, 40);
  });

  it('a total length beyond the capture marks the packet truncated, with the missing byte count', () => {
    const packet = ipv4(tcp({ payload: 'x'.repeat(100) }));
    const { r, ip } = parse4(packet.subarray(0, 60));
    assert.equal(r, null);
    assert.deepEqual([ip.truncated, ip.missing, ip.payloadEnd], [true, 80, 60]);
  });

  it('total length 0 (a sender-side TSO capture) means the captured length', () => {
    const { r, ip } = parse4(ipv4(tcp({ payload: 'abc' }), { totalLength: 0 }));
    assert.equal(r, null);
    assert.deepEqual([ip.payloadEnd, ip.truncated], [43, false]);
  });

  it('fragment fields', () => {
    const { ip } = parse4(ipv4(Buffer.alloc(16), { id: 0xbeef, fragOffset: 1480, moreFragments: true }));
    assert.deepEqual([ip.fragment, ip.fragOffset, ip.moreFragments, ip.fragId], [true, 1480, true, 0xbeef]);
    assert.equal(parse4(ipv4(Buffer.alloc(16), { fragOffset: 8 })).ip.fragment, true);
  });

  it('malformed headers say why', () => {
    assert.equal(parse4(Buffer.alloc(19)).r, 'ipv4-truncated-header');
    assert.equal(parse4(ipv4(tcp(), { ihlWords: 4 })).r, 'ipv4-bad-header-length');
    assert.equal(parse4(ipv4(tcp(), { ihlWords: 15 })).r, 'ipv4-truncated-header');
    assert.equal(parse4(ipv4(tcp(), { totalLength: 19 })).r, 'ipv4-bad-total-length');
    const v6 = ipv4(tcp());
    v6[0] = 0x65;
    assert.equal(parse4(v6).r, 'ip-bad-version');
  });
});

function parse6(packet: Buffer, end = packet.length) {
  const ip = new IpInfo();
  const r = parseIpv6(packet, 0, end, ip);
  return { r, ip };
}

describe('ipv6', () => {
  it('reads the fixed header; src4/dst4 are the last 4 address bytes', () => {
    const { r, ip } = parse6(ipv6(tcp(), { src: '2001:db8::c0a8:101', dst: 'fe80::ffff:fffe' }));
    assert.equal(r, null);
    assert.deepEqual([ip.version, ip.protocol, ip.payloadOff, ip.payloadEnd], [6, 6, 40, 60]);
    assert.equal(ip.src4, 0xc0a80101);
    assert.equal(ip.dst4, 0xfffffffe);
    assert.deepEqual(Buffer.from(ip.addrBuf.subarray(ip.addrOff, ip.addrOff + 16)), ip6('2001:db8::c0a8:101'));
  });

  it('walks hop-by-hop, routing, destination options and AH to reach TCP', () => {
    const chain = ext6(43, ext6(60, ext6(51, ah6(6, tcp()), 14)));
    const { r, ip } = parse6(ipv6(chain, { nextHeader: 0 }));
    assert.equal(r, null);
    assert.equal(ip.protocol, 6);
    assert.equal(ip.payloadOff, 40 + 8 + 8 + 16 + 12);
  });

  it('an atomic fragment header (offset 0, no more) is skipped like any other', () => {
    const { ip } = parse6(ipv6(frag6(6, 0, false, 7, tcp()), { nextHeader: 44 }));
    assert.deepEqual([ip.fragment, ip.protocol, ip.payloadOff], [false, 6, 48]);
  });

  it('a real fragment stops the walk and says where its bytes are', () => {
    const { ip } = parse6(ipv6(frag6(6, 1232, true, 0xdeadbeef, Buffer.alloc(24)), { nextHeader: 44 }));
    assert.deepEqual(
      [ip.fragment, ip.fragOffset, ip.moreFragments, ip.fragId, ip.protocol, ip.payloadOff],
      [true, 1232, true, 0xdeadbeef, 6, 48],
    );
  });

  it('payload length: honoured (padding dropped), 0 means "the rest", too long is truncation', () => {
    assert.equal(parse6(Buffer.concat([ipv6(tcp()), Buffer.alloc(4)])).ip.payloadEnd, 60);
    assert.equal(parse6(ipv6(tcp(), { payloadLength: 0 })).ip.payloadEnd, 60);
    const cut = parse6(ipv6(tcp({ payload: 'x'.repeat(50) })).subarray(0, 70));
    assert.deepEqual([cut.r, cut.ip.truncated, cut.ip.missing, cut.ip.payloadEnd], [null, true, 40, 70]);
  });

  it('malformed or cut extension headers say why', () => {
    assert.equal(parse6(Buffer.alloc(39)).r, 'ipv6-truncated-header');
    const overrun = ipv6(Buffer.from([6, 200, 0, 0, 0, 0, 0, 0]), { nextHeader: 0 });
    assert.equal(parse6(overrun).r, 'ipv6-bad-extension');
    const cut = ipv6(ext6(6, tcp(), 30), { nextHeader: 0 });
    assert.equal(parse6(cut.subarray(0, 50)).r, 'ipv6-truncated-header');
    let loop = tcp();
    for (let i = 0; i < 20; i++) loop = ext6(60, loop);
    assert.equal(parse6(ipv6(loop, { nextHeader: 60 })).r, 'ipv6-bad-extension');
  });
});
