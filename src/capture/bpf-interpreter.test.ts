import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BPF, type BpfInstruction, SKF_AD } from './bpf.js';
import { runBpf } from './bpf-interpreter.js';

const s = (code: number, k = 0): BpfInstruction => ({ code, jt: 0, jf: 0, k: k >>> 0 });
const j = (code: number, k: number, jt: number, jf: number): BpfInstruction => ({ code, jt, jf, k });
const RET_A = s(BPF.RET | BPF.A);
const pkt = Buffer.from([0x45, 0x00, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0x80]);

test('loads: absolute, indirect, length, immediate, memory, ldxb msh', () => {
  assert.equal(runBpf([s(BPF.LD | BPF.W | BPF.ABS, 4), RET_A], pkt), 0xdeadbeef);
  assert.equal(runBpf([s(BPF.LD | BPF.H | BPF.ABS, 2), RET_A], pkt), 0x1234);
  assert.equal(runBpf([s(BPF.LD | BPF.B | BPF.ABS, 8), RET_A], pkt), 0x80);
  assert.equal(runBpf([s(BPF.LDX | BPF.B | BPF.MSH, 0), s(BPF.MISC | BPF.TXA), RET_A], pkt), 20);
  assert.equal(runBpf([s(BPF.LDX | BPF.W | BPF.IMM, 2), s(BPF.LD | BPF.H | BPF.IND, 4), RET_A], pkt), 0xbeef);
  assert.equal(runBpf([s(BPF.LD | BPF.W | BPF.LEN), RET_A], pkt), 9);
  assert.equal(runBpf([s(BPF.LD | BPF.W | BPF.LEN), RET_A], pkt, { wireLen: 1500 }), 1500);
  assert.equal(
    runBpf([s(BPF.LD | BPF.IMM, 7), s(BPF.ST, 3), s(BPF.LD | BPF.IMM, 0), s(BPF.LD | BPF.MEM, 3), RET_A], pkt),
    7,
  );
  assert.equal(
    runBpf([s(BPF.LDX | BPF.IMM, 9), s(BPF.STX, 15), s(BPF.LDX | BPF.MEM, 15), s(BPF.MISC | BPF.TXA), RET_A], pkt),
    9,
  );
});

test('out-of-bounds loads and division by zero drop the packet', () => {
  assert.equal(runBpf([s(BPF.LD | BPF.W | BPF.ABS, 6), RET_A], pkt), 0);
  assert.equal(runBpf([s(BPF.LDX | BPF.IMM, 100), s(BPF.LD | BPF.B | BPF.IND, 0), RET_A], pkt), 0);
  assert.equal(runBpf([s(BPF.LD | BPF.IMM, 5), s(BPF.ALU | BPF.DIV | BPF.K, 0), RET_A], pkt), 0);
  assert.equal(runBpf([s(BPF.LD | BPF.IMM, 5), s(BPF.ALU | BPF.MOD | BPF.X), RET_A], pkt), 0);
});

test('ALU is 32-bit unsigned', () => {
  const alu = (op: number, a: number, k: number) =>
    runBpf([s(BPF.LD | BPF.IMM, a), s(BPF.ALU | op | BPF.K, k), RET_A], pkt);
  assert.equal(alu(BPF.ADD, 0xffffffff, 2), 1);
  assert.equal(alu(BPF.SUB, 1, 2), 0xffffffff);
  assert.equal(alu(BPF.MUL, 0x9e3779b1, 3), 0xdaa66d13);
  assert.equal(alu(BPF.DIV, 7, 2), 3);
  assert.equal(alu(BPF.MOD, 7, 4), 3);
  assert.equal(alu(BPF.AND, 0xf0f0, 0xff00), 0xf000);
  assert.equal(alu(BPF.OR, 0xf0, 0x0f), 0xff);
  assert.equal(alu(BPF.XOR, 0xff, 0x0f), 0xf0);
  assert.equal(alu(BPF.LSH, 1, 31), 0x80000000);
  assert.equal(alu(BPF.RSH, 0x80000000, 31), 1);
  assert.equal(runBpf([s(BPF.LD | BPF.IMM, 1), s(BPF.ALU | BPF.NEG), RET_A], pkt), 0xffffffff);
});

test('jumps', () => {
  const prog = (op: number, k: number) => [
    s(BPF.LD | BPF.IMM, 10),
    j(BPF.JMP | op | BPF.K, k, 1, 0),
    s(BPF.RET, 1),
    s(BPF.RET, 2),
  ];
  assert.equal(runBpf(prog(BPF.JEQ, 10), pkt), 2);
  assert.equal(runBpf(prog(BPF.JEQ, 11), pkt), 1);
  assert.equal(runBpf(prog(BPF.JGT, 9), pkt), 2);
  assert.equal(runBpf(prog(BPF.JGT, 10), pkt), 1);
  assert.equal(runBpf(prog(BPF.JGE, 10), pkt), 2);
  assert.equal(runBpf(prog(BPF.JSET, 2), pkt), 2);
  assert.equal(runBpf(prog(BPF.JSET, 5), pkt), 1);
  assert.equal(runBpf([s(BPF.JMP | BPF.JA, 1), s(BPF.RET, 1), s(BPF.RET, 2)], pkt), 2);
  assert.equal(
    runBpf(
      [
        s(BPF.LDX | BPF.IMM, 10),
        s(BPF.LD | BPF.IMM, 10),
        j(BPF.JMP | BPF.JEQ | BPF.X, 0, 0, 1),
        s(BPF.RET, 3),
        s(BPF.RET, 4),
      ],
      pkt,
    ),
    3,
  );
});

test('ancillary fields', () => {
  const anc = (f: number) => [s(BPF.LD | BPF.W | BPF.ABS, SKF_AD.OFF + f), RET_A];
  const meta = { pktType: 4, ifindex: 3, hatype: 772, protocol: 0x86dd, vlanTci: 0x2005 };
  assert.equal(runBpf(anc(SKF_AD.PKTTYPE), pkt, meta), 4);
  assert.equal(runBpf(anc(SKF_AD.IFINDEX), pkt, meta), 3);
  assert.equal(runBpf(anc(SKF_AD.HATYPE), pkt, meta), 772);
  assert.equal(runBpf(anc(SKF_AD.PROTOCOL), pkt, meta), 0x86dd);
  assert.equal(runBpf(anc(SKF_AD.VLAN_TAG), pkt, meta), 0x2005);
  assert.equal(runBpf(anc(SKF_AD.VLAN_TAG_PRESENT), pkt, meta), 1);
  assert.equal(runBpf(anc(SKF_AD.VLAN_TAG_PRESENT), pkt), 0);
  assert.equal(runBpf(anc(SKF_AD.VLAN_TPID), pkt, meta), 0x8100);
  assert.throws(() => runBpf(anc(SKF_AD.PROTOCOL + 56), pkt), { code: 'TAPLINE_ERR_INTERNAL' });
});

test('a program without ret is a bug', () => {
  assert.throws(() => runBpf([s(BPF.LD | BPF.IMM, 1)], pkt), { code: 'TAPLINE_ERR_INTERNAL' });
});
