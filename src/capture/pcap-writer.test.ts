import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { ERROR_CODES } from '../core/errors.js';
import { readPcapBuffer } from './engines/pcap-file.js';
import { buildPcap, encodePcapHeader, PcapWriter } from './pcap-writer.js';

describe('pcap writer', () => {
  it('writes the header tcpdump writes', () => {
    assert.equal(encodePcapHeader().toString('hex'), 'd4c3b2a10200040000000000000000000000040001000000');
    assert.equal(
      encodePcapHeader({ nanosecond: true, bigEndian: true, linkType: 276, snaplen: 65535 }).toString('hex'),
      'a1b23c4d000200040000000000000000' + '0000ffff00000114',
    );
  });

  it('streams into a Writable, header first, and reads back exactly', async () => {
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on('data', (c: Buffer) => chunks.push(c));
    const w = new PcapWriter(sink, { nanosecond: true });
    w.write({ tsNs: 1_700_000_000_000_000_001n, data: Buffer.from('abc') });
    w.write({ tsNs: 1_700_000_000_000_000_002n, data: Buffer.from('de'), origLen: 1500 });
    await w.end();
    const { packets } = readPcapBuffer(Buffer.concat(chunks));
    assert.deepEqual(
      packets.map((p) => [p.tsNs, p.data.toString(), p.origLen]),
      [
        [1_700_000_000_000_000_001n, 'abc', 3],
        [1_700_000_000_000_000_002n, 'de', 1500],
      ],
    );
  });

  it('an empty writer still produces a valid file', async () => {
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on('data', (c: Buffer) => chunks.push(c));
    await new PcapWriter(sink).end();
    assert.equal(readPcapBuffer(Buffer.concat(chunks)).packets.length, 0);
  });

  it('µs files truncate sub-microsecond digits; out-of-range times are refused', () => {
    const { packets } = readPcapBuffer(buildPcap([{ tsNs: 1_999_999n, data: Buffer.alloc(1) }]));
    assert.equal(packets[0]!.tsNs, 1_999_000n);
    for (const tsNs of [-1n, 2n ** 32n * 1_000_000_000n]) {
      assert.throws(() => buildPcap([{ tsNs, data: Buffer.alloc(1) }]), { code: ERROR_CODES.BAD_PACKET });
    }
  });
});
