/**
 * The vxlan engine for real: the CLI listens on a UDP port of 127.0.0.1's machine, and this test sends it
 * VXLAN datagrams (RFC 7348 header + inner Ethernet frame) carrying whole TCP/HTTP conversations, as a traffic
 * mirror would. No privileges needed. Checked: the messages of the allowed VNI, whole and paired; the other
 * VNI and malformed datagrams counted, not turned into messages.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { vxlan } from '../../src/capture/decode/testkit.js';
import { openVxlan } from '../../src/capture/engines/vxlan.js';
import { TunnelKind, tunnelId } from '../../src/capture/types.js';
import { kernelDropWarning } from '../../src/inputs/raw/raw-input.js';
import { conversation, type Exchange } from '../../src/inputs/raw/testkit.js';
import { collect, startTapline, waitForStderr } from '../support/cli.js';
import { readGorFile } from '../support/gor.js';
import { parseHttp } from '../support/http.js';

function exchange(path: string, responseSize: number, requestBody = ''): Exchange {
  return {
    method: requestBody ? 'POST' : 'GET',
    path,
    requestBody: Buffer.from(requestBody),
    status: 200,
    responseBody: Buffer.alloc(responseSize, 0x62),
    chunked: false,
  };
}

async function send(socket: Socket, port: number, datagrams: Buffer[]): Promise<void> {
  for (const d of datagrams) {
    await new Promise<void>((resolve, reject) => socket.send(d, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
  }
}

/** A UDP port free right now (bound and released): the flag's 0 means 4789, as in gor. */
async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(resolve));
  return port;
}

