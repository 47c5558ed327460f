/**
 * Classic BPF, generated in TypeScript for gor's auto filter (spec §8.2), and gor's textual filter.
 *
 * The programs run in the kernel (SO_ATTACH_FILTER on the AF_PACKET socket) and in `bpf-interpreter.ts`
 * (tests, and pure-TS filtering of capture files). The program's accept value is the snaplen: the
 * kernel copies at most that many bytes of a packet into the ring.
 *
 * What the capture filter accepts (the same packets gor's libpcap expression selects):
 *
 *   request side   TCP, dst port ∈ ports (any when empty or 0), dst host ∈ hosts (when hosts are given
 *                  and not promiscuous)
 *   response side  (trackResponse) TCP, src port ∈ ports, src host ∈ hosts
 *
 * over IPv4 and IPv6 (next header = TCP; IPv6 extension headers are not followed, as with libpcap's
 * `tcp port`), behind Ethernet, Ethernet + one 802.1Q/802.1ad tag (`vlan`), or no link header
 * (`cooked`: SOCK_DGRAM / 'any'). Differences from gor, on purpose:
 *   - several `--input-raw-vlan-vid`s mean "a tag with any of these VIDs"; gor's text
 *     `vlan 20 and vlan 10 and …` asks libpcap for *nested* tags (outer 20, inner 10);
 *   - non-first IPv4 fragments of TCP (they carry no ports) are accepted when the host rule holds, so
 *     that the decoder can reassemble them; libpcap drops them (option `fragments`, default on);
 *   - the kernel's second view of loopback traffic (PACKET_OUTGOING on a loopback interface) is
 *     dropped in the kernel (option `dropLoopbackOutgoing`, default on), so each packet counts once.
 *
 * VLAN and Linux: on receive the kernel always removes the tag from the frame and keeps it as
 * metadata (the BPF ancillary fields `vlan_avail`/`vlan_tci`); on transmit it may still be in the
 * frame. The `vlan` program checks both; the addon puts the tag back into the captured bytes.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { endianness } from 'node:os';
import { ERROR_CODES, TaplineError } from '../core/errors.js';

/** One classic BPF instruction (`struct sock_filter`). */
export interface BpfInstruction {
  readonly code: number;
  readonly jt: number;
  readonly jf: number;
  readonly k: number;
}

/** Opcode parts (linux/filter.h, pcap/bpf.h). */
export const BPF = {
  // classes
  LD: 0x00,
  LDX: 0x01,
  ST: 0x02,
  STX: 0x03,
  ALU: 0x04,
  JMP: 0x05,
  RET: 0x06,
  MISC: 0x07,
  // sizes
  W: 0x00,
  H: 0x08,
  B: 0x10,
  // modes
  IMM: 0x00,
  ABS: 0x20,
  IND: 0x40,
  MEM: 0x60,
  LEN: 0x80,
  MSH: 0xa0,
  // alu ops
  ADD: 0x00,
  SUB: 0x10,
  MUL: 0x20,
  DIV: 0x30,
  OR: 0x40,
  AND: 0x50,
  LSH: 0x60,
  RSH: 0x70,
  NEG: 0x80,
  MOD: 0x90,
  XOR: 0xa0,
  // jumps
  JA: 0x00,
  JEQ: 0x10,
  JGT: 0x20,
  JGE: 0x30,
  JSET: 0x40,
  // sources
  K: 0x00,
  X: 0x08,
  A: 0x10,
  // misc
  TAX: 0x00,
  TXA: 0x80,
} as const;

/** Linux ancillary loads: `ld [SKF_AD_OFF + field]`. */
export const SKF_AD = {
  OFF: -0x1000,
  PROTOCOL: 0,
  PKTTYPE: 4,
  IFINDEX: 8,
  HATYPE: 28,
  VLAN_TAG: 44,
  VLAN_TAG_PRESENT: 48,
  VLAN_TPID: 60,
} as const;

export const BPF_MAXINSNS = 4096;
const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;
const ETH_P_8021Q = 0x8100;
const ETH_P_8021AD = 0x88a8;
const PACKET_OUTGOING = 4;
const ARPHRD_ETHER = 1;
const ARPHRD_LOOPBACK = 772;
const IPPROTO_TCP = 6;

