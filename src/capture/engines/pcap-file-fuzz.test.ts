/**
 * Property tests: whatever the bytes, the reader either delivers packets or throws a `TaplineError`
 * (never another exception, never a hang), and splitting the input into chunks changes nothing: not the
 * packets, not the error.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { TaplineError } from '../../core/errors.js';
import { buildPcap } from '../pcap-writer.js';
import type { RawPacket } from '../types.js';
import { PcapStreamParser } from './pcap-file.js';
import { block, epb, idb, pb, shb, spb } from './pcap-file-testkit.js';

interface Outcome {
  packets: string[];
  error: string | null;
  warning: string | null;
}

/** Parses `bytes` cut at `cuts`; any non-TaplineError fails the property. */
function run(bytes: Buffer, cuts: number[] = []): Outcome {
  const parser = new PcapStreamParser('fuzz');
  const out: RawPacket[] = [];
  let error: string | null = null;
  let warning: string | null = null;
  try {
    let from = 0;
    for (const cut of [...cuts.filter((c) => c > 0 && c < bytes.length)].sort((a, b) => a - b)) {
      parser.push(bytes.subarray(from, cut), out);
      from = cut;
    }
    parser.push(bytes.subarray(from), out);
    const w = parser.end();
    warning = w ? `${w.where} ${w.message}` : null;
  } catch (err) {
    if (!(err instanceof TaplineError)) throw err;
    error = `${err.where} ${err.message}`;
  }
  return { packets: out.map((p) => `${p.tsNs}/${p.linkType}/${p.origLen}/${p.data.toString('hex')}`), error, warning };
}

const classic = buildPcap(
  Array.from({ length: 6 }, (_, i) => ({ tsNs: BigInt(i) * 1_000_001_000n, data: Buffer.alloc(8 + i * 5, i) })),
);
const classicNs = buildPcap([{ tsNs: 5n, data: Buffer.alloc(30, 1) }], { nanosecond: true, bigEndian: true });
const pcapng = Buffer.concat([
  shb(),
  idb(1, 0),
  idb(101, 64, { tsresol: 9 }),
  epb(0, 1000n, Buffer.alloc(20, 1)),
  block(5, Buffer.alloc(16)),
  spb(Buffer.alloc(12, 2)),
  pb(1, 5000n, Buffer.alloc(9, 3)),
  shb({ bigEndian: true }),
  idb(113, 0, { bigEndian: true, tsresol: 0x80 | 10 }),
  epb(0, 77n, Buffer.alloc(15, 4), { bigEndian: true }),
]);
const seeds = [classic, classicNs, pcapng];

const cutsArb = fc.array(fc.nat({ max: 400 }), { maxLength: 4 });

describe('reader fuzzing', () => {
  it('random bytes: packets or a TaplineError, nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), cutsArb, (bytes, cuts) => {
        run(Buffer.from(bytes), cuts);
      }),
      { numRuns: 500 },
    );
  });

  it('random records behind a valid header', () => {
    const headers = [classic.subarray(0, 24), classicNs.subarray(0, 24), Buffer.concat([shb(), idb(1, 0)])];
    fc.assert(
      fc.property(fc.constantFrom(...headers), fc.uint8Array({ maxLength: 300 }), cutsArb, (head, tail, cuts) => {
        run(Buffer.concat([head, Buffer.from(tail)]), cuts);
      }),
      { numRuns: 2000 },
    );
  });

  it('mutated valid files: same outcome whole or in chunks', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...seeds),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        fc.nat(),
        cutsArb,
        (seed, edits, keep, cuts) => {
          const bytes = Buffer.from(seed);
          for (const [at, value] of edits) bytes[at % bytes.length] = value;
          // Sometimes cut the file short too.
          const file = keep % 3 === 0 ? bytes.subarray(0, keep % (bytes.length + 1)) : bytes;
          assert.deepEqual(run(file, cuts), run(file));
        },
      ),
      { numRuns: 3000 },
    );
  });
});