describe('--input-raw-engine vxlan', { timeout: 30_000 }, () => {
  it('the CLI turns VXLAN datagrams of the allowed VNI into requests and responses', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tapline-vxlan-'));
    const sender = createSocket('udp4');
    try {
      const port = await freeUdpPort();
      const out = join(dir, 'out.gor');
      const child = startTapline([
        '--input-raw',
        ':8080',
        '--input-raw-engine',
        'vxlan',
        '--input-raw-vxlan-port',
        String(port),
        '--input-raw-vxlan-vni',
        '7',
        '--input-raw-track-response',
        '--input-raw-stats',
        '--output-file',
        out,
        '--output-file-append',
        '--verbose',
        '1',
      ]);
      const done = collect(child, 20_000);
      await waitForStderr(child, new RegExp(`VXLAN listener: udp 0\\.0\\.0\\.0:${port} \\(VNI 7\\)`));
      const kept = [exchange('a', 10), exchange('b', 5000, 'x=1'), exchange('c', 0)];
      const other = [exchange('filtered', 10)];
      await send(sender, port, [
        ...conversation(other).map((p) => vxlan(p.data, 9)),
        Buffer.from('short'), // shorter than a VXLAN header
        ...conversation(kept).map((p) => vxlan(p.data, 7)),
      ]);
      await new Promise((r) => setTimeout(r, 500));
      child.kill('SIGINT');
      const result = await done;
      assert.equal(result.code, 0, result.stderr);

      const msgs = readGorFile(out);
      const requests = msgs.filter((m) => m.meta.type === '1');
      const responses = msgs.filter((m) => m.meta.type === '2');
      assert.deepEqual(
        requests.map((m) => parseHttp(m.data).target),
        ['/a', '/b', '/c'],
      );
      assert.deepEqual(parseHttp(requests[1]!.data).body, Buffer.from('x=1'));
      assert.deepEqual(
        responses.map((m) => parseHttp(m.data).body.length),
        [10, 5000, 0],
      );
      assert.deepEqual(
        responses.map((m) => m.meta.id),
        requests.map((m) => m.meta.id),
      );
      const stats = result.stderr.match(/final capture stats: .*/)?.[0] ?? '';
      assert.match(stats, new RegExp(`vxlan_port=${port} `));
      assert.match(stats, / vxlan_filtered=\d+ /);
      assert.doesNotMatch(stats, / vxlan_filtered=0 /);
      assert.match(stats, / vxlan_malformed=1 /);
      assert.match(stats, / vxlan_dropped=0 /);
      assert.match(stats, / requests=3 responses=3 /);
    } finally {
      sender.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--input-raw-bpf-filter picks inner frames, the others counted (it was ignored without a word)', async () => {
    const sender = createSocket('udp4');
    try {
      const port = await freeUdpPort();
      const child = startTapline([
        '--input-raw',
        ':8080',
        '--input-raw-engine',
        'vxlan',
        '--input-raw-vxlan-port',
        String(port),
        '--input-raw-bpf-filter',
        'tcp port 1',
        '--input-raw-stats',
        '--output-stdout',
        '--verbose',
        '1',
      ]);
      const done = collect(child, 20_000);
      await waitForStderr(child, /VXLAN listener: .* BPF Filter: tcp port 1$/m);
      const packets = conversation([exchange('not-port-1', 10)]);
      await send(
        sender,
        port,
        packets.map((p) => vxlan(p.data, 7)),
      );
      await new Promise((r) => setTimeout(r, 500));
      child.kill('SIGINT');
      const result = await done;
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.length, 0, 'the conversation on port 8080 is not "tcp port 1"');
      assert.match(result.stderr, new RegExp(` bpf_filtered=${packets.length}\\b`));
    } finally {
      sender.close();
    }
  });

  it('a port in use is a clear CAPTURE_FAILED naming the flag', async () => {
    const holder = createSocket('udp4');
    await new Promise<void>((resolve) => holder.bind(0, '0.0.0.0', resolve));
    try {
      await assert.rejects(openVxlan({ port: holder.address().port }), (e: unknown) => {
        const err = e as { code: string; where: string; message: string };
        assert.equal(err.code, 'TAPLINE_ERR_CAPTURE_FAILED');
        assert.equal(err.where, '--input-raw-vxlan-port');
        assert.match(err.message, /in use/);
        return true;
      });
    } finally {
      holder.close();
    }
  });

  it('close() delivers what was received, then ends; stats count every datagram', async () => {
    const capture = await openVxlan({ port: await freeUdpPort(), vnis: [-5] });
    const sender = createSocket('udp4');
    try {
      const frame = Buffer.alloc(60, 1);
      await send(sender, capture.port, [vxlan(frame, 4), vxlan(frame, 5), vxlan(frame, 6, 0), vxlan(frame, 3)]);
      const deadline = Date.now() + 5000;
      while (capture.stats().datagrams < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      capture.close();
      const got = [];
      for await (const batch of capture.packets) got.push(...batch);
      assert.equal(got.length, 2);
      assert.deepEqual(got[0]!.data, frame);
      assert.equal(got[0]!.linkType, 1);
      // The VNI goes with the frame: part of its connection's identity, as when the decoder unwraps VXLAN.
      assert.deepEqual(
        got.map((p) => p.tunnel),
        [tunnelId(TunnelKind.VXLAN_VNI, 4), tunnelId(TunnelKind.VXLAN_VNI, 3)],
      );
      assert.deepEqual(capture.stats(), {
        datagrams: 4,
        delivered: 2,
        malformed: 1,
        filtered: 1,
        bpfFiltered: 0,
        dropped: 0,
        kernelDropped: 0,
      });
    } finally {
      sender.close();
      capture.close();
    }
  });

  it('datagrams the kernel dropped (receive buffer full) are counted and said at the end', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tapline-vxlan-drops-'));
    const capture = await openVxlan({ port: await freeUdpPort(), bufferSize: 4096 });
    try {
      // Another process sends while this one's event loop is held, so nothing reads the socket meanwhile.
      const sent = join(dir, 'sent');
      const script =
        "const s = require('node:dgram').createSocket('udp4'); const d = Buffer.alloc(1400); d[0] = 8; let n = 0;" +
        `const next = () => n++ < 500 ? s.send(d, ${capture.port}, '127.0.0.1', next) : ` +
        `(require('node:fs').writeFileSync(${JSON.stringify(sent)}, ''), s.close()); next();`;
      const sender = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
      const until = Date.now() + 20_000;
      const nap = new Int32Array(new SharedArrayBuffer(4));
      while (!existsSync(sent) && Date.now() < until) Atomics.wait(nap, 0, 0, 10);
      await new Promise((r) => sender.once('exit', r));
      const dropped = capture.stats().kernelDropped;
      assert.ok(dropped !== null && dropped > 0, `kernelDropped ${dropped}`);
      capture.close();
      for await (const _ of capture.packets);
      assert.equal(capture.stats().kernelDropped, dropped, 'kept after the socket closed');
      assert.match(
        kernelDropWarning({ kernel_dropped: dropped }, undefined)!,
        new RegExp(`^${dropped} packets dropped by kernel`),
      );
    } finally {
      capture.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
