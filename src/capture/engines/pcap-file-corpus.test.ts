/**
 * The reader and the decoder against the shared corpus of real captures (../shared/corpus from the repo
 * root) and their tshark truth files: packet counts, timestamps and the addresses of every HTTP message.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { describe, it } from 'node:test';
import { CORPUS_DIR, corpusFiles } from '../../../test/support/corpus.js';
import { createDecoder } from '../decode/decoder.js';
import type { DecodedSegment } from '../decode/segment.js';
import type { RawPacket } from '../types.js';
import { openPcapFile, type PcapFileWarning, PcapStreamParser } from './pcap-file.js';

const CORPUS = `${CORPUS_DIR}/`;

interface TruthMessage {
  frame: number;
  time: string;
  src: string;
  dst: string;
}

interface Truth {
  capture: { file_type: string; encapsulation: string; packets: number };
  requests: TruthMessage[];
  responses: TruthMessage[];
}

// corpusFiles() throws when the corpus is missing: a skipped corpus test would hide a broken CI layout.
const files = corpusFiles(['.pcap', '.pcapng', '.cap']).map((f) => basename(f));

function endpoint(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function epochNs(time: string): bigint {
  const [sec = '0', frac = ''] = time.split('.');
  return BigInt(sec) * 1_000_000_000n + BigInt(frac.padEnd(9, '0').slice(0, 9));
}

describe('corpus', () => {
  /** Which link layers the corpus exercised, to check coverage at the end. */
  const layers = new Set<string>();

  for (const file of files) {
    it(file, async () => {
      const truth = JSON.parse(readFileSync(`${CORPUS}${file}.truth.json`, 'utf8')) as Truth;
      const warnings: PcapFileWarning[] = [];
      const reader = openPcapFile(`${CORPUS}${file}`, { onWarning: (w) => warnings.push(w) });
      const decoder = createDecoder();
      const packets: RawPacket[] = [];
      const segments: Array<DecodedSegment | null> = [];
      for await (const batch of reader) {
        for (const p of batch) {
          packets.push(p);
          segments.push(decoder.decode(p));
        }
      }
      decoder.finish();

      assert.equal(packets.length, truth.capture.packets, 'packet count (capinfos)');
      assert.equal(reader.format, truth.capture.file_type);
      assert.deepEqual(warnings, []);

      const messages = [...truth.requests, ...truth.responses];
      const httpPorts = new Set(truth.requests.map((m) => Number(m.dst.slice(m.dst.lastIndexOf(':') + 1))));
      for (const m of messages) {
        const p = packets[m.frame - 1];
        assert.ok(p, `frame ${m.frame} exists`);
        assert.equal(p.tsNs, epochNs(m.time), `time of frame ${m.frame}`);
        const s = segments[m.frame - 1];
        assert.ok(s, `frame ${m.frame} decodes to a TCP segment (dropped: ${decoder.lastDrop})`);
        assert.equal(`${endpoint(s.srcIp, s.srcPort)} -> ${endpoint(s.dstIp, s.dstPort)}`, `${m.src} -> ${m.dst}`);
      }
      const onHttpPorts = segments.filter((s) => s && (httpPorts.has(s.dstPort) || httpPorts.has(s.srcPort)));
      assert.ok(onHttpPorts.length > 0, 'TCP segments on the HTTP ports');

      layers.add(truth.capture.encapsulation);
      for (const s of onHttpPorts) {
        if (s!.vlanIds.length === 1) layers.add('vlan');
        if (s!.vlanIds.length >= 2) layers.add('qinq');
        if (s!.vni >= 0) layers.add('vxlan');
      }

      // The same bytes in odd-sized chunks give the same packets (stitching across block boundaries).
      const parser = new PcapStreamParser(file);
      const again: RawPacket[] = [];
      const bytes = readFileSync(`${CORPUS}${file}`);
      for (let i = 0; i < bytes.length; i += 997) parser.push(bytes.subarray(i, i + 997), again);
      assert.equal(parser.end(), null);
      assert.deepEqual(
        again.map((p) => p.tsNs),
        packets.map((p) => p.tsNs),
      );
      assert.equal(
        again.reduce((a, p) => a + p.data.length, 0),
        packets.reduce((a, p) => a + p.data.length, 0),
      );
    });
  }

  it('covers every link layer the corpus has', () => {
    for (const layer of ['ether', 'vlan', 'qinq', 'linux-sll', 'linux-sll2', 'null', 'rawip', 'nflog', 'vxlan']) {
      assert.ok(layers.has(layer), `${layer} decoded (seen: ${[...layers].join(', ')})`);
    }
  });
});