/** gor's capture filter: what `--input-raw` and its flags ask for (spec §8.2). */
export interface CaptureFilter {
  /** Ports; empty, or containing 0, means every port. */
  readonly ports: readonly number[];
  /** IPv4/IPv6 addresses (no names); empty means every host. */
  readonly hosts?: readonly string[];
  /** `--input-raw-track-response`: also the server→client side. */
  readonly trackResponse?: boolean;
  /** `--input-raw-promisc`: like gor, the host part is dropped. */
  readonly promiscuous?: boolean;
  /** `--input-raw-vlan`: expect an 802.1Q/802.1ad tag. */
  readonly vlan?: boolean;
  /** `--input-raw-vlan-vid`: accepted VLAN ids (implies `vlan`). */
  readonly vlanIds?: readonly number[];
}

/**
 * How the packet bytes start: `ethernet` (SOCK_RAW on Ethernet/loopback) or `cooked` (the network
 * header at offset 0, ethertype from the kernel: SOCK_DGRAM, 'any', raw-IP interfaces).
 */
export type LinkFraming = 'ethernet' | 'cooked';

export interface CompileOptions {
  readonly link: LinkFraming;
  /** Bytes to keep of each accepted packet (the program's return value). */
  readonly snaplen: number;
  /** Drop the kernel's PACKET_OUTGOING copy on loopback interfaces. Default true. */
  readonly dropLoopbackOutgoing?: boolean;
  /** Interface indexes to drop (`--input-raw-ignore-interface` when capturing on all interfaces). */
  readonly excludeIfindexes?: readonly number[];
  /** Accept non-first IPv4 fragments of TCP when the host rule holds. Default true. */
  readonly fragments?: boolean;
}

// ---------------------------------------------------------------------------------------------
// A small assembler: forward jumps to labels; a conditional jump whose target is more than 255
// instructions away is rewritten as `jxx k, 0, 1; ja T; ja F`.

class Label {
  pc = -1;
}

type Item =
  | { readonly kind: 'label'; readonly label: Label }
  | { readonly kind: 'stmt'; readonly code: number; readonly k: number }
  | { readonly kind: 'jump'; readonly code: number; readonly k: number; readonly jt: Label; readonly jf: Label }
  | { readonly kind: 'ja'; readonly target: Label };

class Assembler {
  private readonly items: Item[] = [];

  label(): Label {
    return new Label();
  }

  place(label: Label): void {
    this.items.push({ kind: 'label', label });
  }

  stmt(code: number, k = 0): void {
    this.items.push({ kind: 'stmt', code, k: k >>> 0 });
  }

  jump(op: number, k: number, jt: Label, jf: Label): void {
    this.items.push({ kind: 'jump', code: BPF.JMP | op | BPF.K, k: k >>> 0, jt, jf });
  }

  ja(target: Label): void {
    this.items.push({ kind: 'ja', target });
  }

  /** Load an ancillary field into A. */
  ldAnc(field: number): void {
    this.stmt(BPF.LD | BPF.W | BPF.ABS, SKF_AD.OFF + field);
  }

