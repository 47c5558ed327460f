import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { ERROR_CODES, TaplineError } from '../../core/errors.js';
import { buildPcap, encodePcapHeader, encodePcapRecord, type PcapWriterOptions } from '../pcap-writer.js';
import type { RawPacket } from '../types.js';
import { openPcapFile, type PcapFileWarning, PcapStreamParser, readPcapBuffer, readPcapStream } from './pcap-file.js';

const tmp = mkdtempSync(join(tmpdir(), 'tapline-pcap-'));

function packetsFor(n: number): Array<{ tsNs: bigint; data: Buffer }> {
  return Array.from({ length: n }, (_, i) => ({
    // Seconds near the top of uint32 and odd nanoseconds: exactness beyond 2^53 matters.
    tsNs: 4_000_000_000n * 1_000_000_000n + BigInt(i) * 1_000_000_007n + 999n,
    data: Buffer.alloc(10 + i * 7, i + 1),
  }));
}

async function collect(iterable: AsyncIterable<RawPacket[]>): Promise<{ packets: RawPacket[]; batches: number }> {
  const packets: RawPacket[] = [];
  let batches = 0;
  for await (const batch of iterable) {
    batches++;
    packets.push(...batch);
  }
  return { packets, batches };
}

function parseChunks(chunks: Buffer[]): { packets: RawPacket[]; parser: PcapStreamParser } {
  const parser = new PcapStreamParser('split.pcap');
  const packets: RawPacket[] = [];
  for (const c of chunks) parser.push(c, packets);
  parser.end();
  return { packets, parser };
}

/** Compares packets by value (data as hex, so a mismatch prints readably). */
function simple(packets: RawPacket[]) {
  return packets.map((p) => ({ ts: p.tsNs, lt: p.linkType, len: p.origLen, data: p.data.toString('hex') }));
}

