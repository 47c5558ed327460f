import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BPF,
  type BpfInstruction,
  type CaptureFilter,
  type CompileOptions,
  compileAcceptAll,
  compileCaptureFilter,
  compileFlowHash,
  decodeBpf,
  disassemble,
  encodeBpf,
  gorFilterText,
  ipv4ToU32,
  ipv6ToWords,
} from './bpf.js';
import { type BpfPacketMeta, runBpf } from './bpf-interpreter.js';

// ---- packet crafting --------------------------------------------------------------------------

const SNAP = 65535;

function v4bytes(ip: string): Buffer {
  return Buffer.from(ip.split('.').map(Number));
}

function v6bytes(ip: string): Buffer {
  const b = Buffer.alloc(16);
  for (const [i, w] of ipv6ToWords(ip).entries()) b.writeUInt32BE(w, i * 4);
  return b;
}

function tcp(sport: number, dport: number, payload = 'GET / HTTP/1.1\r\n\r\n'): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt32BE(1000, 4);
  h[12] = 5 << 4;
  h[13] = 0x18;
  return Buffer.concat([h, Buffer.from(payload)]);
}

function udp(sport: number, dport: number): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  return h;
}

function ipv4(src: string, dst: string, proto: number, payload: Buffer, o: { options?: number; frag?: number } = {}) {
  const optLen = (o.options ?? 0) * 4;
  const h = Buffer.alloc(20 + optLen);
  h[0] = 0x40 | (5 + (o.options ?? 0));
  h.writeUInt16BE(h.length + payload.length, 2);
  h.writeUInt16BE(o.frag ?? 0x4000, 6);
  h[8] = 64;
  h[9] = proto;
  v4bytes(src).copy(h, 12);
  v4bytes(dst).copy(h, 16);
  return Buffer.concat([h, payload]);
}

function ipv6(src: string, dst: string, nh: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(payload.length, 4);
  h[6] = nh;
  h[7] = 64;
  v6bytes(src).copy(h, 8);
  v6bytes(dst).copy(h, 24);
  return Buffer.concat([h, payload]);
}

function eth(type: number, l3: Buffer, tags: { tpid: number; vid: number }[] = []): Buffer {
  const macs = Buffer.alloc(12, 0xaa);
  const tagBytes = tags.map((t) => {
    const b = Buffer.alloc(4);
    b.writeUInt16BE(t.tpid, 0);
    b.writeUInt16BE(t.vid, 2);
    return b;
  });
  const et = Buffer.alloc(2);
  et.writeUInt16BE(type, 0);
  return Buffer.concat([macs, ...tagBytes, et, l3]);
}

const e4 = (src: string, dst: string, sport: number, dport: number) =>
  eth(0x0800, ipv4(src, dst, 6, tcp(sport, dport)));
const e6 = (src: string, dst: string, sport: number, dport: number) =>
  eth(0x86dd, ipv6(src, dst, 6, tcp(sport, dport)));

const ETH: CompileOptions = { link: 'ethernet', snaplen: SNAP };
const COOKED: CompileOptions = { link: 'cooked', snaplen: SNAP };

function accepts(prog: BpfInstruction[], pkt: Buffer, meta?: BpfPacketMeta): boolean {
  const r = runBpf(prog, pkt, meta);
  assert.ok(r === 0 || r === SNAP, `program returned ${r}`);
  return r === SNAP;
}

// ---- gor's text ---------------------------------------------------------------------------------