  assemble(): BpfInstruction[] {
    const far = new Set<number>();
    for (;;) {
      // lay out
      let pc = 0;
      const at: number[] = [];
      this.items.forEach((it, i) => {
        at[i] = pc;
        if (it.kind === 'label') it.label.pc = pc;
        else pc += it.kind === 'jump' && far.has(i) ? 3 : 1;
      });
      let grew = false;
      this.items.forEach((it, i) => {
        if (it.kind !== 'jump' || far.has(i)) return;
        const next = at[i]! + 1;
        if (it.jt.pc - next > 255 || it.jf.pc - next > 255) {
          far.add(i);
          grew = true;
        }
      });
      if (grew) continue;
      const out: BpfInstruction[] = [];
      const rel = (from: number, to: Label): number => {
        if (to.pc < 0) throw new TaplineError(ERROR_CODES.INTERNAL, 'BPF: jump to a label that was never placed');
        const d = to.pc - from;
        if (d < 0) throw new TaplineError(ERROR_CODES.INTERNAL, 'BPF: backward jump');
        return d;
      };
      this.items.forEach((it, i) => {
        if (it.kind === 'label') return;
        if (it.kind === 'stmt') out.push({ code: it.code, jt: 0, jf: 0, k: it.k });
        else if (it.kind === 'ja')
          out.push({ code: BPF.JMP | BPF.JA, jt: 0, jf: 0, k: rel(out.length + 1, it.target) });
        else if (far.has(i)) {
          out.push({ code: it.code, jt: 0, jf: 1, k: it.k });
          out.push({ code: BPF.JMP | BPF.JA, jt: 0, jf: 0, k: rel(out.length + 1, it.jt) });
          out.push({ code: BPF.JMP | BPF.JA, jt: 0, jf: 0, k: rel(out.length + 1, it.jf) });
        } else {
          const here = out.length + 1;
          out.push({ code: it.code, jt: rel(here, it.jt), jf: rel(here, it.jf), k: it.k });
        }
      });
      if (out.length > BPF_MAXINSNS) {
        throw new TaplineError(
          ERROR_CODES.CAPTURE_FAILED,
          `the generated BPF program has ${out.length} instructions; the kernel accepts at most ${BPF_MAXINSNS} (too many hosts or ports)`,
        );
      }
      return out;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Inputs

interface Normalised {
  anyPort: boolean;
  ports: number[];
  hostsActive: boolean;
  v4: number[];
  v6: number[][];
  track: boolean;
  vlan: boolean;
  vlanIds: number[];
}

function normalise(f: CaptureFilter): Normalised {
  for (const p of f.ports) {
    if (!Number.isInteger(p) || p < 0 || p > 65535) {
      throw new TaplineError(ERROR_CODES.BAD_ADDRESS, `port ${p} is not between 0 and 65535`);
    }
  }
  const vlanIds = [...new Set(f.vlanIds ?? [])];
  for (const v of vlanIds) {
    if (!Number.isInteger(v) || v < 0 || v > 4095) {
      throw new TaplineError(ERROR_CODES.BAD_ADDRESS, `VLAN id ${v} is not between 0 and 4095`, {
        where: '--input-raw-vlan-vid',
      });
    }
  }
  const hosts = [...new Set(f.hosts ?? [])];
  const v4: number[] = [];
  const v6: number[][] = [];
  for (const h of hosts) {
    if (isIPv4(h)) v4.push(ipv4ToU32(h));
    else if (isIPv6(h.split('%')[0]!)) v6.push(ipv6ToWords(h));
    else throw new TaplineError(ERROR_CODES.BAD_ADDRESS, `"${h}" is not an IPv4 or IPv6 address`);
  }
  const anyPort = f.ports.length === 0 || f.ports.includes(0);
  return {
    anyPort,
    ports: anyPort ? [] : [...new Set(f.ports)],
    hostsActive: hosts.length > 0 && !f.promiscuous,
    v4,
    v6,
    track: f.trackResponse === true,
    vlan: f.vlan === true || vlanIds.length > 0,
    vlanIds,
  };
}

export function ipv4ToU32(ip: string): number {
  const parts = ip.split('.').map(Number);
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

/** The 16 bytes of an IPv6 address (also `::ffff:1.2.3.4` forms; a `%zone` is ignored) as four big-endian words. */
export function ipv6ToWords(ip: string): number[] {
  let text = ip.split('%')[0]!;
  if (!isIPv6(text)) throw new TaplineError(ERROR_CODES.BAD_ADDRESS, `"${ip}" is not an IPv6 address`);
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v = ipv4ToU32(dotted[2]!);
    text = `${dotted[1]}${(v >>> 16).toString(16)}:${(v & 0xffff).toString(16)}`;
  }
  const parse = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => Number.parseInt(g, 16)));
  const cut = text.indexOf('::');
  let groups: number[];
  if (cut < 0) groups = parse(text);
  else {
    const head = parse(text.slice(0, cut));
    const tail = parse(text.slice(cut + 2));
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  }
  const words: number[] = [];
  for (let i = 0; i < 8; i += 2) words.push(((groups[i]! << 16) | groups[i + 1]!) >>> 0);
  return words;
}

// ---------------------------------------------------------------------------------------------
// gor's text (spec §8.2)

/** The filter gor prints (`Interface: lo . BPF Filter: …`), byte for byte. */
export function gorFilterText(f: CaptureFilter): string {
  const anyPort = f.ports.length === 0 || f.ports.includes(0);
  const hosts = f.hosts ?? [];
  const ports = (dir: string): string =>
    anyPort ? `tcp ${dir} portrange 0-65535` : f.ports.map((p) => `tcp ${dir} port ${p}`).join(' or ');
  const hostPart = (dir: string): string => hosts.map((h) => `${dir} host ${h}`).join(' or ');
  const side = (dir: string): string =>
    hosts.length > 0 && !f.promiscuous ? `((${ports(dir)}) and (${hostPart(dir)}))` : `(${ports(dir)})`;
  let text = side('dst');
  if (f.trackResponse) text += ` or ${side('src')}`;
  const vids = f.vlanIds ?? [];
  if (f.vlan || vids.length > 0) {
    if (vids.length === 0) text = `vlan and ${text}`;
    else for (const v of vids) text = `vlan ${v} and ${text}`;
  }
  return text;
}

// ---------------------------------------------------------------------------------------------
// The capture filter program

export function compileCaptureFilter(filter: CaptureFilter, opts: CompileOptions): BpfInstruction[] {
  const f = normalise(filter);
  const snap = checkSnaplen(opts.snaplen);
  const a = new Assembler();
  const accept = a.label();
  const drop = a.label();
  emitPrefix(a, opts, drop);

  const body = (etherType: () => void, l3: number): void => emitL3(a, f, opts, etherType, l3, accept, drop);
  const ldh = (off: number) => () => a.stmt(BPF.LD | BPF.H | BPF.ABS, off);
  const ldProto = () => a.ldAnc(SKF_AD.PROTOCOL);

  if (opts.link === 'cooked') {
    if (f.vlan) {
      const tagged = a.label();
      a.ldAnc(SKF_AD.VLAN_TAG_PRESENT);
      a.jump(BPF.JEQ, 1, tagged, drop);
      a.place(tagged);
      emitVidCheck(a, f.vlanIds, () => a.ldAnc(SKF_AD.VLAN_TAG), drop);
    }
    body(ldProto, 0);
  } else if (!f.vlan) {
    body(ldh(12), 14);
  } else {
    const meta = a.label();
    const inline = a.label();
    const inlineOk = a.label();
    const try8021ad = a.label();
    a.ldAnc(SKF_AD.VLAN_TAG_PRESENT);
    a.jump(BPF.JEQ, 1, meta, inline);
    // tag kept by the kernel as metadata: the frame itself is untagged
    a.place(meta);
    emitVidCheck(a, f.vlanIds, () => a.ldAnc(SKF_AD.VLAN_TAG), drop);
    body(ldh(12), 14);
    // tag still in the frame
    a.place(inline);
    a.stmt(BPF.LD | BPF.H | BPF.ABS, 12);
    a.jump(BPF.JEQ, ETH_P_8021Q, inlineOk, try8021ad);
    a.place(try8021ad);
    a.jump(BPF.JEQ, ETH_P_8021AD, inlineOk, drop);
    a.place(inlineOk);
    emitVidCheck(a, f.vlanIds, () => a.stmt(BPF.LD | BPF.H | BPF.ABS, 14), drop);
    body(ldh(16), 18);
  }
  a.place(accept);
  a.stmt(BPF.RET | BPF.K, snap);
  a.place(drop);
  a.stmt(BPF.RET | BPF.K, 0);
  return a.assemble();
}

/** A program that accepts every packet (after the loopback/ignore-interface prefix), cut to snaplen. */
export function compileAcceptAll(opts: CompileOptions): BpfInstruction[] {
  const snap = checkSnaplen(opts.snaplen);
  const a = new Assembler();
  const drop = a.label();
  emitPrefix(a, opts, drop);
  a.stmt(BPF.RET | BPF.K, snap);
  a.place(drop);
  a.stmt(BPF.RET | BPF.K, 0);
  return a.assemble();
}

function checkSnaplen(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 0x7fffffff) {
    throw new TaplineError(ERROR_CODES.USAGE, `snaplen ${n} must be a positive integer`, {
      where: '--input-raw-snaplen',
    });
  }
  return n;
}