function rejects(fn: () => unknown, code: string, where: RegExp, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof TaplineError, `not a TaplineError: ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.where ?? '', where);
    if (message) assert.match(err.message, message);
    return true;
  });
}

describe('classic pcap reader', () => {
  for (const bigEndian of [false, true]) {
    for (const nanosecond of [false, true]) {
      it(`reads ${bigEndian ? 'big' : 'little'}-endian, ${nanosecond ? 'ns' : 'µs'} files exactly`, () => {
        const input = packetsFor(5);
        const opts: PcapWriterOptions = { bigEndian, nanosecond, linkType: 113 };
        const { packets, stats, parser } = readPcapBuffer(buildPcap(input, opts));
        assert.equal(parser.format, 'pcap');
        assert.deepEqual(parser.classicHeader, {
          littleEndian: !bigEndian,
          nanosecond,
          versionMajor: 2,
          versionMinor: 4,
          snaplen: 262144,
          linkType: 113,
        });
        assert.deepEqual(
          packets.map((p) => p.tsNs),
          input.map((p) => (nanosecond ? p.tsNs : (p.tsNs / 1000n) * 1000n)),
        );
        assert.deepEqual(
          packets.map((p) => p.data),
          input.map((p) => p.data),
        );
        assert.ok(packets.every((p) => p.linkType === 113 && p.origLen === p.data.length));
        assert.deepEqual(stats, {
          packets: 5,
          bytes: input.reduce((a, p) => a + p.data.length, 0),
          blocksSkipped: 0,
          truncatedAtEof: 0,
          sections: 1,
          snaplenCut: 0,
          filtered: 0,
        });
      });
    }
  }

  it('keeps the wire length of snaplen-cut packets', () => {
    const { packets } = readPcapBuffer(buildPcap([{ tsNs: 1n, data: Buffer.alloc(300, 1) }], { snaplen: 100 }));
    assert.deepEqual([packets[0]!.data.length, packets[0]!.origLen], [100, 300]);
  });

  it('masks the FCS flag bits out of the link type', () => {
    const file = buildPcap([{ tsNs: 1n, data: Buffer.alloc(20) }]);
    file.writeUInt32LE(0x14000001, 20); // FCS present, 4 bytes, Ethernet
    assert.equal(readPcapBuffer(file).packets[0]!.linkType, 1);
  });

  it('packets are views into the input, not copies', () => {
    const file = buildPcap(packetsFor(2));
    assert.equal(readPcapBuffer(file).packets[1]!.data.buffer, file.buffer);
  });

  it('gives the same packets however the input is split (every offset, and 1-byte chunks)', () => {
    const file = buildPcap(packetsFor(6), { nanosecond: true });
    const whole = simple(readPcapBuffer(file).packets);
    for (let cut = 0; cut <= file.length; cut++) {
      assert.deepEqual(simple(parseChunks([file.subarray(0, cut), file.subarray(cut)]).packets), whole, `cut ${cut}`);
    }
    const bytes = Array.from({ length: file.length }, (_, i) => file.subarray(i, i + 1));
    assert.deepEqual(simple(parseChunks(bytes).packets), whole);
  });

  it('streams from any Readable (stdin, a tcpdump pipe) in batches', async () => {
    const file = buildPcap(packetsFor(20));
    const chunks = [file.subarray(0, 100), file.subarray(100, 1000), file.subarray(1000)];
    const reader = readPcapStream(Readable.from(chunks), { name: '<stdin>' });
    const { packets, batches } = await collect(reader);
    assert.equal(packets.length, 20);
    assert.ok(batches >= 2 && batches <= 3);
    assert.equal(reader.format, 'pcap');
    assert.equal(reader.interfaces[0]!.linkType, 1);
    assert.equal(reader.stats.packets, 20);
  });

  it('reads files with any read size', async () => {
    const file = buildPcap(packetsFor(30));
    const path = join(tmp, 'small-chunks.pcap');
    writeFileSync(path, file);
    for (const chunkSize of [7, 64, 1 << 20]) {
      const { packets } = await collect(openPcapFile(path, { chunkSize }));
      assert.deepEqual(simple(packets), simple(readPcapBuffer(file).packets), `chunkSize ${chunkSize}`);
    }
  });
});

describe('warnings that explain a run with few or no messages', () => {
  it('a link type the decoder does not read is named once, at the file header, before any packet', async () => {
    const file = buildPcap(packetsFor(3), { linkType: 105 });
    const warnings: PcapFileWarning[] = [];
    const { packets } = readPcapBuffer(file, { name: 'wifi.pcap', onWarning: (w) => warnings.push(w) });
    assert.equal(packets.length, 3);
    assert.deepEqual(
      warnings.map((w) => [w.code, w.where]),
      [['unsupported-link-type', 'wifi.pcap:file header (offset 20)']],
    );
    assert.match(warnings[0]!.message, /link type 105 \(IEEE 802\.11 Wi-Fi\), which tapline does not decode/);
    assert.match(warnings[0]!.message, /not_tcp_or_filtered/);
    // Every link type family decoded is named (FDDI and IPNET were left out when they were added).
    assert.match(warnings[0]!.message, /supported: Ethernet .*FDDI, Solaris IPNET, PPP, Cisco HDLC\)/);

    // From a file: said as soon as the header is read, before the first batch reaches the consumer.
    const path = join(tmp, 'unknown-link.pcap');
    writeFileSync(path, buildPcap(packetsFor(3), { linkType: 147 }));
    const seen: string[] = [];
    const reader = openPcapFile(path, { onWarning: (w) => seen.push(`warning ${w.code}`) });
    for await (const batch of reader) seen.push(`batch ${batch.length}`);
    assert.deepEqual(seen, ['warning unsupported-link-type', 'batch 3']);
  });

  it('every link type the decoder reads passes without a warning', () => {
    for (const linkType of [0, 1, 12, 14, 101, 108, 113, 228, 229, 239, 276]) {
      const warnings: PcapFileWarning[] = [];
      readPcapBuffer(buildPcap(packetsFor(1), { linkType }), { onWarning: (w) => warnings.push(w) });
      assert.deepEqual(warnings, [], `link type ${linkType}`);
    }
  });

  it('snaplen-cut packets: all counted, the first named by packet number and offset (both batch forms)', async () => {
    const input = packetsFor(6).map((p) => ({ ...p, data: Buffer.alloc(p.data.length + 100, 7) }));
    const file = buildPcap(input, { snaplen: 125 }); // packets 4, 5 and 6 (131, 138, 145 bytes) are cut
    const warnings: PcapFileWarning[] = [];
    const { packets, stats } = readPcapBuffer(file, { name: 'cut.pcap', onWarning: (w) => warnings.push(w) });
    assert.deepEqual(
      packets.map((p) => [p.data.length, p.origLen]),
      input.map((p) => [Math.min(125, p.data.length), p.data.length]),
    );
    assert.equal(stats.snaplenCut, 3);
    assert.equal(stats.packets, 6);
    const offset = 24 + input.slice(0, 3).reduce((n, p) => n + 16 + p.data.length, 0);
    assert.deepEqual(
      warnings.map((w) => [w.code, w.where]),
      [['snaplen-cut', `cut.pcap:packet 4 (offset ${offset})`]],
    );
    assert.match(warnings[0]!.message, /cut this packet to 125 of its 131 bytes/);

    const path = join(tmp, 'snaplen.pcap');
    writeFileSync(path, file);
    for (const indexed of [false, true]) {
      const fileWarnings: PcapFileWarning[] = [];
      const reader = openPcapFile(path, { chunkSize: 100, onWarning: (w) => fileWarnings.push(w) });
      for await (const _ of indexed ? reader.batches() : reader);
      assert.equal(reader.stats.snaplenCut, 3, `indexed ${indexed}`);
      assert.equal(reader.stats.packets, 6);
      assert.deepEqual(
        fileWarnings.map((w) => w.where),
        [`${path}:packet 4 (offset ${offset})`],
      );
    }
  });
});

describe('classic pcap reader: bad input', () => {
  it('names what a file with a wrong magic probably is', () => {
    const cases: Array<[Buffer, RegExp]> = [
      [Buffer.from('not a capture at all, sorry'), /bad magic number 0x6e6f7420/],
      [Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]), /gzip/],
      [Buffer.from('1 8a2b3c4d5e6f 1700000000000000000\nGET / HTTP/1.1\r\n'), /\.gor recording/],
      [Buffer.from('34cdb2a1000000000000000000000000', 'hex'), /modified/],
    ];
    for (const [bytes, message] of cases) {
      rejects(
        () => readPcapBuffer(bytes, { name: 'x.pcap' }),
        ERROR_CODES.BAD_PACKET,
        /^x\.pcap:file header \(offset 0\)$/,
        message,
      );
    }
  });

  it('rejects empty input, a cut file header, and unknown versions', () => {
    rejects(() => readPcapBuffer(Buffer.alloc(0)), ERROR_CODES.BAD_PACKET, /file header/, /empty/);
    rejects(
      () => readPcapBuffer(encodePcapHeader().subarray(0, 10)),
      ERROR_CODES.BAD_PACKET,
      /file header/,
      /after 10 bytes/,
    );
    const v3 = encodePcapHeader();
    v3.writeUInt16LE(3, 4);
    rejects(() => readPcapBuffer(v3), ERROR_CODES.BAD_PACKET, /file header \(offset 4\)/, /version 3\.4/);
  });

  it('a header-only file is a valid, empty capture', () => {
    assert.equal(readPcapBuffer(encodePcapHeader()).packets.length, 0);
  });

  it('a last packet cut by the end of the file: warning + counter, earlier packets delivered', () => {
    const file = buildPcap(packetsFor(3));
    for (const cutBytes of [1, 20, file.length - 24 - 16 - 10 - 16 - 17 - 16 - 1]) {
      const warnings: PcapFileWarning[] = [];
      const { packets, stats } = readPcapBuffer(file.subarray(0, file.length - cutBytes), {
        name: 'cut.pcap',
        onWarning: (w) => warnings.push(w),
      });
      assert.equal(packets.length, 2);
      assert.equal(stats.truncatedAtEof, 1);
      assert.equal(warnings.length, 1);
      assert.equal(warnings[0]!.where, `cut.pcap:packet 3 (offset ${24 + 16 + 10 + 16 + 17})`);
      assert.match(warnings[0]!.message, /ends inside the last record/);
    }
  });

  it('an absurd record length is an error naming file, packet and offset; good packets come first', async () => {
    const records = packetsFor(4).map((p) => encodePcapRecord(p));
    records[2]!.writeUInt32LE(0x7fffffff, 8);
    const file = Buffer.concat([encodePcapHeader(), ...records]);
    const offset = 24 + records[0]!.length + records[1]!.length;
    rejects(
      () => readPcapBuffer(file, { name: 'bad.pcap' }),
      ERROR_CODES.BAD_PACKET,
      new RegExp(`^bad\\.pcap:packet 3 \\(offset ${offset}\\)$`),
      /claims 2147483647 captured bytes/,
    );

    const path = join(tmp, 'bad.pcap');
    writeFileSync(path, file);
    const delivered: RawPacket[] = [];
    await assert.rejects(
      async () => {
        for await (const batch of openPcapFile(path)) delivered.push(...batch);
      },
      (err: unknown) => err instanceof TaplineError && err.where === `${path}:packet 3 (offset ${offset})`,
    );
    assert.equal(delivered.length, 2);
  });

  it('I/O problems are FILE_IO naming the path, in words (not Node\'s "illegal operation on a directory, read")', async () => {
    const cases: [string, RegExp][] = [
      [join(tmp, 'missing.pcap'), /^cannot read capture: no such file \(ENOENT\)$/],
      [tmp, /^cannot read capture: it is a directory; name a capture file .*\(EISDIR\)$/],
    ];
    for (const [path, words] of cases) {
      await assert.rejects(collect(openPcapFile(path)), (err: unknown) => {
        assert.ok(err instanceof TaplineError);
        assert.equal(err.code, ERROR_CODES.FILE_IO);
        assert.equal(err.where, path);
        assert.match(err.message, words);
        return true;
      });
    }
  });

  it('a text-mode stream and a second iteration are refused clearly', async () => {
    await assert.rejects(collect(readPcapStream(Readable.from(['abc']))), { code: ERROR_CODES.FILE_IO });
    const reader = readPcapStream(Readable.from([buildPcap([])]));
    await collect(reader);
    await assert.rejects(collect(reader), { code: ERROR_CODES.INTERNAL });
  });

  it('after an error the parser stays failed', () => {
    const parser = new PcapStreamParser();
    assert.throws(() => parser.push(Buffer.from('garbage!'), []));
    assert.throws(() => parser.push(buildPcap([]), []), /bad magic/);
  });
});