describe('gorFilterText (spec §8.2)', () => {
  test('the spec example: :80 on lo with track-response', () => {
    assert.equal(
      gorFilterText({ ports: [80], hosts: ['127.0.0.1', '::1'], trackResponse: true }),
      '((tcp dst port 80) and (dst host 127.0.0.1 or dst host ::1)) or ((tcp src port 80) and (src host 127.0.0.1 or src host ::1))',
    );
  });
  test('several ports, no hosts, no track', () => {
    assert.equal(gorFilterText({ ports: [80, 8080] }), '(tcp dst port 80 or tcp dst port 8080)');
  });
  test('port 0 or no port means a port range', () => {
    assert.equal(gorFilterText({ ports: [] }), '(tcp dst portrange 0-65535)');
    assert.equal(
      gorFilterText({ ports: [0], hosts: ['10.0.0.1'], trackResponse: true }),
      '((tcp dst portrange 0-65535) and (dst host 10.0.0.1)) or ((tcp src portrange 0-65535) and (src host 10.0.0.1))',
    );
  });
  test('promiscuous drops the host part', () => {
    assert.equal(gorFilterText({ ports: [80], hosts: ['10.0.0.1'], promiscuous: true }), '(tcp dst port 80)');
  });
  test('vlan prefixes, last VID outermost', () => {
    assert.equal(gorFilterText({ ports: [80], vlan: true }), 'vlan and (tcp dst port 80)');
    assert.equal(
      gorFilterText({ ports: [80], vlan: true, vlanIds: [10, 20] }),
      'vlan 20 and vlan 10 and (tcp dst port 80)',
    );
  });
});

// ---- addresses ----------------------------------------------------------------------------------

describe('address parsing', () => {
  test('IPv4', () => {
    assert.equal(ipv4ToU32('127.0.0.1'), 0x7f000001);
    assert.equal(ipv4ToU32('255.255.255.255'), 0xffffffff);
  });
  test('IPv6 forms', () => {
    assert.deepEqual(ipv6ToWords('::1'), [0, 0, 0, 1]);
    assert.deepEqual(ipv6ToWords('::'), [0, 0, 0, 0]);
    assert.deepEqual(ipv6ToWords('2001:db8::1'), [0x20010db8, 0, 0, 1]);
    assert.deepEqual(ipv6ToWords('2001:db8:1:2:3:4:5:6'), [0x20010db8, 0x00010002, 0x00030004, 0x00050006]);
    assert.deepEqual(ipv6ToWords('::ffff:1.2.3.4'), [0, 0, 0xffff, 0x01020304]);
    assert.deepEqual(ipv6ToWords('fe80::1%eth0'), [0xfe800000, 0, 0, 1]);
    assert.deepEqual(ipv6ToWords('1::'), [0x00010000, 0, 0, 0]);
  });
  test('names and junk are refused with BAD_ADDRESS', () => {
    assert.throws(() => compileCaptureFilter({ ports: [80], hosts: ['localhost'] }, ETH), {
      code: 'TAPLINE_ERR_BAD_ADDRESS',
    });
    assert.throws(() => compileCaptureFilter({ ports: [70000] }, ETH), { code: 'TAPLINE_ERR_BAD_ADDRESS' });
    assert.throws(() => compileCaptureFilter({ ports: [80], vlanIds: [5000] }, ETH), {
      code: 'TAPLINE_ERR_BAD_ADDRESS',
    });
  });
});

// ---- the capture program ------------------------------------------------------------------------

