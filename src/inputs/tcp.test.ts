/**
 * --input-tcp's stop, with a real peer on loopback: records this process already read from the kernel (waiting
 * in a paused socket's buffer because the pipeline was full) still come out, and a record cut off by the stop
 * is counted and said as the stop's doing, not the peer's.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { SEPARATOR } from '../core/gor-format.js';
import { memoryLogger } from '../core/log.js';
import type { Message } from '../core/message.js';
import { tcpInput } from './tcp.js';

function records(from: number, count: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = from; i < from + count; i++) {
    const id = i.toString(16).padStart(24, '0');
    parts.push(
      Buffer.from(`1 ${id} ${1_700_000_000_000_000_000n + BigInt(i)} 0\nGET /${i} HTTP/1.1\r\n\r\n`),
      SEPARATOR,
    );
  }
  return Buffer.concat(parts);
}

/** Resolves once the kernel has taken everything written to `socket`, and the receiving side had time to read. */
async function written(socket: ReturnType<typeof connect>, bytes: Buffer): Promise<void> {
  await new Promise<void>((resolve, reject) => socket.write(bytes, (err) => (err ? reject(err) : resolve())));
  await new Promise((resolve) => setTimeout(resolve, 200));
}

describe('input-tcp stop', () => {
  it('passes on what a paused connection already read, and names a record the stop cut off', async () => {
    const log = memoryLogger();
    // Capacity 1: the first chunk's records fill the channel, the connection is paused, and the next chunk
    // waits in the socket's own buffer (read from the kernel, not yet parsed).
    const input = await tcpInput({ listen: { host: '127.0.0.1', port: 0 }, log, capacity: 1 });
    const peer = connect({ host: '127.0.0.1', port: input.port });
    peer.on('error', () => undefined);
    try {
      await once(peer, 'connect');
      await written(peer, records(0, 50));
      await written(peer, Buffer.concat([records(50, 50), Buffer.from('1 ffff 1700000000000000000 0\nGET /cut')]));
      const reading = input.read();
      await input.close();
      const got: Message[] = [];
      for await (const batch of reading) got.push(...batch);
      assert.equal(got.length, 100, 'every whole record the connection had read');
      assert.deepEqual(
        got.map((m) => m.data.toString()),
        Array.from({ length: 100 }, (_, i) => `GET /${i} HTTP/1.1\r\n\r\n`),
      );
      const stats = input.stats!();
      assert.equal(stats.messages, 100);
      assert.equal(stats.unterminated_dropped, 1);
      const warning = log.lines.find((l) => l.includes('unterminated_dropped')) ?? '';
      assert.match(warning, /the run stopped while record 101 \(offset \d+\) from 127\.0\.0\.1:\d+ was arriving/);
    } finally {
      peer.destroy();
      await input.close();
    }
  });
});
