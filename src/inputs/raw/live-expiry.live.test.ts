/**
 * --input-raw-expire on a real capture of `lo` (root): a connection is idle on the packets' clock, not the
 * wall clock. Packets reach tapline late when the engine holds them (a long --input-raw-buffer-timeout: the
 * kernel hands a ring block over when full or that old) or when tapline is held up (its event loop blocked,
 * the process stopped); expiring at the wall clock gave up busy connections whose next packets were waiting:
 * each came back as a new connection picked up mid-stream, its answers unmatched.
 *
 * The server and the client run in a child process (the second test blocks this thread), the client sending
 * one request at a time on one kept-open connection, each after the previous answer and a pause.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { DEFAULT_SNAPLEN } from '../../capture/types.js';
import { memoryLogger } from '../../core/log.js';
import type { Message } from '../../core/message.js';
import { parseRawAddress } from './address.js';
import { RAW_INPUT_DEFAULTS, rawInput } from './raw-input.js';
import { openAfPacketSource } from './sources.js';

const isRoot = process.getuid?.() === 0;
const skip = isRoot ? false : 'live capture needs root (CAP_NET_RAW); run the suite as root';

/** Prints the server's port, waits for 'go' on stdin, runs `count` exchanges `gapMs` apart, prints 'done'. */
const PEERS = `
const http = require('node:http'), net = require('node:net');
const [count, gapMs] = process.argv.slice(1).map(Number);
const server = http.createServer((req, res) => { req.resume(); req.on('end', () => res.end('ok' + req.url)); });
server.listen(0, '127.0.0.1', () => {
  console.log(server.address().port);
  process.stdin.once('data', () => {
    const s = net.connect(server.address().port, '127.0.0.1');
    let k = 0, got = '';
    const send = () => s.write('GET /r' + k + ' HTTP/1.1\\r\\nHost: lo\\r\\n\\r\\n');
    s.on('connect', send);
    s.on('data', (d) => {
      got += d;
      if (!got.endsWith('ok/r' + k)) return;
      got = '';
      if (++k < count) setTimeout(send, gapMs);
      else { s.end(); server.close(); console.log('done'); }
    });
  });
});
setTimeout(() => process.exit(3), 30000).unref();
`;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Captures one connection of `count` exchanges; `during` runs while they go on. */
async function run(
  count: number,
  gapMs: number,
  o: { timeoutMs?: number; expireNs: bigint },
  during: () => Promise<void> = async () => {},
): Promise<{ msgs: Message[]; stats: Record<string, number | string> }> {
  const peers: ChildProcess = spawn(process.execPath, ['-e', PEERS, String(count), String(gapMs)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  try {
    const [first] = (await once(peers.stdout!, 'data')) as [Buffer];
    const port = Number(first.toString().trim());
    const address = parseRawAddress(`127.0.0.1:${port}`);
    const source = openAfPacketSource(address, {
      trackResponse: true,
      promiscuous: false,
      snaplen: DEFAULT_SNAPLEN,
      bufferSize: undefined,
      timeoutMs: o.timeoutMs,
      ignoreInterfaces: [],
      vlan: false,
      vlanIds: [],
      bpfFilter: '',
    });
    const input = rawInput({
      ...RAW_INPUT_DEFAULTS,
      address,
      open: async () => source,
      expireNs: o.expireNs,
      log: memoryLogger(),
      name: 'input-raw(live-expiry)',
    });
    const msgs: Message[] = [];
    const reading = (async () => {
      for await (const batch of input.read()) msgs.push(...batch);
    })();
    const done = new Promise<void>((resolve) =>
      peers.stdout!.on('data', (d: Buffer) => d.includes('done') && resolve()),
    );
    peers.stdin!.write('go\n');
    await during();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([done, new Promise((r) => (timer = setTimeout(r, 20_000)))]);
    clearTimeout(timer);
    await pause(200);
    await input.close(); // af_packet delivers the block it was filling at once
    await reading;
    return { msgs, stats: input.stats!() };
  } finally {
    peers.kill();
  }
}

function check({ msgs, stats }: { msgs: Message[]; stats: Record<string, number | string> }, count: number): void {
  const requests = msgs.filter((m) => m.meta.type === '1');
  const responses = msgs.filter((m) => m.meta.type === '2');
  const said = JSON.stringify(stats);
  assert.equal(requests.length, count, said);
  assert.equal(responses.length, count, said);
  assert.equal(stats.connections, 1, `one connection, never given up while busy: ${said}`);
  assert.equal(stats.unmatched_responses, 0, said);
  assert.equal(stats.requests_unanswered_at_close, 0, said);
  assert.equal(stats.incomplete_expired, 0, said);
  // Each answer has its own request's id (the server echoes the path).
  const pathOf = new Map(requests.map((m) => [m.meta.id, m.data.toString('latin1').split(' ')[1]]));
  for (const r of responses) assert.ok(r.data.toString('latin1').endsWith(`ok${pathOf.get(r.meta.id)}`));
}

describe('--input-raw-expire on the packets clock, live on lo', { skip, timeout: 60_000 }, () => {
  it('a read timeout longer than the expire time (2s, 1s) does not split a busy connection', async () => {
    // Requests every ~300 ms for ~5 s: handed over in 2 s blocks, each connection's newest packet read was up
    // to 2.3 s old by the wall clock before the next block came (it was given up at 1 s: 3 connections).
    const count = 16;
    check(await run(count, 300, { timeoutMs: 2000, expireNs: 1_000_000_000n }), count);
  });

  it('a blocked event loop (2.5 s, expire 1 s) does not split a busy connection', async () => {
    // The kernel keeps capturing into the ring meanwhile; the first expiry tick after the block ran before
    // those packets were read.
    const count = 60;
    const block = async () => {
      await pause(500);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2500);
    };
    check(await run(count, 50, { expireNs: 1_000_000_000n }, block), count);
  });
});