describe('compileCaptureFilter on crafted packets', () => {
  const f: CaptureFilter = { ports: [80, 8080], hosts: ['10.0.0.1', '2001:db8::1'], trackResponse: true };
  const p = compileCaptureFilter(f, ETH);

  test('IPv4 requests: dst port and dst host must both match', () => {
    assert.ok(accepts(p, e4('10.9.9.9', '10.0.0.1', 40000, 80)));
    assert.ok(accepts(p, e4('10.9.9.9', '10.0.0.1', 40000, 8080)));
    assert.ok(!accepts(p, e4('10.9.9.9', '10.0.0.1', 40000, 81)));
    assert.ok(!accepts(p, e4('10.9.9.9', '10.0.0.2', 40000, 80)));
  });
  test('IPv4 responses only with track-response', () => {
    assert.ok(accepts(p, e4('10.0.0.1', '10.9.9.9', 80, 40000)));
    assert.ok(!accepts(p, e4('10.0.0.2', '10.9.9.9', 80, 40000)));
    const noTrack = compileCaptureFilter({ ...f, trackResponse: false }, ETH);
    assert.ok(!accepts(noTrack, e4('10.0.0.1', '10.9.9.9', 80, 40000)));
    assert.ok(accepts(noTrack, e4('10.9.9.9', '10.0.0.1', 40000, 80)));
  });
  test('the port rule and the host rule are checked per direction', () => {
    // src port 80 but the src host is not ours, dst host is ours but dst port is not in the set
    assert.ok(!accepts(p, e4('10.9.9.9', '10.0.0.1', 80, 40000)));
  });
  test('IPv4 header options move the ports', () => {
    assert.ok(accepts(p, eth(0x0800, ipv4('10.9.9.9', '10.0.0.1', 6, tcp(40000, 80), { options: 3 }))));
    assert.ok(!accepts(p, eth(0x0800, ipv4('10.9.9.9', '10.0.0.1', 6, tcp(40000, 81), { options: 3 }))));
  });
  test('not TCP, not IP, too short', () => {
    assert.ok(!accepts(p, eth(0x0800, ipv4('10.9.9.9', '10.0.0.1', 17, udp(40000, 80)))));
    assert.ok(!accepts(p, eth(0x86dd, ipv6('2001:db8::9', '2001:db8::1', 17, udp(40000, 80)))));
    assert.ok(!accepts(p, eth(0x0806, Buffer.alloc(28))));
    assert.ok(!accepts(p, e4('10.9.9.9', '10.0.0.1', 40000, 80).subarray(0, 30)));
  });
  test('IPv4 non-first fragments: host rule only (off with fragments:false)', () => {
    const frag = eth(0x0800, ipv4('10.9.9.9', '10.0.0.1', 6, Buffer.from('rest of the segment'), { frag: 0x00b9 }));
    const fragBack = eth(0x0800, ipv4('10.0.0.1', '10.9.9.9', 6, Buffer.from('rest'), { frag: 0x00b9 }));
    const fragOther = eth(0x0800, ipv4('10.9.9.9', '10.0.0.7', 6, Buffer.from('rest'), { frag: 0x00b9 }));
    assert.ok(accepts(p, frag));
    assert.ok(accepts(p, fragBack));
    assert.ok(!accepts(p, fragOther));
    assert.ok(!accepts(compileCaptureFilter(f, { ...ETH, fragments: false }), frag));
  });
  test('IPv6 requests and responses', () => {
    assert.ok(accepts(p, e6('2001:db8::9', '2001:db8::1', 40000, 80)));
    assert.ok(!accepts(p, e6('2001:db8::9', '2001:db8::2', 40000, 80)));
    assert.ok(!accepts(p, e6('2001:db8::9', '2001:db8::1', 40000, 443)));
    assert.ok(accepts(p, e6('2001:db8::1', '2001:db8::9', 8080, 40000)));
    // differs from our host only in the last word, or only in the first
    assert.ok(!accepts(p, e6('2001:db8::9', '2001:db8::1:1', 40000, 80)));
    assert.ok(!accepts(p, e6('2001:db8::9', '2001:db9::1', 40000, 80)));
  });
  test('hosts of one family only: the other family never matches', () => {
    const only4 = compileCaptureFilter({ ports: [80], hosts: ['10.0.0.1'] }, ETH);
    assert.ok(!accepts(only4, e6('2001:db8::9', '2001:db8::1', 40000, 80)));
    assert.ok(accepts(only4, e4('10.9.9.9', '10.0.0.1', 40000, 80)));
  });
  test('any port, no hosts, promiscuous', () => {
    const any = compileCaptureFilter({ ports: [] }, ETH);
    assert.ok(accepts(any, e4('1.1.1.1', '2.2.2.2', 1, 2)));
    assert.ok(accepts(any, e6('::1', '::2', 1, 2)));
    assert.ok(!accepts(any, eth(0x0800, ipv4('1.1.1.1', '2.2.2.2', 17, udp(1, 2)))));
    const promisc = compileCaptureFilter({ ports: [80], hosts: ['10.0.0.1'], promiscuous: true }, ETH);
    assert.ok(accepts(promisc, e4('10.9.9.9', '10.0.0.99', 40000, 80)));
    const anyPortHosts = compileCaptureFilter({ ports: [0], hosts: ['10.0.0.1'], trackResponse: true }, ETH);
    assert.ok(accepts(anyPortHosts, e4('10.9.9.9', '10.0.0.1', 40000, 12345)));
    assert.ok(accepts(anyPortHosts, e4('10.0.0.1', '10.9.9.9', 12345, 40000)));
    assert.ok(!accepts(anyPortHosts, e4('10.9.9.9', '10.0.0.2', 40000, 12345)));
  });
  test('loopback: the PACKET_OUTGOING copy is dropped, other outgoing packets are kept', () => {
    const pkt = e4('10.9.9.9', '10.0.0.1', 40000, 80);
    assert.ok(!accepts(p, pkt, { pktType: 4, hatype: 772 }));
    assert.ok(accepts(p, pkt, { pktType: 0, hatype: 772 }));
    assert.ok(accepts(p, pkt, { pktType: 4, hatype: 1 }));
    const keep = compileCaptureFilter(f, { ...ETH, dropLoopbackOutgoing: false });
    assert.ok(accepts(keep, pkt, { pktType: 4, hatype: 772 }));
  });
  test('ignored interfaces', () => {
    const ex = compileCaptureFilter(f, { ...ETH, excludeIfindexes: [3, 7] });
    const pkt = e4('10.9.9.9', '10.0.0.1', 40000, 80);
    assert.ok(!accepts(ex, pkt, { ifindex: 3 }));
    assert.ok(!accepts(ex, pkt, { ifindex: 7 }));
    assert.ok(accepts(ex, pkt, { ifindex: 2 }));
  });
  test('the accept value is the snaplen', () => {
    const prog = compileCaptureFilter(f, { ...ETH, snaplen: 96 });
    assert.equal(runBpf(prog, e4('10.9.9.9', '10.0.0.1', 40000, 80)), 96);
  });
});

