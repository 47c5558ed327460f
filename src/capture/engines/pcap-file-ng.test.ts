import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ERROR_CODES, TaplineError } from '../../core/errors.js';
import type { RawPacket } from '../types.js';
import { type PcapFileWarning, PcapStreamParser, readPcapBuffer } from './pcap-file.js';
import { block, epb, idb, option, pb, shb, spb } from './pcap-file-testkit.js';

const data = (n: number, fill = n) => Buffer.alloc(n, fill);
const US = 1_700_000_000_123_456n; // µs since the epoch

function rejects(bytes: Buffer, where: RegExp, message: RegExp): void {
  assert.throws(
    () => readPcapBuffer(bytes, { name: 'f.pcapng' }),
    (err: unknown) => {
      assert.ok(err instanceof TaplineError, String(err));
      assert.equal(err.code, ERROR_CODES.BAD_PACKET);
      assert.match(err.where ?? '', where);
      assert.match(err.message, message);
      return true;
    },
  );
}

function simple(packets: RawPacket[]) {
  return packets.map((p) => ({ ts: p.tsNs, lt: p.linkType, len: p.origLen, data: p.data.toString('hex') }));
}

/** Every block kind, both byte orders, two sections, a big skipped block. */
function everything(): Buffer {
  return Buffer.concat([
    shb({}, Buffer.concat([option(1, Buffer.from('a comment')), option(0, Buffer.alloc(0))])),
    idb(1, 65535, { name: 'eth0' }),
    block(4, data(20)), // NRB
    idb(101, 65535, { tsresol: 9 }),
    epb(0, US, data(60)),
    epb(1, US * 1000n + 7n, data(41)),
    block(5, data(30)), // ISB
    block(0x0a, data(3000, 0xaa)), // DSB, larger than the small chunks below
    spb(data(33)),
    pb(1, US * 1000n + 9n, data(17)),
    block(0x40000bad, data(9)), // custom
    shb({ bigEndian: true }),
    idb(113, 128, { bigEndian: true, tsresol: 0x80 | 20 }),
    epb(0, (1_700_000_000n << 20n) + 524_288n, data(50), { bigEndian: true, origLen: 1500 }),
  ]);
}

