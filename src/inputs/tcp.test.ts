/**
 * --input-tcp's stop, with a real peer on loopback: records this process already read from the kernel (waiting
 * in a paused socket's buffer because the pipeline was full) still come out, and a record cut off by the stop
 * is counted and said as the stop's doing, not the peer's. And --input-tcp-memory-budget: peers sending records
 * that never end have them dropped, the largest first, while the other peers' records come through whole.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { SEPARATOR } from '../core/gor-format.js';
import { memoryLogger } from '../core/log.js';
import type { Message } from '../core/message.js';
import { tcpInput, tcpMemoryBudget } from './tcp.js';

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

describe('input-tcp: a stream that starts with a UTF-8 byte order mark', () => {
  it("skips the mark with a warning: the first record keeps its type 1 and offsets stay the stream's", async () => {
    const log = memoryLogger();
    const input = await tcpInput({ listen: { host: '127.0.0.1', port: 0 }, log });
    const peer = connect({ host: '127.0.0.1', port: input.port });
    peer.on('error', () => undefined);
    try {
      await once(peer, 'connect');
      const bad = Buffer.from('1 x\nGET / HTTP/1.1\r\n\r\n');
      await written(peer, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), records(0, 2), bad, SEPARATOR]));
      const reading = input.read();
      await input.close();
      const got: Message[] = [];
      for await (const batch of reading) got.push(...batch);
      assert.deepEqual(
        got.map((m) => m.meta.type),
        ['1', '1'],
      );
      assert.equal(input.stats!().bom_skipped, 1);
      assert.ok(
        log.lines.some((l) =>
          /from 127\.0\.0\.1:\d+: the stream starts with a UTF-8 byte order mark \(EF BB BF\)/.test(l),
        ),
        log.lines.join('\n'),
      );
      // The bad third record's offset counts the mark: a byte of the stream as the peer sent it.
      const offset = 3 + records(0, 2).length;
      assert.ok(
        log.lines.some((l) => l.includes(`record 3 (offset ${offset}) skipped`)),
        log.lines.join('\n'),
      );
    } finally {
      peer.destroy();
      await input.close();
    }
  });
});

/** `1 <id> <ts> 0\n` and then `size` bytes of payload, no separator: a record that has not ended yet. */
function endless(id: number, size: number): Buffer {
  return Buffer.concat([
    Buffer.from(`1 ${id.toString(16).padStart(24, '0')} 1700000000000000000 0\nPOST / HTTP/1.1\r\n\r\n`),
    Buffer.alloc(size, 0x61),
  ]);
}

describe('--input-tcp-memory-budget', () => {
  it('drops the largest records still arriving when all of them pass the budget, naming the peer', async () => {
    const log = memoryLogger();
    const budget = tcpMemoryBudget(256 * 1024, log);
    const input = await tcpInput({ listen: { host: '127.0.0.1', port: 0 }, log, budget });
    const big = [0, 1, 2].map(() => connect({ host: '127.0.0.1', port: input.port }));
    const small = connect({ host: '127.0.0.1', port: input.port });
    const peers = [...big, small];
    for (const p of peers) p.on('error', () => undefined);
    try {
      await Promise.all(peers.map((p) => once(p, 'connect')));
      const ports = big.map((p) => p.localPort); // gone once the stop closed the connections
      // Each big peer's record alone passes the budget: each is dropped once, whatever the interleaving.
      await Promise.all(big.map((p, i) => written(p, endless(1000 + i, 400 * 1024))));
      await written(small, records(0, 10));
      // The dropped records' rest is skipped to their separator; what follows is read as usual.
      await Promise.all(
        big.map((p, i) => written(p, Buffer.concat([Buffer.alloc(1000, 0x61), SEPARATOR, records(10 + i, 1)]))),
      );
      const reading = input.read();
      await input.close();
      const got: string[] = [];
      for await (const batch of reading) got.push(...batch.map((m) => m.data.toString()));
      assert.deepEqual(
        got.sort(),
        Array.from({ length: 13 }, (_, i) => `GET /${i} HTTP/1.1\r\n\r\n`).sort(),
        'every whole record, none of the dropped ones',
      );
      const stats = input.stats!();
      assert.equal(stats.dropped_memory_budget, 3);
      assert.equal(stats.unterminated_dropped, 0);
      assert.equal(budget.total, 0, 'nothing left held');
      const warnings = log.lines.filter((l) => l.includes('dropped_memory_budget'));
      assert.equal(warnings.length, 3);
      for (const port of ports) {
        assert.ok(
          warnings.some((w) => w.includes(`record 1 from 127.0.0.1:${port} `)),
          `a warning names peer ${port}: ${warnings.join(' | ')}`,
        );
      }
    } finally {
      for (const p of peers) p.destroy();
      await input.close();
    }
  });

  it('at the stop, forgets a large record still arriving without joining it (the stop was seconds late)', async () => {
    const log = memoryLogger();
    const input = await tcpInput({ listen: { host: '127.0.0.1', port: 0 }, log });
    const peer = connect({ host: '127.0.0.1', port: input.port });
    peer.on('error', () => undefined);
    const concat = Buffer.concat;
    let joined = 0;
    try {
      await once(peer, 'connect');
      await written(peer, endless(1, 16 * 1024 * 1024));
      Buffer.concat = (list: readonly Uint8Array[], length?: number) => {
        const out = concat(list, length);
        joined = Math.max(joined, out.length);
        return out;
      };
      await input.close();
      Buffer.concat = concat;
      assert.equal(input.stats!().unterminated_dropped, 1);
      assert.ok(joined < 1024 * 1024, `the stop joined ${joined} bytes of a record it drops`);
    } finally {
      Buffer.concat = concat;
      peer.destroy();
      await input.close();
    }
  });
});

describe('--input-tcp addresses it cannot listen on', () => {
  it('say why in words that point at the fix, not Node\'s "listen EINVAL: invalid argument"', async () => {
    for (const [host, why] of [
      ['fe80::1', /an IPv6 link-local address needs its interface: \[fe80::1%eth0\]:PORT/],
      [
        '192.0.2.77',
        /the address is not one of this machine \(give one of its addresses, or :PORT for every interface\)/,
      ],
    ] as const) {
      await assert.rejects(
        tcpInput({ listen: { host, port: 0 }, log: memoryLogger() }),
        (e: Error) => why.test(e.message) && !/EINVAL|EADDRNOTAVAIL/.test(e.message),
        host,
      );
    }
  });
});