describe('VLAN', () => {
  const f: CaptureFilter = { ports: [80], hosts: ['10.0.0.1'], vlanIds: [10, 20] };
  const p = compileCaptureFilter(f, ETH);
  const inner = ipv4('10.9.9.9', '10.0.0.1', 6, tcp(40000, 80));
  test('tag in the frame (802.1Q and 802.1ad), VID in the set', () => {
    assert.ok(accepts(p, eth(0x0800, inner, [{ tpid: 0x8100, vid: 10 }])));
    assert.ok(accepts(p, eth(0x0800, inner, [{ tpid: 0x88a8, vid: 20 }])));
    assert.ok(accepts(p, eth(0x0800, inner, [{ tpid: 0x8100, vid: 0xe000 | 20 }])), 'PCP bits are ignored');
    assert.ok(!accepts(p, eth(0x0800, inner, [{ tpid: 0x8100, vid: 30 }])));
    assert.ok(!accepts(p, eth(0x0800, ipv4('10.9.9.9', '10.0.0.1', 6, tcp(40000, 81)), [{ tpid: 0x8100, vid: 10 }])));
  });
  test('tag taken out by the kernel (metadata), frame untagged', () => {
    assert.ok(accepts(p, eth(0x0800, inner), { vlanTci: 20 }));
    assert.ok(!accepts(p, eth(0x0800, inner), { vlanTci: 30 }));
    assert.ok(!accepts(p, eth(0x0800, inner)), 'untagged packets are not vlan traffic');
  });
  test('vlan without VIDs: any tag', () => {
    const anyTag = compileCaptureFilter({ ports: [80], vlan: true }, ETH);
    assert.ok(accepts(anyTag, eth(0x0800, inner, [{ tpid: 0x8100, vid: 999 }])));
    assert.ok(accepts(anyTag, eth(0x0800, inner), { vlanTci: 5 }));
    assert.ok(!accepts(anyTag, eth(0x0800, inner)));
  });
  test('IPv6 behind a tag', () => {
    const v6 = compileCaptureFilter({ ports: [80], hosts: ['2001:db8::1'], vlan: true, trackResponse: true }, ETH);
    assert.ok(accepts(v6, eth(0x86dd, ipv6('2001:db8::9', '2001:db8::1', 6, tcp(1, 80)), [{ tpid: 0x8100, vid: 3 }])));
    assert.ok(accepts(v6, eth(0x86dd, ipv6('2001:db8::1', '2001:db8::9', 6, tcp(80, 1)), [{ tpid: 0x8100, vid: 3 }])));
  });
  test('without vlan mode, a packet whose tag the kernel removed still matches', () => {
    const plain = compileCaptureFilter({ ports: [80] }, ETH);
    assert.ok(accepts(plain, eth(0x0800, inner), { vlanTci: 10 }));
  });
});

