/**
 * Property: whatever the segmentation, reordering (within a window), duplication and overlapping
 * retransmission, both directions reassemble to exactly the bytes sent, and every byte arrives with the
 * metadata of the first segment that carried it (its seq, ack and timestamp). The oracle is a per-byte
 * "first writer wins" model, which is what a TCP receiver keeps.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { TcpSegment } from '../capture/types.js';
import { TcpFlag } from '../capture/types.js';
import { TcpAssembler } from './assembler.js';
import { Recorder, seg } from './testing.js';
import type { StreamSide } from './types.js';

const { SYN, ACK, FIN } = TcpFlag;
const SIDES: StreamSide[] = ['client', 'server'];

interface Item {
  side: StreamSide;
  offset: number;
  len: number;
  fin: boolean;
  syn: boolean;
  key: number;
}

const isnArb = fc.oneof(
  fc.integer({ min: 0, max: 0xffffffff }),
  fc.integer({ min: 0xffffffff - 4000, max: 0xffffffff }), // data crosses 2^32
);

const scenarioArb = fc.record({
  bytes: fc.tuple(fc.uint8Array({ maxLength: 3000, size: 'max' }), fc.uint8Array({ maxLength: 3000, size: 'max' })),
  isn: fc.tuple(isnArb, isnArb),
  cuts: fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 40 }),
  retransmits: fc.array(fc.record({ server: fc.boolean(), a: fc.nat(), b: fc.nat(), at: fc.nat(1000) }), {
    maxLength: 12,
  }),
  duplicates: fc.array(fc.record({ index: fc.nat(), at: fc.nat(1000) }), { maxLength: 12 }),
  window: fc.integer({ min: 0, max: 12 }),
  noise: fc.array(fc.nat(1000), { minLength: 1, maxLength: 64 }),
  finOnData: fc.boolean(),
  realisticAcks: fc.boolean(),
  acks: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 32 }),
});

type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

/** Arrival order of every non-handshake segment. */
function arrivalOrder(s: Scenario): Item[] {
  const items: Item[] = [];
  let cut = 0;
  let noise = 0;
  const jitter = () => s.noise[noise++ % s.noise.length]! % (s.window + 1);
  const total = s.bytes[0].length + s.bytes[1].length + 2;
  SIDES.forEach((side, d) => {
    const length = s.bytes[d]!.length;
    const segs: Item[] = [];
    for (let o = 0; o < length; ) {
      const len = Math.min(s.cuts[cut++ % s.cuts.length]!, length - o);
      segs.push({ side, offset: o, len, fin: false, syn: false, key: 0 });
      o += len;
    }
    const last = segs.at(-1);
    if (s.finOnData && last !== undefined) last.fin = true;
    else segs.push({ side, offset: length, len: 0, fin: true, syn: false, key: 0 });
    // Spread each side's segments over the whole run, so the two directions interleave.
    segs.forEach((it, i) => {
      it.key = (i / segs.length) * total + jitter();
    });
    items.push(...segs);
  });
  const originals = items.slice();
  for (const r of s.retransmits) {
    const side: StreamSide = r.server ? 'server' : 'client';
    const length = s.bytes[r.server ? 1 : 0].length;
    if (length === 0) continue;
    const a = r.a % length;
    const b = a + 1 + (r.b % (length - a));
    items.push({ side, offset: a, len: b - a, fin: false, syn: false, key: (r.at / 1000) * total });
  }
  for (const d of s.duplicates) {
    const orig = originals[d.index % originals.length]!;
    items.push({ ...orig, key: (d.at / 1000) * total + jitter() });
  }
  if (s.duplicates.length > 0) items.push({ side: 'client', offset: 0, len: 0, fin: false, syn: true, key: total / 2 });
  return items.sort((x, y) => x.key - y.key);
}

function run(s: Scenario): void {
  const order = arrivalOrder(s);
  const rec = new Recorder();
  const asm = new TcpAssembler({ onStream: rec.onStream, skipAckedHoles: s.realisticAcks });
  const idx = (side: StreamSide) => (side === 'client' ? 0 : 1);
  const dataSeq = (side: StreamSide, offset: number) => (s.isn[idx(side)] + 1 + offset) >>> 0;

  // Oracle state: first writer per byte; contiguous prefix per side (what a receiver could have ACKed).
  const seen = SIDES.map((_, d) => new Uint8Array(s.bytes[d]!.length));
  const ackAt = SIDES.map((_, d) => new Array<number>(s.bytes[d]!.length));
  const tsAt = SIDES.map((_, d) => new Array<bigint>(s.bytes[d]!.length));
  const prefix = [0, 0];

  asm.push(seg({ seq: s.isn[0], flags: SYN, tsNs: 0n }));
  asm.push(seg({ from: 'server', seq: s.isn[1], ack: dataSeq('client', 0), flags: SYN | ACK, tsNs: 0n }));
  let n = 0;
  for (const it of order) {
    const d = idx(it.side);
    const peer = 1 - d;
    const tsNs = BigInt(++n) * 1000n;
    const ack = s.realisticAcks ? dataSeq(SIDES[peer]!, prefix[peer]!) : s.acks[n % s.acks.length]!;
    const packet: TcpSegment = seg({
      from: it.side,
      seq: it.syn ? s.isn[d]! : dataSeq(it.side, it.offset),
      ack,
      flags: it.syn ? SYN : ACK | (it.fin ? FIN : 0),
      data: Buffer.from(s.bytes[d]!.subarray(it.offset, it.offset + it.len)),
      tsNs,
    });
    for (let i = it.offset; i < it.offset + it.len; i++) {
      if (seen[d]![i]) continue;
      seen[d]![i] = 1;
      ackAt[d]![i] = ack;
      tsAt[d]![i] = tsNs;
    }
    while (prefix[d]! < seen[d]!.length && seen[d]![prefix[d]!]) prefix[d]!++;
    asm.push(packet);
  }

  for (const side of SIDES) {
    const d = idx(side);
    const bytes = s.bytes[d]!;
    const chunks = rec.data(side);
    // Compared by hand: a diff of two large buffers makes fast-check's shrinking crawl.
    const got = Buffer.concat(chunks.map((c) => c.chunk));
    if (!got.equals(bytes)) {
      let at = 0;
      while (at < got.length && got[at] === bytes[at]) at++;
      assert.fail(`${side}: got ${got.length} bytes, want ${bytes.length}; first difference at ${at}`);
    }
    let offset = 0;
    for (const { chunk, meta } of chunks) {
      assert.equal(meta.offset, offset);
      assert.equal(meta.seq, dataSeq(side, offset));
      for (let i = 0; i < chunk.length; i++) {
        assert.equal(meta.ack, ackAt[d]![offset + i], `${side} ack of byte ${offset + i}`);
        assert.equal(meta.tsNs, tsAt[d]![offset + i], `${side} timestamp of byte ${offset + i}`);
      }
      offset += chunk.length;
    }
    assert.deepEqual(rec.ends(side), bytes.length > 0 ? ['fin'] : []);
  }
  assert.equal(rec.gaps().length, 0);
  assert.equal(asm.stats.gaps, 0);
  assert.equal(asm.stats.bufferedBytes, 0);
  assert.equal(asm.stats.flowsOpened, 1);
}

describe('TcpAssembler property', () => {
  it('reassembles both directions exactly, with first-seen seq/ack/timestamp at every byte', () => {
    fc.assert(fc.property(scenarioArb, run), {
      numRuns: 300,
      interruptAfterTimeLimit: 10_000,
      markInterruptAsFailure: true,
    });
  });
});