function emitPrefix(a: Assembler, opts: CompileOptions, drop: Label): void {
  if (opts.dropLoopbackOutgoing !== false) {
    const outgoing = a.label();
    const go = a.label();
    a.ldAnc(SKF_AD.PKTTYPE);
    a.jump(BPF.JEQ, PACKET_OUTGOING, outgoing, go);
    a.place(outgoing);
    a.ldAnc(SKF_AD.HATYPE);
    a.jump(BPF.JEQ, ARPHRD_LOOPBACK, drop, go);
    a.place(go);
  }
  const ex = [...new Set(opts.excludeIfindexes ?? [])];
  if (ex.length > 0) {
    a.ldAnc(SKF_AD.IFINDEX);
    for (const idx of ex) {
      const next = a.label();
      a.jump(BPF.JEQ, idx, drop, next);
      a.place(next);
    }
  }
}

function emitVidCheck(a: Assembler, vids: readonly number[], load: () => void, drop: Label): void {
  if (vids.length === 0) return;
  const ok = a.label();
  load();
  a.stmt(BPF.ALU | BPF.AND | BPF.K, 0x0fff);
  vids.forEach((v, i) => {
    const next = i === vids.length - 1 ? drop : a.label();
    a.jump(BPF.JEQ, v, ok, next);
    if (next !== drop) a.place(next);
  });
  a.place(ok);
}