describe('cooked framing (SOCK_DGRAM, any)', () => {
  const f: CaptureFilter = { ports: [80], hosts: ['10.0.0.1', '2001:db8::1'], trackResponse: true };
  const p = compileCaptureFilter(f, COOKED);
  test('network header at offset 0, protocol from the kernel', () => {
    assert.ok(accepts(p, ipv4('10.9.9.9', '10.0.0.1', 6, tcp(40000, 80)), { protocol: 0x0800 }));
    assert.ok(accepts(p, ipv6('2001:db8::1', '2001:db8::9', 6, tcp(80, 40000)), { protocol: 0x86dd }));
    assert.ok(!accepts(p, ipv4('10.9.9.9', '10.0.0.1', 6, tcp(40000, 81)), { protocol: 0x0800 }));
    assert.ok(!accepts(p, ipv4('10.9.9.9', '10.0.0.1', 6, tcp(40000, 80)), { protocol: 0x0806 }));
  });
  test('vlan in cooked mode reads the tag from metadata', () => {
    const v = compileCaptureFilter({ ...f, vlanIds: [7] }, COOKED);
    const pkt = ipv4('10.9.9.9', '10.0.0.1', 6, tcp(40000, 80));
    assert.ok(accepts(v, pkt, { protocol: 0x0800, vlanTci: 7 }));
    assert.ok(!accepts(v, pkt, { protocol: 0x0800, vlanTci: 8 }));
    assert.ok(!accepts(v, pkt, { protocol: 0x0800 }));
  });
  test('loopback outgoing copy dropped here too', () => {
    assert.ok(!accepts(p, ipv4('10.9.9.9', '10.0.0.1', 6, tcp(1, 80)), { protocol: 0x0800, pktType: 4, hatype: 772 }));
  });
});

