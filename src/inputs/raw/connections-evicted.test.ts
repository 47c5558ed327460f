/**
 * More connections open at once than the assembler follows (200,000): the least recently active are given up.
 * A real connection whose request was in progress then showed only as 'incomplete expired', which sends the
 * user to --input-raw-expire (a flag that changes nothing here); nothing said connections had been given up.
 * The summary now has connections_evicted and the run ends with a warning saying what it means.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runTapline } from '../../../test/support/cli.js';
import { evictionWarning } from './raw-input.js';

/** An IPv4/TCP packet (no checksums: the decoder does not check them). */
function tcp4(
  src: number,
  dst: number,
  sport: number,
  dport: number,
  seq: number,
  ack: number,
  flags: number,
  data = '',
) {
  const payload = Buffer.from(data, 'latin1');
  const b = Buffer.alloc(40 + payload.length);
  b.writeUInt8(0x45, 0);
  b.writeUInt16BE(b.length, 2);
  b.writeUInt8(64, 8);
  b.writeUInt8(6, 9);
  b.writeUInt32BE(src >>> 0, 12);
  b.writeUInt32BE(dst >>> 0, 16);
  b.writeUInt16BE(sport, 20);
  b.writeUInt16BE(dport, 22);
  b.writeUInt32BE(seq >>> 0, 24);
  b.writeUInt32BE(ack >>> 0, 28);
  b.writeUInt8(5 << 4, 32);
  b.writeUInt8(flags, 33);
  b.writeUInt16BE(65535, 34);
  payload.copy(b, 40);
  return b;
}

/** A classic pcap of raw IP packets (link type 101), 1 µs apart. */
function pcap(packets: Buffer[]): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(65535, 16);
  head.writeUInt32LE(101, 20);
  const parts: Buffer[] = [head];
  packets.forEach((p, i) => {
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(1_700_000_000, 0);
    rec.writeUInt32LE(i, 4);
    rec.writeUInt32LE(p.length, 8);
    rec.writeUInt32LE(p.length, 12);
    parts.push(rec, p);
  });
  return Buffer.concat(parts);
}

const SYN = 0x02;
const ACK = 0x10;
const PSH_ACK = 0x18;
const SYN_ACK = 0x12;

describe('input-raw: connections given up by the connection cap', () => {
  it('are counted and said at the end, naming the cap; none: no word', { timeout: 120_000 }, async () => {
    const server = 0x0a000002;
    const client = 0x0a090909;
    const head = 'POST /real HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n';
    const packets = [
      tcp4(client, server, 5555, 80, 1000, 0, SYN),
      tcp4(server, client, 80, 5555, 7000, 1001, SYN_ACK),
      tcp4(client, server, 5555, 80, 1001, 7001, ACK),
      tcp4(client, server, 5555, 80, 1001, 7001, PSH_ACK, head),
    ];
    const flood = 200_010;
    for (let i = 0; i < flood; i++) packets.push(tcp4(0x0b000000 + i, server, 1024 + (i % 60_000), 80, 1, 0, SYN));
    packets.push(tcp4(client, server, 5555, 80, 1001 + head.length, 7001, PSH_ACK, '0123456789'));
    const dir = mkdtempSync(join(tmpdir(), 'tapline-evicted-'));
    try {
      const file = join(dir, 'flood.pcap');
      writeFileSync(file, pcap(packets));
      const r = await runTapline(['--input-raw', `${file}:80`, '--output-null'], { timeoutMs: 100_000 });
      assert.equal(r.code, 0, r.stderr);
      // 200,011 opened, 11 given up; the real connection's last segment opens it again, mid-stream, a 12th out.
      assert.match(r.stderr, /connections 200012, connections evicted 12, incomplete expired 1,/);
      const lines = r.stderr.split('\n').filter((l) => l.includes('were given up while still open'));
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /warning: input-raw\(.*flood\.pcap:80\): 12 connection\(s\) .* more than 200,000 were/);
      assert.match(lines[0]!, /incomplete_expired/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.equal(evictionWarning({ connections: 5, connections_evicted: 0 }), null);
  });
});