/** Jumps to `ok` when A (a port) is in the set, else to `fail`. With any port: always `ok`. */
function emitPortSet(a: Assembler, f: Normalised, load: () => void, ok: Label, fail: Label): void {
  if (f.anyPort) {
    a.ja(ok);
    return;
  }
  load();
  f.ports.forEach((p, i) => {
    const next = i === f.ports.length - 1 ? fail : a.label();
    a.jump(BPF.JEQ, p, ok, next);
    if (next !== fail) a.place(next);
  });
}

/** Jumps to `ok` when the address at `off` is one of the hosts of this family (or hosts are off). */
function emitHostSet(a: Assembler, f: Normalised, v6: boolean, off: number, ok: Label, fail: Label): void {
  if (!f.hostsActive) {
    a.ja(ok);
    return;
  }
  if (!v6) {
    if (f.v4.length === 0) {
      a.ja(fail);
      return;
    }
    a.stmt(BPF.LD | BPF.W | BPF.ABS, off);
    f.v4.forEach((h, i) => {
      const next = i === f.v4.length - 1 ? fail : a.label();
      a.jump(BPF.JEQ, h, ok, next);
      if (next !== fail) a.place(next);
    });
    return;
  }
  if (f.v6.length === 0) {
    a.ja(fail);
    return;
  }
  f.v6.forEach((words, i) => {
    const nextHost = i === f.v6.length - 1 ? fail : a.label();
    words.forEach((w, j) => {
      a.stmt(BPF.LD | BPF.W | BPF.ABS, off + 4 * j);
      const then = j === 3 ? ok : a.label();
      a.jump(BPF.JEQ, w, then, nextHost);
      if (then !== ok) a.place(then);
    });
    if (nextHost !== fail) a.place(nextHost);
  });
}

function emitL3(
  a: Assembler,
  f: Normalised,
  opts: CompileOptions,
  etherType: () => void,
  l3: number,
  accept: Label,
  drop: Label,
): void {
  const v4 = a.label();
  const notV4 = a.label();
  const v6 = a.label();
  etherType();
  a.jump(BPF.JEQ, ETH_P_IP, v4, notV4);
  a.place(notV4);
  a.jump(BPF.JEQ, ETH_P_IPV6, v6, drop);

  // IPv4: protocol at +9, flags/fragment offset at +6, src +12, dst +16; ports after IHL*4.
  {
    const tcp = a.label();
    const frag = a.label();
    const first = a.label();
    a.place(v4);
    a.stmt(BPF.LD | BPF.B | BPF.ABS, l3 + 9);
    a.jump(BPF.JEQ, IPPROTO_TCP, tcp, drop);
    a.place(tcp);
    a.stmt(BPF.LD | BPF.H | BPF.ABS, l3 + 6);
    a.jump(BPF.JSET, 0x1fff, frag, first);
    a.place(frag);
    if (opts.fragments === false) a.ja(drop);
    else {
      const trySrc = a.label();
      emitHostSet(a, f, false, l3 + 16, accept, f.track ? trySrc : drop);
      if (f.track) {
        a.place(trySrc);
        emitHostSet(a, f, false, l3 + 12, accept, drop);
      }
    }
    a.place(first);
    a.stmt(BPF.LDX | BPF.B | BPF.MSH, l3);
    emitDirections(
      a,
      f,
      () => a.stmt(BPF.LD | BPF.H | BPF.IND, l3 + 2),
      () => a.stmt(BPF.LD | BPF.H | BPF.IND, l3),
      false,
      l3 + 16,
      l3 + 12,
      accept,
      drop,
    );
  }
  // IPv6: next header at +6, src +8, dst +24, TCP at +40.
  {
    const tcp = a.label();
    a.place(v6);
    a.stmt(BPF.LD | BPF.B | BPF.ABS, l3 + 6);
    a.jump(BPF.JEQ, IPPROTO_TCP, tcp, drop);
    a.place(tcp);
    emitDirections(
      a,
      f,
      () => a.stmt(BPF.LD | BPF.H | BPF.ABS, l3 + 42),
      () => a.stmt(BPF.LD | BPF.H | BPF.ABS, l3 + 40),
      true,
      l3 + 24,
      l3 + 8,
      accept,
      drop,
    );
  }
}