describe('program shape', () => {
  test('golden: the spec example on Ethernet', () => {
    const prog = compileCaptureFilter({ ports: [80], hosts: ['127.0.0.1', '::1'], trackResponse: true }, ETH);
    assert.deepEqual(disassemble(prog), [
      '(000) ld       #type',
      '(001) jeq      #0x4           jt 2\tjf 4',
      '(002) ld       #hatype',
      '(003) jeq      #0x304         jt 47\tjf 4',
      '(004) ldh      [12]',
      '(005) jeq      #0x800         jt 7\tjf 6',
      '(006) jeq      #0x86dd        jt 24\tjf 47',
      '(007) ldb      [23]',
      '(008) jeq      #0x6           jt 9\tjf 47',
      '(009) ldh      [20]',
      '(010) jset     #0x1fff        jt 11\tjf 15',
      '(011) ld       [30]',
      '(012) jeq      #0x7f000001    jt 46\tjf 13',
      '(013) ld       [26]',
      '(014) jeq      #0x7f000001    jt 46\tjf 47',
      '(015) ldxb     4*([14]&0xf)',
      '(016) ldh      [x + 16]',
      '(017) jeq      #0x50          jt 18\tjf 20',
      '(018) ld       [30]',
      '(019) jeq      #0x7f000001    jt 46\tjf 20',
      '(020) ldh      [x + 14]',
      '(021) jeq      #0x50          jt 22\tjf 47',
      '(022) ld       [26]',
      '(023) jeq      #0x7f000001    jt 46\tjf 47',
      '(024) ldb      [20]',
      '(025) jeq      #0x6           jt 26\tjf 47',
      '(026) ldh      [56]',
      '(027) jeq      #0x50          jt 28\tjf 36',
      '(028) ld       [38]',
      '(029) jeq      #0x0           jt 30\tjf 36',
      '(030) ld       [42]',
      '(031) jeq      #0x0           jt 32\tjf 36',
      '(032) ld       [46]',
      '(033) jeq      #0x0           jt 34\tjf 36',
      '(034) ld       [50]',
      '(035) jeq      #0x1           jt 46\tjf 36',
      '(036) ldh      [54]',
      '(037) jeq      #0x50          jt 38\tjf 47',
      '(038) ld       [22]',
      '(039) jeq      #0x0           jt 40\tjf 47',
      '(040) ld       [26]',
      '(041) jeq      #0x0           jt 42\tjf 47',
      '(042) ld       [30]',
      '(043) jeq      #0x0           jt 44\tjf 47',
      '(044) ld       [34]',
      '(045) jeq      #0x1           jt 46\tjf 47',
      '(046) ret      #65535',
      '(047) ret      #0',
    ]);
  });
  test('far jumps become ja trampolines and stay correct', () => {
    const hosts = Array.from({ length: 60 }, (_, i) => `2001:db8::${(i + 1).toString(16)}`);
    const prog = compileCaptureFilter({ ports: [80, 443], hosts, trackResponse: true, vlan: true }, ETH);
    assert.ok(prog.length > 256 && prog.length <= 4096, `length ${prog.length}`);
    assert.ok(prog.some((i) => i.code === (BPF.JMP | BPF.JA)));
    for (const ins of prog) assert.ok(ins.jt <= 255 && ins.jf <= 255);
    const tag = [{ tpid: 0x8100, vid: 1 }];
    const req = (dst: string) => eth(0x86dd, ipv6('2001:db8:ffff::1', dst, 6, tcp(40000, 443)), tag);
    assert.ok(accepts(prog, req('2001:db8::1')));
    assert.ok(accepts(prog, req('2001:db8::3c')));
    assert.ok(!accepts(prog, req('2001:db8::3d')));
    assert.ok(accepts(prog, eth(0x86dd, ipv6('2001:db8::3c', '2001:db8:ffff::1', 6, tcp(80, 1)), tag)));
    assert.ok(accepts(prog, eth(0x86dd, ipv6('2001:db8:ffff::1', '2001:db8::20', 6, tcp(1, 80))), { vlanTci: 9 }));
  });
  test('a program over the kernel limit is refused', () => {
    const hosts = Array.from({ length: 400 }, (_, i) => `2001:db8::${(i + 1).toString(16)}`);
    assert.throws(() => compileCaptureFilter({ ports: [80], hosts, trackResponse: true, vlan: true }, ETH), {
      code: 'TAPLINE_ERR_CAPTURE_FAILED',
    });
  });
  test('encode/decode round trip (struct sock_filter, 8 bytes each)', () => {
    const prog = compileCaptureFilter({ ports: [80], hosts: ['10.0.0.1'] }, ETH);
    const buf = encodeBpf(prog);
    assert.equal(buf.length, prog.length * 8);
    assert.deepEqual(decodeBpf(buf), prog);
  });
  test('accept-all keeps the loopback and ignore-interface prefix', () => {
    const prog = compileAcceptAll({ link: 'ethernet', snaplen: 100, excludeIfindexes: [5] });
    assert.equal(runBpf(prog, Buffer.alloc(60)), 100);
    assert.equal(runBpf(prog, Buffer.alloc(60), { pktType: 4, hatype: 772 }), 0);
    assert.equal(runBpf(prog, Buffer.alloc(60), { ifindex: 5 }), 0);
    assert.deepEqual(disassemble(compileAcceptAll({ link: 'cooked', snaplen: 9, dropLoopbackOutgoing: false })), [
      '(000) ret      #9',
      '(001) ret      #0',
    ]);
  });
});

