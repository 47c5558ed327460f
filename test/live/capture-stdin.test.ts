/**
 * `--input-raw -`: a capture read from standard input, as `tcpdump -r -` reads one (`tcpdump -w - | tapline
 * --input-raw -:80`). A pcap piped in gives its messages; on a terminal, or named twice, it is a usage error;
 * live (root), tcpdump's packets on lo become messages while tcpdump still runs, and SIGINT to tapline alone
 * ends the run at once with its summary (stdin is let go, not waited on). And `dump.pcap.gz`, read as tshark
 * reads it: decompressed as it comes.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ethernet } from '../../src/capture/decode/testkit.js';
import { buildPcap } from '../../src/capture/pcap-writer.js';
import { type Exchange, segments, timed } from '../../src/inputs/raw/testkit.js';
import { cliArgv, cliShell, noScript, runTapline, waitFor } from '../support/cli.js';

const isRoot = process.getuid?.() === 0;
const noTcpdump = spawnSync('tcpdump', ['--version']).error !== undefined;
const liveSkip = !isRoot ? 'live capture needs root' : noTcpdump ? 'tcpdump is not installed' : false;

function pcap(): Buffer {
  const x: Exchange = {
    method: 'GET',
    path: 'from-stdin',
    requestBody: Buffer.alloc(0),
    status: 200,
    responseBody: Buffer.from('piped'),
    chunked: false,
  };
  const packets = timed(segments([x, x], [1400], [1000, 5000]));
  return buildPcap(packets.map((p) => ({ tsNs: p.tsNs, data: ethernet(p.data.subarray(14)) })));
}

describe('--input-raw - (a capture on standard input)', () => {
  it('reads a pcap piped in, with ports and without', async () => {
    for (const address of ['-:8080', '-']) {
      const r = await runTapline(['--input-raw', address, '--input-raw-track-response', '--output-stdout'], {
        stdin: pcap(),
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.toString().match(/^GET \/from-stdin HTTP/gm)?.length, 2, r.stdout.toString());
      assert.equal(r.stdout.toString().match(/^piped$/gm)?.length, 2);
      assert.match(r.stderr, new RegExp(`input-raw\\(${address}\\): .*requests 2, responses 2`));
    }
  });

  it('a gzip-compressed capture file (dump.pcap.gz) is read; one that is not gzip data says so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tapline-gz-'));
    try {
      const good = join(dir, 'dump.pcap.gz');
      writeFileSync(good, gzipSync(pcap()));
      const r = await runTapline(['--input-raw', `${good}:8080`, '--input-raw-track-response', '--output-stdout']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.toString().match(/^GET \/from-stdin HTTP/gm)?.length, 2);
      assert.match(r.stderr, /requests 2, responses 2/);
      const bad = join(dir, 'plain.pcap.gz');
      writeFileSync(bad, pcap());
      const b = await runTapline(['--input-raw', `${bad}:8080`, '--output-null']);
      assert.equal(b.code, 1);
      assert.match(b.stderr, /plain\.pcap\.gz: cannot read capture: incorrect header check \(Z_DATA_ERROR\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('named twice, or on a terminal, is a usage error saying what to do', async () => {
    const twice = await runTapline(['--input-raw', '-:80', '--input-raw', '-:8080', '--output-null'], {
      stdin: pcap(),
    });
    assert.equal(twice.code, 2);
    assert.match(twice.stderr, /-:80 and -:8080 both read standard input: .*name it once \(several ports: -:80,8080\)/);
    const withFile = await runTapline(['--input-raw', '-', '--input-file', '/dev/stdin', '--output-null'], {
      stdin: pcap(),
    });
    assert.equal(withFile.code, 2);
    assert.match(
      withFile.stderr,
      /- and --input-file \/dev\/stdin both read standard input: .*save one of them to a file/,
    );
    if (noScript) return;
    // script(1) gives the CLI a terminal as standard input.
    const tty = spawnSync('script', ['-qec', cliShell('--input-raw', '-:80', '--output-null'), '/dev/null'], {
      encoding: 'utf8',
      timeout: 30_000,
      input: '',
    });
    assert.equal(tty.status, 2, tty.stdout);
    assert.match(tty.stdout, /"-" reads a capture from standard input, which is the terminal here: pipe one in/);
  });

  it('tcpdump -w - | tapline --input-raw -:PORT: messages while tcpdump runs; SIGINT ends the run', {
    skip: liveSkip,
    timeout: 60_000,
  }, async () => {
    const server = http.createServer((req, res) => res.end(`answer to ${req.url}`));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    let tcpdump: ChildProcess | undefined;
    let tapline: ChildProcess | undefined;
    try {
      // tcpdump's stdout is tapline's stdin, as the shell's pipe makes it (this process never reads it).
      const [node, ...args] = cliArgv('--input-raw', `-:${port}`, '--input-raw-track-response', '--output-stdout');
      tapline = spawn(node!, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      tapline.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
      });
      tapline.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
      });
      const exited = new Promise<number | null>((resolve) => tapline!.on('close', (code) => resolve(code)));
      tcpdump = spawn('tcpdump', ['-i', 'lo', '-U', '-n', '-w', '-', `tcp port ${port}`], {
        stdio: ['ignore', tapline.stdin!, 'pipe'],
      });
      tapline.stdin!.destroy(); // tcpdump holds the write end now
      let dumpErr = '';
      tcpdump.stderr!.on('data', (d: Buffer) => {
        dumpErr += d.toString();
      });
      await waitFor(() => /listening on/.test(dumpErr), 10_000);
      for (let i = 0; i < 3; i++) {
        await new Promise<void>((resolve, reject) => {
          http
            .get({ host: '127.0.0.1', port, path: `/live-${i}`, agent: false }, (res) => {
              res.resume();
              res.on('end', resolve);
            })
            .on('error', reject);
        });
      }
      // Read as they come: tcpdump is still capturing, its pipe open.
      await waitFor(() => (out.match(/^answer to \/live-\d$/gm)?.length ?? 0) === 3, 20_000).catch((e) => {
        throw new Error(`${e}: ${out} ${err}`);
      });
      assert.equal(tcpdump.exitCode, null);
      tapline.kill('SIGINT');
      const timer = setTimeout(() => tapline?.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(timer);
      assert.equal(code, 0, err);
      assert.match(err, new RegExp(`input-raw\\(-:${port}\\): .*requests 3, responses 3`));
      assert.deepEqual(out.match(/^GET \/live-\d/gm), ['GET /live-0', 'GET /live-1', 'GET /live-2']);
    } finally {
      tapline?.kill('SIGKILL');
      tcpdump?.kill('SIGTERM');
      server.close();
    }
  });
});
