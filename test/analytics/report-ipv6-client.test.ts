/**
 * `tapline report dump.pcap --parquet`: the client column of exchanges captured over IPv6 is the client's
 * address (`2001:db8::a:1`), not the 4 address bytes gor's id carries read as IPv4 (`0.10.0.1`); IPv4 clients
 * keep their id-derived address. A raw-IP pcap written here: one IPv6 and one IPv4 connection, each from its
 * SYN, one exchange each, read back by DuckDB.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { ipv4, ipv6, tcp } from '../../src/capture/decode/testkit.js';
import { buildPcap, type PcapRecordInput } from '../../src/capture/pcap-writer.js';
import { runTapline } from '../support/cli.js';

const LINKTYPE_RAW = 101;
const dir = mkdtempSync(join(tmpdir(), 'tapline-report-ipv6-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** One connection from its SYN to one answered request; `wrap` puts a TCP segment in its IP header. */
function connection(wrap: (segment: Buffer, fromClient: boolean) => Buffer, path: string, t0: bigint) {
  const req = `GET ${path} HTTP/1.1\r\nHost: h\r\n\r\n`;
  const res = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
  const c = (seq: number, ack: number, flags: number, payload = '') =>
    wrap(tcp({ srcPort: 40000, dstPort: 80, seq, ack, flags, payload }), true);
  const s = (seq: number, ack: number, flags: number, payload = '') =>
    wrap(tcp({ srcPort: 80, dstPort: 40000, seq, ack, flags, payload }), false);
  const frames = [
    c(100, 0, 0x02),
    s(500, 101, 0x12),
    c(101, 501, 0x10),
    c(101, 501, 0x18, req),
    s(501, 101 + req.length, 0x18, res),
  ];
  return frames.map((data, i): PcapRecordInput => ({ tsNs: t0 + BigInt(i) * 1_000_000n, data }));
}

async function clients(file: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    return (
      await connection.runAndReadAll(`SELECT client, path FROM '${file}' ORDER BY path`)
    ).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

test('report over a pcap: an IPv6 client is shown as its address, not as the id bytes read as IPv4', async () => {
  const t0 = 1_700_000_000_000_000_000n;
  const v6 = connection(
    (seg, fromClient) =>
      ipv6(
        seg,
        fromClient ? { src: '2001:db8::a:1', dst: '2001:db8::2' } : { src: '2001:db8::2', dst: '2001:db8::a:1' },
      ),
    '/six',
    t0,
  );
  const v4 = connection(
    (seg, fromClient) =>
      ipv4(seg, fromClient ? { src: '10.0.0.9', dst: '10.0.0.2' } : { src: '10.0.0.2', dst: '10.0.0.9' }),
    '/four',
    t0 + 1_000_000_000n,
  );
  const pcap = join(dir, 'mixed.pcap');
  writeFileSync(pcap, buildPcap([...v6, ...v4], { linkType: LINKTYPE_RAW }));
  const parquet = join(dir, 'mixed.parquet');
  const res = await runTapline(['report', pcap, '--parquet', parquet], { timeoutMs: 30_000 });
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(await clients(parquet), [
    { client: '10.0.0.9', path: '/four' },
    { client: '2001:db8::a:1', path: '/six' },
  ]);
});