describe('compileFlowHash (fanout)', () => {
  const prog = compileFlowHash();
  const flows = Array.from({ length: 200 }, (_, i) => ({
    a: `10.${i % 7}.${i % 13}.${i}`,
    b: `192.168.${i % 5}.${(i * 7) % 250}`,
    pa: 30000 + i * 17,
    pb: i % 2 ? 80 : 8080,
  }));
  // Fanout runs before AF_PACKET adjusts the skb: received packets start at the network header,
  // transmitted ones (on Ethernet/loopback) at the Ethernet header.
  const rx = (l3: Buffer, type: number) => runBpf(prog, l3, { protocol: type, pktType: 0, hatype: 1 });
  const tx = (l3: Buffer, type: number, tags: { tpid: number; vid: number }[] = [], hatype = 1) =>
    runBpf(prog, eth(type, l3, tags), { protocol: type, pktType: 4, hatype });

  test('both directions of a flow hash alike, whichever path each direction takes', () => {
    for (const f of flows) {
      const req = ipv4(f.a, f.b, 6, tcp(f.pa, f.pb));
      const resp = ipv4(f.b, f.a, 6, tcp(f.pb, f.pa));
      const h = rx(req, 0x0800);
      assert.equal(tx(resp, 0x0800), h, 'request received, response sent');
      assert.equal(rx(resp, 0x0800), h, 'both received (a router, a mirror port)');
      assert.equal(tx(resp, 0x0800, [], 772), h, 'sent on loopback');
      assert.equal(tx(resp, 0x0800, [{ tpid: 0x8100, vid: 4 }]), h, 'sent with the tag still in the frame');
      const a6 = `2001:db8::${f.pa.toString(16)}`;
      const b6 = `fd00::${f.pb.toString(16)}:1`;
      const h6 = rx(ipv6(a6, b6, 6, tcp(f.pa, f.pb)), 0x86dd);
      assert.equal(tx(ipv6(b6, a6, 6, tcp(f.pb, f.pa)), 0x86dd), h6);
    }
  });
  test('transmitted on a device without a link header: network header at 0', () => {
    const f = flows[3]!;
    const resp = ipv4(f.b, f.a, 6, tcp(f.pb, f.pa));
    assert.equal(runBpf(prog, resp, { protocol: 0x0800, pktType: 4, hatype: 0xfffe }), rx(resp, 0x0800));
  });
  test('hashes spread over members', () => {
    for (const members of [2, 3, 4]) {
      const counts = new Array<number>(members).fill(0);
      for (const f of flows) counts[rx(ipv4(f.a, f.b, 6, tcp(f.pa, f.pb)), 0x0800) % members]!++;
      for (const c of counts) assert.ok(c > (flows.length / members) * 0.6, `uneven: ${counts}`);
    }
  });
  test('non-IP packets go to member 0', () => {
    assert.equal(tx(Buffer.alloc(28), 0x0806), 0);
    assert.equal(rx(Buffer.alloc(28), 0x0806), 0);
  });
});
