/**
 * `--input-raw-workers` live on `lo` (root): two CLIs capture the same traffic at the same time, one with a
 * single thread and one with 2 workers (PACKET_FANOUT). Many keep-alive connections; both must write the
 * same set of messages (type, id, payload; timestamps too, within what two sockets differ by), and the
 * kernel's hash must have put connections on both workers without splitting one (a split connection would
 * lose or break messages, which the set comparison would show).
 *
 * Timestamps: each packet socket stamps a packet when it receives it (the kernel leaves loopback packets
 * unstamped unless some socket asked for SO_TIMESTAMP), so the two captures' clocks differ by microseconds.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Message } from '../../src/core/message.js';
import { collect, runTapline, startTapline, waitForStderr } from '../support/cli.js';
import { readGorFile } from '../support/gor.js';

const isRoot = process.getuid?.() === 0;
const skip = isRoot ? false : 'live capture needs root (CAP_NET_RAW); run the suite as root';

const CONNECTIONS = 24;
const REQUESTS_PER_CONNECTION = 5;

function startServer(): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const size = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('size') ?? 0);
    req.resume();
    req.on('end', () => res.end(Buffer.alloc(size, 0x61)));
  });
  server.keepAliveTimeout = 10_000;
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function get(url: string, agent: http.Agent): Promise<void> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        res.resume();
        res.on('end', resolve);
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

/** One line per message: type, id and a digest of its payload. */
function fingerprints(msgs: Message[]): string[] {
  return msgs.map((m) => `${m.meta.type} ${m.meta.id} ${createHash('sha256').update(m.data).digest('hex')}`).sort();
}

/** The same message's timestamps in two captures: apart by at most what two sockets' clocks differ. */
function assertSameTimes(a: Message[], b: Message[]): void {
  const times = new Map(a.map((m) => [`${m.meta.type} ${m.meta.id}`, m.meta.timestampNs]));
  for (const m of b) {
    const t = times.get(`${m.meta.type} ${m.meta.id}`);
    assert.ok(t !== undefined);
    const apart = t > m.meta.timestampNs ? t - m.meta.timestampNs : m.meta.timestampNs - t;
    assert.ok(apart < 50_000_000n, `${m.meta.line}: ${apart} ns from the one-thread capture's ${t}`);
  }
}

describe('--input-raw-workers on lo', { skip, timeout: 60_000 }, () => {
  it('2 workers write the same messages as 1, and both workers get connections', async () => {
    const server = await startServer();
    const port = (server.address() as AddressInfo).port;
    const dir = mkdtempSync(join(tmpdir(), 'tapline-workers-'));
    try {
      const runs = [1, 2].map((workers) => {
        const out = join(dir, `w${workers}.gor`);
        const child = startTapline([
          '--input-raw',
          `127.0.0.1:${port}`,
          '--input-raw-track-response',
          '--input-raw-workers',
          String(workers),
          '--input-raw-stats',
          '--output-file',
          out,
          '--output-file-append',
          '--verbose',
          '1',
        ]);
        return { out, child, started: waitForStderr(child, /BPF Filter:/, 20_000), done: collect(child, 40_000) };
      });
      await Promise.all(runs.map((r) => r.started));
      // Each client its own keep-alive connection; sizes from empty to several segments.
      await Promise.all(
        Array.from({ length: CONNECTIONS }, async (_, c) => {
          const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
          for (let i = 0; i < REQUESTS_PER_CONNECTION; i++) {
            await get(`http://127.0.0.1:${port}/c${c}/r${i}?size=${(c * 7919 + i * 104729) % 200_000}`, agent);
          }
          agent.destroy();
        }),
      );
      await new Promise((r) => setTimeout(r, 300)); // the ring's block timeout is 10 ms
      for (const r of runs) r.child.kill('SIGINT');
      const results = await Promise.all(runs.map((r) => r.done));
      for (const res of results) assert.equal(res.code, 0, res.stderr);

      const [one, two] = runs.map((r) => readGorFile(r.out));
      const total = CONNECTIONS * REQUESTS_PER_CONNECTION;
      assert.equal(one!.filter((m) => m.meta.type === '1').length, total, results[0]!.stderr);
      assert.equal(one!.filter((m) => m.meta.type === '2').length, total, results[0]!.stderr);
      assert.deepEqual(fingerprints(two!), fingerprints(one!));
      assertSameTimes(one!, two!);

      const stats = results[1]!.stderr.match(/final capture stats: .*/)?.[0] ?? '';
      const spread = stats.match(/worker_connections=(\d+)\/(\d+)/);
      assert.ok(spread, `no worker_connections in: ${results[1]!.stderr}`);
      assert.equal(Number(spread[1]) + Number(spread[2]), CONNECTIONS, stats);
      assert.ok(Number(spread[1]) > 0 && Number(spread[2]) > 0, `both workers got connections: ${stats}`);
      assert.match(stats, /kernel_dropped=0 /);
      assert.match(stats, / gaps=0 /);
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses workers with a pcap file or the libpcap engine, and a bad count', async () => {
    for (const args of [
      ['--input-raw', 'x.pcap', '--input-raw-workers', '2'],
      ['--input-raw', ':80', '--input-raw-engine', 'libpcap', '--input-raw-workers', '2'],
      ['--input-raw', ':80', '--input-raw-workers', '0'],
    ]) {
      const res = await runTapline([...args, '--output-null']);
      assert.equal(res.code, 2, res.stderr);
      assert.match(res.stderr, /--input-raw-workers/);
    }
  });

  it('a worker that cannot capture stops the input with its error (no stack trace)', async () => {
    const res = await runTapline(['--input-raw', 'nosuch0:80', '--input-raw-workers', '2', '--output-null']);
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /"nosuch0" is neither an interface .* \(TAPLINE_ERR_BAD_ADDRESS\)/);
    assert.doesNotMatch(res.stderr, /\n\s+at /);
  });
});
