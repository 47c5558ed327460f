/**
 * --output-tcp / --output-ws against peers that reset a connection after reading nothing or part of it: the
 * messages the kernel took but the peer's TCP never acknowledged are counted as not_acknowledged, named in an
 * error line, and the run exits 1; a peer that reads everything and then closes or resets is no false alarm.
 *
 * Exact: each peer waits until its kernel has stopped receiving (the window is full or nothing more comes),
 * reads its own tcpi_bytes_received (R, through the same addon on the other socket), then resets. Every frame
 * has the same size F, so the frames the peer's TCP acknowledged are floor(R / F) and the rest of what was sent
 * on that connection must be counted. Skipped, and said, where the tapline_net addon is not built.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SEPARATOR } from '../../src/core/gor-format.js';
import { netAddon } from '../../src/net/tcp-ack.js';
import { acceptKey, messageFrame } from '../../src/net/ws-dial.js';
import { listenLocal, readAllPeer, receivedWhenQuiet, resettingPeer, runOneOutput } from '../support/resetting-peer.js';

const addon = netAddon();
const COUNT = 2000;

/** Record i, all of the same size (the id and the body padded). */
function record(i: number): { meta: string; data: Buffer; bytes: Buffer } {
  const meta = `1 ${i.toString(16).padStart(24, '0')} ${1_700_000_000_000_000_000n + BigInt(i)} 0`;
  const body = `${i}`.padStart(900, '.');
  const data = Buffer.from(`POST /item HTTP/1.1\r\nHost: example\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  return { meta, data, bytes: Buffer.concat([Buffer.from(`${meta}\n`), data, SEPARATOR]) };
}
const records = Array.from({ length: COUNT }, (_, i) => record(i));
const input = join(tmpdir(), `tapline-unacked-${process.pid}.gor`);
writeFileSync(input, Buffer.concat(records.map((r) => r.bytes)));

function forward(flag: string, target: string, env: Record<string, string> = {}) {
  return runOneOutput(['--input-file', input, flag, target, `${flag}-workers`, '1', '--stats'], env);
}

describe('forwarding: messages the peer never acknowledged', {
  skip: addon ? false : 'tapline_net is not built',
}, () => {
  // 'Part': 50 frames. Reading half (1 MB) let the peer's receive window grow until its TCP acknowledged the
  // whole file before the reset, and the test found nothing to count (1 run in 2 on a loaded machine).
  for (const readFirst of [0, 50 * records[0]!.bytes.length]) {
    it(`--output-tcp, a peer that reads ${readFirst === 0 ? 'nothing' : 'part'} and resets: the unacknowledged rest is counted exactly, exit 1`, async () => {
      const { server, state } = resettingPeer(readFirst);
      const port = await listenLocal(server);
      try {
        const out = await forward('--output-tcp', `127.0.0.1:${port}`);
        const frame = records[0]!.bytes.length;
        const acknowledged = Math.floor(state.receivedFirst / frame);
        const later = state.laterBytes / frame;
        assert.ok(acknowledged < COUNT, 'the peer reset before having everything');
        // What the kernel took on the first connection, less what the peer's TCP acknowledged there.
        assert.equal(out.stats.not_acknowledged, out.stats.sent! - later - acknowledged, out.stderr);
        assert.ok(out.stats.not_acknowledged! > 0);
        assert.equal(out.code, 1, out.stderr);
        assert.match(
          out.stderr,
          new RegExp(
            `error: output-tcp\\(127\\.0\\.0\\.1:${port}\\): \\d+ message\\(s\\) not delivered \\(.*${out.stats.not_acknowledged} not acknowledged by the peer`,
          ),
        );
      } finally {
        server.close();
      }
    });
  }

  it('a peer that reads everything, then resets or closes: nothing counted, exit 0', async () => {
    const total = COUNT * records[0]!.bytes.length;
    for (const ending of ['reset', 'close'] as const) {
      const { server, state } = readAllPeer(total, ending);
      const port = await listenLocal(server);
      try {
        const out = await forward('--output-tcp', `127.0.0.1:${port}`);
        assert.equal(state.got, total, out.stderr);
        assert.equal(out.stats.not_acknowledged, 0, out.stderr);
        assert.equal(out.code, 0, out.stderr);
      } finally {
        server.close();
      }
    }
  });

  it('without the addon (TAPLINE_TCP_ACK=off) the old counting stays: nothing known, exit 0', async () => {
    const { server } = resettingPeer(0);
    const port = await listenLocal(server);
    try {
      const out = await forward('--output-tcp', `127.0.0.1:${port}`, { TAPLINE_TCP_ACK: 'off' });
      assert.equal(out.stats.not_acknowledged, 0, out.stderr);
      assert.equal(out.code, 0, out.stderr);
    } finally {
      server.close();
    }
  });

  it('--output-ws, a peer that takes the upgrade, reads nothing and resets: counted exactly (upgrade bytes aside)', async () => {
    let upgradeBytes = -1;
    let acknowledgedStream = -1;
    const server = createServer((socket) => {
      socket.on('error', () => undefined);
      let head = Buffer.alloc(0);
      const onData = (d: Buffer) => {
        head = Buffer.concat([head, d]);
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) return;
        socket.off('data', onData);
        socket.pause();
        upgradeBytes = end + 4; // the client sends frames only after the 101
        const key = /sec-websocket-key: *(\S+)/i.exec(head.toString('latin1'))![1]!;
        socket.write(
          `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`,
        );
        void receivedWhenQuiet(socket).then((r) => {
          acknowledgedStream = r;
          socket.resetAndDestroy();
        });
      };
      socket.on('data', onData);
    });
    const port = await listenLocal(server);
    try {
      const out = await forward('--output-ws', `ws://127.0.0.1:${port}/`);
      const frame = messageFrame(records[0]!.meta, records[0]!.data).length;
      const acknowledged = Math.floor((acknowledgedStream - upgradeBytes) / frame);
      assert.ok(upgradeBytes > 0 && acknowledged < COUNT);
      assert.equal(out.stats.not_acknowledged, out.stats.sent! - acknowledged, out.stderr);
      assert.equal(out.code, 1, out.stderr);
    } finally {
      server.close();
    }
  });
});
