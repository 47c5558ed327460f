/**
 * Packets the kernel dropped, live on lo (root): tapline is stopped (SIGSTOP) while a client sends 1,200
 * requests with 2 KB answers, far more than its smallest ring (--input-raw-buffer-size 1: raised to two 128 KiB
 * blocks, and said so) holds; resumed and stopped, it must say how many packets the kernel dropped and what to
 * do, as tcpdump's 'N packets dropped by kernel' line does, not only count them in the summary.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { kernelDropWarning } from '../../src/inputs/raw/raw-input.js';
import { collect, startTapline, waitForStderr } from '../support/cli.js';

const isRoot = process.getuid?.() === 0;
const skip = isRoot ? false : 'live capture needs root (CAP_NET_RAW); run the suite as root';

const REQUESTS = 1200;
const SOCKETS = 4;

async function send(port: number): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: SOCKETS });
  const one = () =>
    new Promise<void>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/a', agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        })
        .on('error', reject);
    });
  try {
    for (let i = 0; i < REQUESTS; i += SOCKETS) await Promise.all(Array.from({ length: SOCKETS }, one));
  } finally {
    agent.destroy();
  }
}

describe('kernel drops', () => {
  it('the end-of-run line: count, share, advice; none without drops', () => {
    assert.equal(kernelDropWarning({ kernel_received: 10, kernel_dropped: 0 }, 'advice'), null);
    assert.equal(kernelDropWarning({ packets: 10 }, 'advice'), null);
    const text = kernelDropWarning({ kernel_received: 400, kernel_dropped: 100 }, 'Do this');
    assert.match(text!, /^100 packets dropped by kernel \(25\.0% of the 400 it received\): .* Do this$/);
    assert.match(kernelDropWarning({ kernel_received: 1e6, kernel_dropped: 1 }, undefined)!, /under 0\.1%/);
  });

  it('a capture that fell behind says so at the end, naming --input-raw-buffer-size', {
    skip,
    timeout: 60_000,
  }, async () => {
    const server = http.createServer((_req, res) => res.end('x'.repeat(2000)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const child = startTapline([
      '--input-raw',
      `127.0.0.1:${port}`,
      '--input-raw-track-response',
      '--input-raw-buffer-size',
      '1',
      '--output-null',
      '--verbose',
      '1',
    ]);
    const done = collect(child, 50_000);
    try {
      await waitForStderr(child, /BPF Filter:/);
      child.kill('SIGSTOP');
      try {
        await send(port);
      } finally {
        child.kill('SIGCONT');
      }
      // Said while the run goes on (a long capture should not wait for its end), once.
      await waitForStderr(child, /: the kernel is dropping packets \(\d+ so far\)/);
      child.kill('SIGINT');
      const { code, stderr } = await done;
      assert.equal(stderr.split('the kernel is dropping packets').length, 2, stderr);
      assert.equal(code, 0, stderr);
      const name = `input-raw\\(127\\.0\\.0\\.1:${port}\\)`;
      assert.match(
        stderr,
        new RegExp(
          `warning: ${name}: --input-raw-buffer-size 1 B is less than the smallest ring the af_packet engine makes ` +
            '\\(2 blocks of 128 KiB for a 65736-byte snaplen\\): the ring is 256 KiB',
        ),
      );
      const said = stderr.match(new RegExp(`warning: ${name}: (\\d+) packets dropped by kernel \\(.*\\): (.*)`));
      assert.ok(said, stderr);
      assert.match(said[2]!, /--input-raw-buffer-size, 256 KiB now/);
      const counted = stderr.match(/kernel dropped (\d+)/);
      assert.equal(said[1], counted?.[1], 'the warning and the summary give the same number');
      assert.ok(Number(said[1]) > 0);
    } finally {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
      await done;
      server.close();
    }
  });

  it('the libpcap engine: a buffer below two packets is warned about when the input is made', { skip }, async () => {
    const child = startTapline([
      '--input-raw',
      'lo:1',
      '--input-raw-engine',
      'libpcap',
      '--input-raw-buffer-size',
      '1',
      '--output-null',
      '--exit-after',
      '1s',
    ]);
    // Said before the input opens: also where libpcap is missing and the input then fails.
    const { stderr } = await collect(child, 30_000);
    assert.match(
      stderr,
      /warning: input-raw\(lo:1\): --input-raw-buffer-size 1 B holds less than two packets of the 65736-byte snaplen: libpcap makes the smallest ring it can of it/,
    );
  });
});
