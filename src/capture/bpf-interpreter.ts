/**
 * A small classic-BPF interpreter with Linux's semantics: out-of-bounds loads and division by zero
 * end the program with 0 (drop), ancillary loads (`SKF_AD_*`) read packet metadata. Used to test the
 * generated programs on crafted packets, and usable to apply a generated filter to file input.
 */
import { ERROR_CODES, TaplineError } from '../core/errors.js';
import { BPF, type BpfInstruction, SKF_AD } from './bpf.js';

/** What the kernel knows about a packet besides its bytes (the ancillary fields). */
export interface BpfPacketMeta {
  /** skb->protocol, host order (0x0800, 0x86dd...). Defaults to the Ethernet type at bytes 12–13. */
  readonly protocol?: number;
  /** PACKET_HOST 0 ... PACKET_OUTGOING 4. Default 0. */
  readonly pktType?: number;
  readonly ifindex?: number;
  /** ARPHRD_* of the interface. Default 1 (Ethernet). */
  readonly hatype?: number;
  /** A VLAN tag the kernel took out of the frame (receive path): its TCI. */
  readonly vlanTci?: number;
  readonly vlanTpid?: number;
  /** skb->len; defaults to the number of bytes given. */
  readonly wireLen?: number;
}

/** Runs `prog` on `pkt`; returns the program's result (0 = drop, else bytes to keep). */
export function runBpf(prog: readonly BpfInstruction[], pkt: Uint8Array, meta: BpfPacketMeta = {}): number {
  const mem = new Uint32Array(16);
  let A = 0;
  let X = 0;
  const len = pkt.length;
  const wireLen = meta.wireLen ?? len;
  const ancBase = SKF_AD.OFF >>> 0;

  const load = (off: number, size: number): number | undefined => {
    if (off < 0 || off + size > len) return undefined;
    if (size === 4) return ((pkt[off]! << 24) | (pkt[off + 1]! << 16) | (pkt[off + 2]! << 8) | pkt[off + 3]!) >>> 0;
    if (size === 2) return (pkt[off]! << 8) | pkt[off + 1]!;
    return pkt[off]!;
  };
  const ancillary = (field: number): number => {
    switch (field) {
      case SKF_AD.PROTOCOL:
        return meta.protocol ?? (len >= 14 ? (pkt[12]! << 8) | pkt[13]! : 0);
      case SKF_AD.PKTTYPE:
        return meta.pktType ?? 0;
      case SKF_AD.IFINDEX:
        return meta.ifindex ?? 0;
      case SKF_AD.HATYPE:
        return meta.hatype ?? 1;
      case SKF_AD.VLAN_TAG:
        return meta.vlanTci ?? 0;
      case SKF_AD.VLAN_TAG_PRESENT:
        return meta.vlanTci === undefined ? 0 : 1;
      case SKF_AD.VLAN_TPID:
        return meta.vlanTci === undefined ? 0 : (meta.vlanTpid ?? 0x8100);
      default:
        throw new TaplineError(ERROR_CODES.INTERNAL, `BPF interpreter: unsupported ancillary field ${field}`);
    }
  };

  for (let pc = 0; pc < prog.length; pc++) {
    const { code, jt, jf } = prog[pc]!;
    const k = prog[pc]!.k >>> 0;
    const cls = code & 0x07;
    switch (cls) {
      case BPF.LD:
      case BPF.LDX: {
        const mode = code & 0xe0;
        const size = ({ 0: 4, 8: 2, 16: 1 } as Record<number, number>)[code & 0x18] ?? 4;
        let v: number | undefined;
        if (cls === BPF.LDX && mode === BPF.MSH) {
          const b = load(k, 1);
          if (b === undefined) return 0;
          X = (b & 0x0f) << 2;
          break;
        }
        if (mode === BPF.IMM) v = k;
        else if (mode === BPF.MEM) v = mem[k & 15]!;
        else if (mode === BPF.LEN) v = wireLen;
        else if (mode === BPF.ABS) v = k >= ancBase ? ancillary(k - ancBase) : load(k, size);
        else if (mode === BPF.IND) v = load((X + k) >>> 0, size);
        if (v === undefined) return 0;
        if (cls === BPF.LD) A = v >>> 0;
        else X = v >>> 0;
        break;
      }
      case BPF.ST:
        mem[k & 15] = A;
        break;
      case BPF.STX:
        mem[k & 15] = X;
        break;
      case BPF.ALU: {
        const src = code & BPF.X ? X : k;
        switch (code & 0xf0) {
          case BPF.ADD:
            A = (A + src) >>> 0;
            break;
          case BPF.SUB:
            A = (A - src) >>> 0;
            break;
          case BPF.MUL:
            A = Math.imul(A, src) >>> 0;
            break;
          case BPF.DIV:
            if (src === 0) return 0;
            A = Math.floor(A / src) >>> 0;
            break;
          case BPF.MOD:
            if (src === 0) return 0;
            A = (A % src) >>> 0;
            break;
          case BPF.OR:
            A = (A | src) >>> 0;
            break;
          case BPF.AND:
            A = (A & src) >>> 0;
            break;
          case BPF.XOR:
            A = (A ^ src) >>> 0;
            break;
          case BPF.LSH:
            A = src >= 32 ? 0 : (A << src) >>> 0;
            break;
          case BPF.RSH:
            A = src >= 32 ? 0 : A >>> src;
            break;
          case BPF.NEG:
            A = -A >>> 0;
            break;
          default:
            throw new TaplineError(ERROR_CODES.INTERNAL, `BPF interpreter: bad ALU op 0x${code.toString(16)}`);
        }
        break;
      }
      case BPF.JMP: {
        const op = code & 0xf0;
        if (op === BPF.JA) {
          pc += k;
          break;
        }
        const src = code & BPF.X ? X : k;
        let taken: boolean;
        if (op === BPF.JEQ) taken = A === src;
        else if (op === BPF.JGT) taken = A > src;
        else if (op === BPF.JGE) taken = A >= src;
        else if (op === BPF.JSET) taken = (A & src) !== 0;
        else throw new TaplineError(ERROR_CODES.INTERNAL, `BPF interpreter: bad jump 0x${code.toString(16)}`);
        pc += taken ? jt : jf;
        break;
      }
      case BPF.RET:
        return ((code & 0x18) === BPF.A ? A : k) >>> 0;
      default:
        if ((code & 0xf8) === BPF.TXA) A = X;
        else X = A;
    }
  }
  throw new TaplineError(ERROR_CODES.INTERNAL, 'BPF interpreter: program ran off its end (no ret)');
}