function emitDirections(
  a: Assembler,
  f: Normalised,
  loadDstPort: () => void,
  loadSrcPort: () => void,
  v6: boolean,
  dstHostOff: number,
  srcHostOff: number,
  accept: Label,
  drop: Label,
): void {
  const response = f.track ? a.label() : drop;
  const reqPortOk = a.label();
  emitPortSet(a, f, loadDstPort, reqPortOk, response);
  a.place(reqPortOk);
  emitHostSet(a, f, v6, dstHostOff, accept, response);
  if (f.track) {
    const respPortOk = a.label();
    a.place(response);
    emitPortSet(a, f, loadSrcPort, respPortOk, drop);
    a.place(respPortOk);
    emitHostSet(a, f, v6, srcHostOff, accept, drop);
  }
}

// ---------------------------------------------------------------------------------------------
// Fanout: a symmetric flow hash, so both directions of a TCP connection reach the same socket

/**
 * The PACKET_FANOUT_CBPF program: returns a hash of (src IP ^ dst IP ^ src port ^ dst port), mixed, so
 * the kernel's `hash % members` sends both directions of a flow to the same member. Current kernels'
 * PACKET_FANOUT_HASH is symmetric as well (flow dissector, `__skb_get_hash_symmetric`; checked live on
 * loopback); this program states the guarantee explicitly and does not depend on the kernel version.
 *
 * The fanout program runs before AF_PACKET adjusts the packet for the socket type, so its framing
 * does not depend on SOCK_RAW/SOCK_DGRAM but on the path: received packets start at the network
 * header (ethertype from skb->protocol); transmitted packets (pkttype OUTGOING) on Ethernet and
 * loopback devices start at the Ethernet header, possibly with an 802.1Q tag still in the frame.
 */
