/**
 * --output-binary against targets on loopback that reset a replayed connection after reading nothing or part of
 * it, while tapline has nothing left in its own buffer (every turn taken by the kernel, so nothing is `failed`):
 * the turns the kernel took that the target's TCP never acknowledged are counted as not_acknowledged, named in
 * the error line, and the run exits 1 (it exited 0, all counted as sent). A target that reads everything and
 * closes or resets is no false alarm; without the addon (TAPLINE_TCP_ACK=off) the old counting stays.
 *
 * Exact: the target's first connection waits until its kernel has stopped receiving, reads its own
 * tcpi_bytes_received (R, through the same addon on its side), then resets. Every turn is F bytes, so the turns
 * acknowledged there are floor(R / F); the turns that come later (timestamps 2 s on) go on a new connection,
 * read to its end. Skipped, and said, where the tapline_net addon is not built.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { netAddon } from '../../src/net/tcp-ack.js';
import { listenLocal, readAllPeer, resettingPeer, runOneOutput } from '../support/resetting-peer.js';

const addon = netAddon();
const dir = mkdtempSync(join(tmpdir(), 'tapline-binary-unacked-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Turn size, turns in the first burst (2 MB: the kernels take it all), turns 2 s later. */
const F = 1000;
const BURST = 2000;
const LATER = 50;

/** One original connection: BURST turns at once, then LATER turns 2 s on (or `payloads` given). */
function gorFile(name: string, payloads?: Buffer[]): string {
  const turns = payloads ?? Array.from({ length: BURST + LATER }, (_, i) => Buffer.from(`${i}`.padStart(F, '.')));
  const start = 1_700_000_000_000_000_000n;
  const records = turns.map((payload, i) => {
    const id = `9c401f907f000001${i.toString(16).padStart(8, '0')}`;
    const ts = start + BigInt(i) + (i >= BURST ? 2_000_000_000n : 0n);
    return Buffer.concat([Buffer.from(`1 ${id} ${ts} 0\n`), payload, Buffer.from('\n🐵🙈🙉\n')]);
  });
  const file = join(dir, name);
  writeFileSync(file, Buffer.concat(records));
  return file;
}

function replay(input: string, port: number, extra: string[] = [], env: Record<string, string> = {}) {
  return runOneOutput(['--input-file', input, '--output-binary', `127.0.0.1:${port}`, '--stats', ...extra], env);
}

describe('output-binary: turns the target never acknowledged', {
  skip: addon ? false : 'tapline_net is not built',
}, () => {
  const timed = addon ? gorFile('timed.gor') : '';

  for (const readFirst of [0, 50 * F]) {
    it(`a target that reads ${readFirst === 0 ? 'nothing' : 'part'} and resets: the unacknowledged turns are counted exactly, exit 1`, async () => {
      const { server, state } = resettingPeer(readFirst);
      const port = await listenLocal(server);
      try {
        const out = await replay(timed, port);
        const acknowledged = Math.floor(state.receivedFirst / F);
        const later = state.laterBytes / F;
        assert.equal(state.connections, 2, out.stderr);
        assert.ok(
          acknowledged < BURST,
          `the target reset before having the burst (it received ${state.receivedFirst})`,
        );
        // Nothing was left in tapline's buffer: without the acknowledgement every turn counted as sent, exit 0.
        assert.equal(out.stats.failed, 0, out.stderr);
        assert.equal(out.stats.sent, BURST + LATER, out.stderr);
        assert.equal(later, LATER, out.stderr);
        assert.equal(out.stats.not_acknowledged, BURST - acknowledged, out.stderr);
        assert.equal(out.code, 1, out.stderr);
        assert.match(
          out.stderr,
          new RegExp(
            `error: output-binary\\(127\\.0\\.0\\.1:${port}\\): ${BURST - acknowledged} message\\(s\\) not delivered \\(${BURST - acknowledged} not acknowledged by the peer`,
          ),
        );
        assert.match(out.stderr, /not acknowledged \d+/, 'in the summary line');
      } finally {
        server.close();
      }
    });
  }

  it('a target that reads everything, then closes or resets: nothing counted, exit 0', async () => {
    const total = BURST * F;
    const input = `${gorFile(
      'burst.gor',
      Array.from({ length: BURST }, (_, i) => Buffer.from(`${i}`.padStart(F, '-'))),
    )}|max`;
    for (const ending of ['close', 'reset'] as const) {
      const { server, state } = readAllPeer(total, ending);
      const port = await listenLocal(server);
      try {
        const out = await replay(input, port);
        assert.equal(state.got, total, out.stderr);
        assert.equal(out.stats.sent, BURST, out.stderr);
        assert.equal(out.stats.not_acknowledged, 0, out.stderr);
        assert.equal(out.code, 0, out.stderr);
      } finally {
        server.close();
      }
    }
  });

  it('-track-response: a turn the kernel took but the target never acknowledged is no_reply and not_acknowledged; with TAPLINE_TCP_ACK=off only no_reply, exit 0', async () => {
    // 512 KB: more than the target's receive window while it reads nothing, less than the kernel takes.
    const input = `${gorFile('big-turn.gor', [Buffer.alloc(512 * 1024, 7)])}|max`;
    for (const ack of ['on', 'off'] as const) {
      const { server } = resettingPeer(0);
      const port = await listenLocal(server);
      try {
        const env: Record<string, string> = ack === 'off' ? { TAPLINE_TCP_ACK: 'off' } : {};
        const out = await replay(input, port, ['--output-binary-track-response'], env);
        assert.equal(out.stats.sent, 1, out.stderr);
        assert.equal(out.stats.no_reply, 1, out.stderr);
        assert.equal(out.stats.not_acknowledged, ack === 'on' ? 1 : 0, out.stderr);
        assert.equal(out.code, ack === 'on' ? 1 : 0, out.stderr);
      } finally {
        server.close();
      }
    }
  });
});