describe('pcapng reader', () => {
  it('reads every packet block kind across sections and byte orders; skips the rest', () => {
    const { packets, stats, parser } = readPcapBuffer(everything());
    assert.equal(parser.format, 'pcapng');
    assert.deepEqual(
      packets.map((p) => [p.linkType, p.tsNs, p.data.length, p.origLen]),
      [
        [1, US * 1000n, 60, 60],
        [101, US * 1000n + 7n, 41, 41],
        [1, US * 1000n + 7n, 33, 33], // SPB: interface 0, the previous packet's time
        [101, US * 1000n + 9n, 17, 17],
        [113, 1_700_000_000_500_000_000n, 50, 1500], // 2^-20 s units, big-endian section
      ],
    );
    assert.deepEqual(stats, {
      packets: 5,
      bytes: 201,
      blocksSkipped: 4,
      truncatedAtEof: 0,
      sections: 2,
      snaplenCut: 1, // the last packet: 50 of 1500 bytes
      filtered: 0,
    });
    assert.deepEqual(parser.interfaces, [
      { linkType: 113, snaplen: 128, tsResolution: '2^-20', mode: 'pow2', factor: 20n, offsetNs: 0n, maxLen: 262144 },
    ]);
  });

  it('gives the same packets however the input is split', () => {
    const file = everything();
    const whole = simple(readPcapBuffer(file).packets);
    for (let cut = 0; cut <= file.length; cut += 3) {
      const parser = new PcapStreamParser();
      const out: RawPacket[] = [];
      parser.push(file.subarray(0, cut), out);
      parser.push(file.subarray(cut), out);
      assert.equal(parser.end(), null);
      assert.deepEqual(simple(out), whole, `cut ${cut}`);
    }
    for (const size of [1, 5, 64]) {
      const parser = new PcapStreamParser();
      const out: RawPacket[] = [];
      for (let i = 0; i < file.length; i += size) parser.push(file.subarray(i, i + size), out);
      parser.end();
      assert.deepEqual(simple(out), whole, `chunks of ${size}`);
    }
  });

  it('timestamps: base-10 and base-2 resolutions, offsets, values beyond 2^53, exactly', () => {
    const ns = 1_700_000_000_123_456_789n; // > 2^53
    const cases: Array<[Parameters<typeof idb>[2], bigint, bigint]> = [
      [{}, 1_700_000_000_123_456n, 1_700_000_000_123_456_000n],
      [{ tsresol: 9 }, ns, ns],
      [{ tsresol: 3 }, 1_700_000_000_123n, 1_700_000_000_123_000_000n],
      [{ tsresol: 10 }, ns * 10n + 9n, ns], // sub-ns digits are floored
      [{ tsresol: 0x80 | 10 }, 1_700_000_000n * 1024n + 1n, 1_700_000_000_000_976_562n],
      [{ tsresol: 0x80 | 30 }, (1_700_000_000n << 30n) + (1n << 29n), 1_700_000_000_500_000_000n],
      [{ tsresol: 9, tsoffset: 3600n }, ns, ns + 3_600_000_000_000n],
      [{ tsoffset: -1n }, 2_000_000n, 1_000_000_000n],
    ];
    for (const [opts, units, want] of cases) {
      for (const bigEndian of [false, true]) {
        const file = Buffer.concat([
          shb({ bigEndian }),
          idb(1, 0, { ...opts, bigEndian }),
          epb(0, units, data(4), { bigEndian }),
        ]);
        assert.equal(
          readPcapBuffer(file).packets[0]!.tsNs,
          want,
          JSON.stringify({ ...opts, tsoffset: String(opts?.tsoffset) }),
        );
      }
    }
  });

  it('SPB: captured length is bounded by the snaplen', () => {
    const file = Buffer.concat([shb(), idb(1, 10), spb(data(10), { origLen: 50 })]);
    const p = readPcapBuffer(file).packets[0]!;
    assert.deepEqual([p.data.length, p.origLen], [10, 50]);
  });

  it('a new section forgets the previous section’s interfaces', () => {
    const file = Buffer.concat([shb(), idb(1, 0), idb(1, 0), shb(), idb(1, 0), epb(1, 1n, data(4))]);
    rejects(file, /^f\.pcapng:packet 1 \(offset \d+\)$/, /interface 1 but the section describes 1/);
  });

  it('corrupt blocks are errors naming the packet and offset, after the good packets', () => {
    const head = Buffer.concat([shb(), idb(1, 0)]);
    const good = epb(0, 1n, data(8));
    const badLength = epb(0, 1n, data(8));
    badLength.writeUInt32LE(999, badLength.length - 4);
    const where = new RegExp(`^f\\.pcapng:packet 2 \\(offset ${head.length + good.length}\\)$`);
    rejects(Buffer.concat([head, good, badLength]), where, /does not match its trailing copy/);

    const capTooBig = epb(0, 1n, data(8));
    capTooBig.writeUInt32LE(100, 20);
    rejects(Buffer.concat([head, good, capTooBig]), where, /claims 100 captured bytes but its block holds 8/);

    const oddLength = Buffer.from(good);
    oddLength.writeUInt32LE(41, 4);
    rejects(Buffer.concat([head, good, oddLength]), where, /invalid length 41/);

    const parser = new PcapStreamParser('f.pcapng');
    const out: RawPacket[] = [];
    assert.throws(() => parser.push(Buffer.concat([head, good, badLength]), out));
    assert.equal(out.length, 1, 'the good packet was delivered before the error');
  });

  it('bad section headers and absurd block lengths', () => {
    const badBom = shb();
    badBom.writeUInt32LE(0x12345678, 8);
    rejects(badBom, /block before packet 1 \(offset 0\)/, /byte-order magic/);
    const v2 = shb();
    v2.writeUInt16LE(2, 12);
    rejects(v2, /offset 0/, /major version 2/);
    const huge = Buffer.concat([shb(), idb(1, 0), Buffer.from('06000000fcffff7f', 'hex')]);
    rejects(huge, /packet 1|block/, /claims 2147483644 bytes/);
    const badOption = Buffer.concat([
      shb(),
      block(1, Buffer.concat([Buffer.from('0100000000000000', 'hex'), Buffer.from('0900ff00', 'hex')])),
    ]);
    rejects(badOption, /block before packet 1/, /option 9 runs past/);
  });

  it('a cut last block is a warning; a cut skipped block too; a cut section header is an error', () => {
    const file = Buffer.concat([shb(), idb(1, 0), epb(0, 1n, data(8)), epb(0, 2n, data(8))]);
    const warnings: PcapFileWarning[] = [];
    const { packets, stats } = readPcapBuffer(file.subarray(0, file.length - 5), {
      name: 'f.pcapng',
      onWarning: (w) => warnings.push(w),
    });
    assert.equal(packets.length, 1);
    assert.equal(stats.truncatedAtEof, 1);
    assert.match(warnings[0]!.where, /^f\.pcapng:packet 2 \(offset \d+\)$/);

    const skipped = Buffer.concat([shb(), idb(1, 0), epb(0, 1n, data(8)), block(0x0a, data(1000))]);
    const w2: PcapFileWarning[] = [];
    const parser = new PcapStreamParser('s.pcapng');
    const out: RawPacket[] = [];
    parser.push(skipped.subarray(0, skipped.length - 600), out);
    const warning = parser.end();
    if (warning) w2.push(warning);
    assert.equal(out.length, 1);
    assert.match(w2[0]?.message ?? '', /skipped \(non-packet\) block, 600 bytes short/);

    assert.throws(() => readPcapBuffer(shb().subarray(0, 20)), /inside the file header/);
  });

  it('names an interface whose link type is not decoded, and the first packet the snaplen cut', () => {
    const ethernet = Buffer.alloc(60, 1);
    const file = Buffer.concat([
      shb(),
      idb(1, 65535, { name: 'eth0' }),
      idb(127, 65535, { name: 'wlan0mon' }), // 802.11 with radiotap: not decoded
      epb(0, 1n, ethernet),
      epb(1, 2n, data(40)),
      epb(0, 3n, ethernet, { origLen: 1514 }),
      epb(0, 4n, ethernet, { origLen: 1514 }),
      shb(),
      idb(1, 65535),
      idb(1, 65535),
      idb(195, 65535), // IEEE 802.15.4, interface 2 of the second section
      epb(2, 5n, data(20)),
    ]);
    const warnings: PcapFileWarning[] = [];
    const { packets, stats } = readPcapBuffer(file, { name: 'm.pcapng', onWarning: (w) => warnings.push(w) });
    assert.equal(packets.length, 5);
    assert.equal(stats.snaplenCut, 2);
    const idbOffset = shb().length + idb(1, 65535, { name: 'eth0' }).length;
    const cutOffset =
      idbOffset +
      idb(127, 65535, { name: 'wlan0mon' }).length +
      epb(0, 1n, ethernet).length +
      epb(1, 2n, data(40)).length;
    assert.deepEqual(
      warnings.map((w) => [w.code, w.where]),
      [
        ['unsupported-link-type', `m.pcapng:block before packet 1 (offset ${idbOffset})`],
        ['snaplen-cut', `m.pcapng:packet 3 (offset ${cutOffset})`],
        [
          'unsupported-link-type',
          `m.pcapng:block after packet 4 (offset ${file.length - epb(2, 5n, data(20)).length - idb(9, 65535).length})`,
        ],
      ],
    );
    assert.match(warnings[0]!.message, /^interface 1 has link type 127 \(IEEE 802\.11 with radiotap header\)/);
    assert.match(warnings[1]!.message, /cut this packet to 60 of its 1514 bytes/);
    assert.match(warnings[2]!.message, /^interface 2 has link type 195 \(IEEE 802\.15\.4\)/);
  });
});