export function compileFlowHash(): BpfInstruction[] {
  const a = new Assembler();
  const dispatch = a.label();
  const v4 = a.label();
  const notV4 = a.label();
  const v6 = a.label();
  const mix = a.label();
  const ipOnly = a.label();
  const zero = a.label();
  const l3Start = a.label();
  const txCheckDev = a.label();
  const txEther = a.label();
  const txNotLoop = a.label();
  // M[3] = L3 offset, A = ethertype
  a.ldAnc(SKF_AD.PKTTYPE);
  a.jump(BPF.JEQ, PACKET_OUTGOING, txCheckDev, l3Start);
  a.place(txCheckDev);
  a.ldAnc(SKF_AD.HATYPE);
  a.jump(BPF.JEQ, ARPHRD_ETHER, txEther, txNotLoop);
  a.place(txNotLoop);
  a.jump(BPF.JEQ, ARPHRD_LOOPBACK, txEther, l3Start);
  // network header at offset 0
  a.place(l3Start);
  a.stmt(BPF.LDX | BPF.W | BPF.IMM, 0);
  a.stmt(BPF.STX, 3);
  a.ldAnc(SKF_AD.PROTOCOL);
  a.ja(dispatch);
  // Ethernet header at offset 0
  {
    const tagged = a.label();
    const try8021ad = a.label();
    a.place(txEther);
    a.stmt(BPF.LDX | BPF.W | BPF.IMM, 14);
    a.stmt(BPF.STX, 3);
    a.stmt(BPF.LD | BPF.H | BPF.ABS, 12);
    a.jump(BPF.JEQ, ETH_P_8021Q, tagged, try8021ad);
    a.place(try8021ad);
    a.jump(BPF.JEQ, ETH_P_8021AD, tagged, dispatch);
    a.place(tagged);
    a.stmt(BPF.LDX | BPF.W | BPF.IMM, 18);
    a.stmt(BPF.STX, 3);
    a.stmt(BPF.LD | BPF.H | BPF.ABS, 16);
  }
  a.place(dispatch);
  a.jump(BPF.JEQ, ETH_P_IP, v4, notV4);
  a.place(notV4);
  a.jump(BPF.JEQ, ETH_P_IPV6, v6, zero);

  const xorInto = (slot: number): void => {
    // A ^= M[slot] (clobbers X; callers reload X = L3 offset from M[3] when they still need it)
    a.stmt(BPF.LDX | BPF.W | BPF.MEM, slot);
    a.stmt(BPF.ALU | BPF.XOR | BPF.X);
  };
  // IPv4: M[0] = src ^ dst; ports unless a fragment or not TCP
  {
    const ports = a.label();
    const notFrag = a.label();
    a.place(v4);
    a.stmt(BPF.LD | BPF.W | BPF.IND, 12);
    a.stmt(BPF.ST, 0);
    a.stmt(BPF.LD | BPF.W | BPF.IND, 16);
    xorInto(0);
    a.stmt(BPF.ST, 0);
    a.stmt(BPF.LDX | BPF.W | BPF.MEM, 3);
    a.stmt(BPF.LD | BPF.H | BPF.IND, 6);
    a.jump(BPF.JSET, 0x1fff, ipOnly, notFrag);
    a.place(notFrag);
    a.stmt(BPF.LD | BPF.B | BPF.IND, 9);
    a.jump(BPF.JEQ, IPPROTO_TCP, ports, ipOnly);
    a.place(ports);
    // X = L3 + IHL*4
    a.stmt(BPF.LD | BPF.B | BPF.IND, 0);
    a.stmt(BPF.ALU | BPF.AND | BPF.K, 0x0f);
    a.stmt(BPF.ALU | BPF.LSH | BPF.K, 2);
    a.stmt(BPF.ALU | BPF.ADD | BPF.X);
    a.stmt(BPF.MISC | BPF.TAX);
    a.stmt(BPF.LD | BPF.H | BPF.IND, 0);
    a.stmt(BPF.ST, 1);
    a.stmt(BPF.LD | BPF.H | BPF.IND, 2);
    xorInto(1);
    a.stmt(BPF.ST, 1);
    a.ja(mix);
  }
  // IPv6: M[0] = xor of the eight address words; ports when next header is TCP
  {
    const ports = a.label();
    a.place(v6);
    a.stmt(BPF.LD | BPF.W | BPF.IND, 8);
    a.stmt(BPF.ST, 0);
    for (let off = 12; off <= 36; off += 4) {
      a.stmt(BPF.LD | BPF.W | BPF.IND, off);
      xorInto(0);
      a.stmt(BPF.ST, 0);
      a.stmt(BPF.LDX | BPF.W | BPF.MEM, 3);
    }
    a.stmt(BPF.LD | BPF.B | BPF.IND, 6);
    a.jump(BPF.JEQ, IPPROTO_TCP, ports, ipOnly);
    a.place(ports);
    a.stmt(BPF.LD | BPF.H | BPF.IND, 40);
    a.stmt(BPF.ST, 1);
    a.stmt(BPF.LD | BPF.H | BPF.IND, 42);
    xorInto(1);
    a.stmt(BPF.ST, 1);
    a.ja(mix);
  }
  a.place(ipOnly);
  a.stmt(BPF.LD | BPF.W | BPF.IMM, 0);
  a.stmt(BPF.ST, 1);
  // A = M[0] ^ M[1]; A *= golden ratio; A ^= A >> 16
  a.place(mix);
  a.stmt(BPF.LD | BPF.W | BPF.MEM, 0);
  xorInto(1);
  a.stmt(BPF.ALU | BPF.MUL | BPF.K, 0x9e3779b1);
  a.stmt(BPF.ST, 2);
  a.stmt(BPF.ALU | BPF.RSH | BPF.K, 16);
  xorInto(2);
  a.stmt(BPF.RET | BPF.A);
  a.place(zero);
  a.stmt(BPF.RET | BPF.K, 0);
  return a.assemble();
}

// ---------------------------------------------------------------------------------------------
// Encoding and display

/** `struct sock_filter[]` in host byte order, ready for SO_ATTACH_FILTER. */
export function encodeBpf(prog: readonly BpfInstruction[]): Buffer {
  const buf = Buffer.alloc(prog.length * 8);
  const le = endianness() === 'LE';
  prog.forEach((ins, i) => {
    const o = i * 8;
    if (le) buf.writeUInt16LE(ins.code, o);
    else buf.writeUInt16BE(ins.code, o);
    buf[o + 2] = ins.jt;
    buf[o + 3] = ins.jf;
    if (le) buf.writeUInt32LE(ins.k >>> 0, o + 4);
    else buf.writeUInt32BE(ins.k >>> 0, o + 4);
  });
  return buf;
}

