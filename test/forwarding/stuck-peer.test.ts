/**
 * --output-tcp to a peer that accepts the connection and never reads (a hung aggregator): the run is stopped
 * (--exit-after) while the link's queue is full and the pipeline waits on it. It must end by itself (it hung for
 * ever: the pipeline waited for room that never came, so close() and its 5 s bound were never reached), and
 * every message must be accounted for: `sent` is what the kernel took (the peer gets exactly those once it
 * reads), the rest is `lost at close`, named in a warning that says the peer was connected but not reading.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SEPARATOR } from '../../src/core/gor-format.js';
import { startDeafPeer } from '../support/deaf-peer.js';
import { requestRecord, startPeer } from './peers.js';

/** A request record with a 4 KiB body, so that a few thousand overflow every socket buffer on the way. */
function bigRecord(i: number): Buffer {
  const record = requestRecord(i);
  const at = record.length - SEPARATOR.length;
  return Buffer.concat([record.subarray(0, at), Buffer.alloc(4096, 0x61), SEPARATOR]);
}

const count = (text: string, name: string): number => {
  const m = new RegExp(`\\b${name} (\\d+)\\b(?! bytes)`).exec(text);
  return m ? Number(m[1]) : 0;
};

describe('output-tcp to a peer that never reads', () => {
  it('a stop ends the run by itself; sent + lost at close = written, and the peer holds exactly `sent`', async () => {
    const peer = await startDeafPeer();
    const port = peer.port;
    const input = join(tmpdir(), `tapline-stuck-${process.pid}.gor`);
    writeFileSync(input, Buffer.concat(Array.from({ length: 8000 }, (_, i) => bigRecord(i))));
    try {
      const sender = startPeer([
        '--input-file',
        `${input}|max`,
        '--output-tcp',
        `127.0.0.1:${port}`,
        '--output-tcp-workers',
        '1',
        '--exit-after',
        '1s',
      ]);
      let timer: NodeJS.Timeout | undefined;
      const ended = await Promise.race([
        sender.exited,
        new Promise<undefined>((resolve) => {
          timer = setTimeout(() => resolve(undefined), 30_000);
        }),
      ]);
      clearTimeout(timer);
      if (!ended) sender.child.kill('SIGKILL');
      assert.ok(ended, `the run did not end by itself within 30s\n${sender.stderr()}`);
      // What was lost at close makes the run exit 1, named in an error line.
      assert.equal(ended.code, 1, sender.stderr());
      const err = sender.stderr();
      assert.match(err, /error: output-tcp\(.*\): \d+ message\(s\) not delivered \(\d+ at close\)/);
      assert.match(err, /message\(s\) never sent: the peer took nothing more within 5000ms of the end \(connected/);
      const written = Number(/(\d+) written;/.exec(err)?.[1]);
      const sent = count(err, 'sent');
      const lost = count(err, 'lost at close');
      assert.ok(lost > 0 && sent > 0, err);
      assert.equal(sent + lost, written, err);

      // What the kernel took reaches the peer once it reads: exactly `sent` records, none more.
      const socket = peer.sockets[0]!;
      let bytes = Buffer.alloc(0);
      socket.on('data', (d: Buffer) => {
        bytes = Buffer.concat([bytes, d]);
      });
      const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
      socket.resume();
      await closed;
      let records = 0;
      for (let at = bytes.indexOf(SEPARATOR); at !== -1; at = bytes.indexOf(SEPARATOR, at + 1)) records++;
      assert.equal(records, sent);
    } finally {
      peer.close();
      rmSync(input, { force: true });
    }
  });
});
