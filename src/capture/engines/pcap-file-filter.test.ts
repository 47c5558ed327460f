// --input-raw-bpf-filter on capture files: libpcap compiles the expression (it must be installed, as for the
// flag on a live interface), the interpreter applies it; the CLI refuses a bad expression before the run.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runTapline } from '../../../test/support/cli.js';
import { ERROR_CODES, TaplineError } from '../../core/errors.js';
import { ethernet, ipv4, tcp } from '../decode/testkit.js';
import { buildPcap } from '../pcap-writer.js';
import { LinkType } from '../types.js';
import { libpcapAvailable, libpcapStatus } from './libpcap.js';
import { type PcapFileWarning, readPcapBuffer } from './pcap-file.js';
import { bpfFileFilter } from './pcap-file-filter.js';
import { epb, idb, shb } from './pcap-file-testkit.js';

const SKIP: string | false = libpcapAvailable()
  ? false
  : `libpcap is not available: ${libpcapStatus().error?.message ?? 'unknown reason'}`;
const tmp = mkdtempSync(join(tmpdir(), 'tapline-pcap-filter-'));

/** One request on port `port` from 10.0.0.`host`, as an IPv4 packet. */
function request(port: number, host: number, path: string): Buffer {
  const payload = `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;
  return ipv4(tcp({ srcPort: 40000 + host, dstPort: port, seq: 1, ack: 1, payload }), {
    src: `10.0.0.${host}`,
    dst: '10.0.0.100',
  });
}

/** Packets 1-4 on ports 80, 81, 80, 81 (hosts 1-4); packet 4 says it had 100 more bytes on the wire. */
function mixedPorts(): Buffer {
  const frames = [request(80, 1, '/a'), request(81, 2, '/b'), request(80, 3, '/c'), request(81, 4, '/d')];
  const file = buildPcap(frames.map((ip, i) => ({ tsNs: BigInt(i + 1) * 1_000_000n, data: ethernet(ip) })));
  const fourth = 24 + frames.slice(0, 3).reduce((n, ip) => n + 16 + 14 + ip.length, 0);
  file.writeUInt32LE(14 + frames[3]!.length + 100, fourth + 12);
  return file;
}

describe('bpfFileFilter', { skip: SKIP }, () => {
  it('delivers only the packets the expression accepts, counts the rest, numbers packets as tshark does', () => {
    const warnings: PcapFileWarning[] = [];
    const { packets, stats } = readPcapBuffer(mixedPorts(), {
      name: 'm.pcap',
      filter: bpfFileFilter('tcp dst port 81'),
      onWarning: (w) => warnings.push(w),
    });
    assert.deepEqual(
      packets.map((p) => p.data.readUInt16BE(14 + 20 + 2)),
      [81, 81],
    );
    assert.equal(stats.packets, 2);
    assert.equal(stats.filtered, 2);
    // The cut packet is named by its place in the file, filtered packets included (not "packet 2").
    assert.deepEqual(
      warnings.map((w) => w.where.replace(/ \(offset \d+\)$/, '')),
      ['m.pcap:packet 4'],
    );
  });

  it('applies one expression to every link type of a pcapng file (compiled for each)', () => {
    const file = Buffer.concat([
      shb(),
      idb(LinkType.ETHERNET, 65535),
      idb(LinkType.RAW, 65535),
      epb(0, 1n, ethernet(request(80, 1, '/eth-1'))),
      epb(1, 2n, request(80, 1, '/raw-1')),
      epb(0, 3n, ethernet(request(80, 2, '/eth-2'))),
      epb(1, 4n, request(80, 2, '/raw-2')),
    ]);
    const { packets, stats } = readPcapBuffer(file, { filter: bpfFileFilter('src host 10.0.0.2') });
    assert.deepEqual(
      packets.map((p) => p.linkType),
      [LinkType.ETHERNET, LinkType.RAW],
    );
    assert.equal(stats.filtered, 2);
  });

  it('an expression libpcap refuses for the link type is a usage error naming it', () => {
    const file = buildPcap([{ tsNs: 1n, data: request(80, 1, '/') }], { linkType: LinkType.RAW });
    assert.throws(
      () => readPcapBuffer(file, { name: 'raw.pcap', filter: bpfFileFilter('ether host 00:11:22:33:44:55') }),
      (err: unknown) => {
        assert.ok(err instanceof TaplineError);
        assert.equal(err.code, ERROR_CODES.USAGE);
        assert.match(err.message, /link type 101/);
        return true;
      },
    );
  });
});

describe('--input-raw-bpf-filter with a capture file (CLI)', { skip: SKIP }, () => {
  const path = join(tmp, 'ports.pcap');
  writeFileSync(path, mixedPorts());

  it('filters the file as gor (libpcap) does, and counts what it left out', async () => {
    const r = await runTapline([
      '--input-raw',
      path,
      '--input-raw-bpf-filter',
      'tcp dst port 80',
      '--input-raw-allow-incomplete',
      '--output-stdout',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const paths = [...r.stdout.toString('latin1').matchAll(/^GET (\S+)/gm)].map((m) => m[1]);
    assert.deepEqual(paths, ['/a', '/c']);
    assert.match(r.stderr, /bpf filtered 2/);
  });

  it('a bad expression is a usage error before the run (exit 2), for a file and a live interface alike', async () => {
    for (const input of [path, 'lo:1']) {
      const r = await runTapline([
        '--input-raw',
        input,
        '--input-raw-bpf-filter',
        'tcp port',
        '--output-null',
        '--exit-after',
        '5s',
      ]);
      assert.equal(r.code, 2, `${input}: ${r.stderr}`);
      assert.match(r.stderr, /--input-raw-bpf-filter: invalid BPF filter expression "tcp port"/);
      assert.match(r.stderr, /TAPLINE_ERR_USAGE/);
    }
  });
});