export function decodeBpf(buf: Buffer): BpfInstruction[] {
  const le = endianness() === 'LE';
  const out: BpfInstruction[] = [];
  for (let o = 0; o + 8 <= buf.length; o += 8) {
    out.push({
      code: le ? buf.readUInt16LE(o) : buf.readUInt16BE(o),
      jt: buf[o + 2]!,
      jf: buf[o + 3]!,
      k: le ? buf.readUInt32LE(o + 4) : buf.readUInt32BE(o + 4),
    });
  }
  return out;
}

const ANC_NAMES: Record<number, string> = {
  [SKF_AD.PROTOCOL]: 'proto',
  [SKF_AD.PKTTYPE]: 'type',
  [SKF_AD.IFINDEX]: 'ifidx',
  [SKF_AD.HATYPE]: 'hatype',
  [SKF_AD.VLAN_TAG]: 'vlan_tci',
  [SKF_AD.VLAN_TAG_PRESENT]: 'vlan_avail',
  [SKF_AD.VLAN_TPID]: 'vlan_tpid',
};

/** One line per instruction, in the style of `tcpdump -d` (ancillary loads as `ld #type`, like bpf_dbg). */
export function disassemble(prog: readonly BpfInstruction[]): string[] {
  const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;
  const sizeName = (code: number): string => ({ 0: 'ld', 8: 'ldh', 16: 'ldb' })[code & 0x18] ?? 'ld?';
  return prog.map((ins, pc) => {
    const { code, jt, jf, k } = ins;
    const cls = code & 0x07;
    let text: string;
    switch (cls) {
      case BPF.LD: {
        const mode = code & 0xe0;
        const op = sizeName(code);
        const anc = k >= SKF_AD.OFF >>> 0 ? ANC_NAMES[(k - (SKF_AD.OFF >>> 0)) >>> 0] : undefined;
        if (mode === BPF.ABS) text = anc ? `ld       #${anc}` : `${op.padEnd(8)} [${k}]`;
        else if (mode === BPF.IND) text = `${op.padEnd(8)} [x + ${k}]`;
        else if (mode === BPF.IMM) text = `ld       #${hex(k)}`;
        else if (mode === BPF.MEM) text = `ld       M[${k}]`;
        else if (mode === BPF.LEN) text = 'ld       #pktlen';
        else text = `ld?      ${hex(code)}`;
        break;
      }
      case BPF.LDX: {
        const mode = code & 0xe0;
        if (mode === BPF.MSH) text = `ldxb     4*([${k}]&0xf)`;
        else if (mode === BPF.IMM) text = `ldx      #${hex(k)}`;
        else if (mode === BPF.MEM) text = `ldx      M[${k}]`;
        else if (mode === BPF.LEN) text = 'ldx      #pktlen';
        else text = `ldx?     ${hex(code)}`;
        break;
      }
      case BPF.ST:
        text = `st       M[${k}]`;
        break;
      case BPF.STX:
        text = `stx      M[${k}]`;
        break;
      case BPF.ALU: {
        const names: Record<number, string> = {
          0: 'add',
          16: 'sub',
          32: 'mul',
          48: 'div',
          64: 'or',
          80: 'and',
          96: 'lsh',
          112: 'rsh',
          128: 'neg',
          144: 'mod',
          160: 'xor',
        };
        const name = names[code & 0xf0] ?? 'alu?';
        text = name === 'neg' ? 'neg' : `${name.padEnd(8)} ${code & BPF.X ? 'x' : `#${hex(k)}`}`;
        break;
      }
      case BPF.JMP: {
        const op = code & 0xf0;
        if (op === BPF.JA) text = `ja       ${pc + 1 + k}`;
        else {
          const name = ({ 16: 'jeq', 32: 'jgt', 48: 'jge', 64: 'jset' } as Record<number, string>)[op] ?? 'j?';
          const src = code & BPF.X ? 'x' : `#${hex(k)}`;
          text = `${name.padEnd(8)} ${src.padEnd(14)} jt ${pc + 1 + jt}\tjf ${pc + 1 + jf}`;
        }
        break;
      }
      case BPF.RET:
        text = (code & 0x18) === BPF.A ? 'ret      a' : `ret      #${k}`;
        break;
      default:
        text = (code & 0xf8) === BPF.TXA ? 'txa' : 'tax';
    }
    return `(${String(pc).padStart(3, '0')}) ${text}`;
  });
}
