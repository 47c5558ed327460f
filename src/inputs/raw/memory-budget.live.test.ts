/**
 * --input-raw-memory-budget on a real capture of `lo` (root): ten connections to a real server each start an
 * upload and stop half-way, so all ten are in progress at once; then one after the other finishes. Each upload
 * (400 KiB) is far below --input-raw-max-size, but their sum passes the 1 MiB budget while the first ones
 * finish: each upload cut is emitted as an intact, marked prefix; the others, and every response, arrive whole. Run with the native fast path (the default) and without it.
 *
 *   phase 1: conn 0..9 send head + 100 KiB         held 1,000 KiB (under 1,024)
 *   phase 2: conn 0 sends 300 KiB more, slowly     passes 1,024 at ~124 KiB: conn 0 cut, 900 held
 *            conn 1 …                              passes at ~224 KiB: cut, 800 held
 *            conn 2 …                              passes at ~324 KiB: cut, 700 held
 *            conn 3 … 9                            600 + 400 at most: whole
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { memoryLogger } from '../../core/log.js';
import type { Message } from '../../core/message.js';
import { openLiveInput } from './index.js';

const isRoot = process.getuid?.() === 0;
const skip = isRoot ? false : 'live capture needs root (CAP_NET_RAW); run the suite as root';

const KB = 1024;
const CONNS = 10;
const FIRST = 100 * KB;
const BODY = 400 * KB;
const BUDGET = 1024 * KB;
const EXPECTED_CUTS = 3;
const PIECE = 8 * KB;

function body(i: number): Buffer {
  return Buffer.alloc(BODY, 0x61 + i);
}

function head(i: number): Buffer {
  return Buffer.from(`POST /up/${i} HTTP/1.1\r\nHost: lo\r\nContent-Length: ${BODY}\r\n\r\n`, 'latin1');
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function write(s: Socket, bytes: Buffer): Promise<void> {
  if (!s.write(bytes)) await new Promise((r) => s.once('drain', r));
}

/** Captures lo:port while the uploads run; returns every message and the counters. */
async function run(port: number): Promise<{ msgs: Message[]; stats: Record<string, number | string> }> {
  // Uploads wait their turn idle (longer than the 2 s default expiry when the machine is loaded): not expired here.
  const input = openLiveInput(`127.0.0.1:${port}`, {
    log: memoryLogger(),
    memoryBudget: BUDGET,
    expireNs: 60_000_000_000n,
  });
  const msgs: Message[] = [];
  const reading = (async () => {
    for await (const batch of input.read()) msgs.push(...batch);
  })();
  const sockets: Socket[] = [];
  const answered: Promise<void>[] = [];
  try {
    for (let i = 0; i < CONNS; i++) {
      const s = connect(port, '127.0.0.1');
      await new Promise((r) => s.once('connect', r));
      let got = '';
      answered.push(
        new Promise((resolve) =>
          s.on('data', (d: Buffer) => {
            got += d.toString('latin1');
            if (got.endsWith('\r\n\r\nok')) resolve();
          }),
        ),
      );
      sockets.push(s);
      await write(s, Buffer.concat([head(i), body(i).subarray(0, FIRST)]));
    }
    await pause(200); // every upload half-way, captured
    for (let i = 0; i < CONNS; i++) {
      // Slowly, a few KiB a batch: the fast path sees the body grow past the budget before it is whole.
      const rest = body(i).subarray(FIRST);
      for (let at = 0; at < rest.length; at += PIECE) {
        await write(sockets[i]!, rest.subarray(at, at + PIECE));
        await pause(2);
      }
      await pause(50); // the capture reads it before the next connection goes on
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(answered), new Promise((r) => (timer = setTimeout(r, 10_000)))]);
    clearTimeout(timer);
    await pause(200); // the ring's block timeout is 10 ms
  } finally {
    for (const s of sockets) s.destroy();
    await input.close();
    await reading;
  }
  return { msgs, stats: input.stats!() };
}

/**
 * Which uploads are cut depends on when the capture sees each piece (the native path checks the budget once per
 * packet batch), so the test does not name them: it checks that the budget cut some (the plan above: 3), that
 * the counter says how many, that each cut one is an intact prefix past the first 100 KiB, marked, and that every
 * other upload and every response is whole.
 */
function check({ msgs, stats }: { msgs: Message[]; stats: Record<string, number | string> }): void {
  const requests = msgs.filter((m) => m.meta.type === '1');
  assert.equal(requests.length, CONNS);
  const cut = requests.filter((m) => m.meta.line.includes('incomplete'));
  assert.equal(stats.cut_memory_budget, cut.length, JSON.stringify(stats));
  assert.ok(cut.length >= 1 && cut.length <= EXPECTED_CUTS + 2, `${cut.length} cut: ${JSON.stringify(stats)}`);
  for (const m of requests) {
    const i = Number(/^POST \/up\/(\d+) /.exec(m.data.toString('latin1', 0, 20))![1]);
    const whole = Buffer.concat([head(i), body(i)]);
    if (cut.includes(m)) {
      assert.ok(m.meta.line.endsWith(' incomplete=memory-budget'), `upload ${i} is cut: ${m.meta.line}`);
      assert.ok(
        m.data.length > head(i).length + FIRST && m.data.length < whole.length,
        `upload ${i}: ${m.data.length}`,
      );
      assert.ok(m.data.equals(whole.subarray(0, m.data.length)), `upload ${i}: its bytes before the cut`);
    } else {
      assert.ok(!m.meta.line.includes('incomplete'), `upload ${i} is whole: ${m.meta.line}`);
      assert.ok(m.data.equals(whole), `upload ${i}: every byte`);
    }
  }
  const responses = msgs.filter((m) => m.meta.type === '2');
  assert.equal(responses.length, CONNS);
  assert.deepEqual(new Set(responses.map((m) => m.meta.id)), new Set(requests.map((m) => m.meta.id)));
}

describe('--input-raw-memory-budget, live on lo', { skip, timeout: 60_000 }, () => {
  let server: http.Server;
  let port: number;
  before(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it('ten uploads in progress at once: the largest is cut each time the budget is spent (native fast path)', async () => {
    check(await run(port));
  });

  it('the same on the TypeScript path (TAPLINE_FLOW_ADDON=off)', async () => {
    process.env.TAPLINE_FLOW_ADDON = 'off';
    try {
      check(await run(port));
    } finally {
      delete process.env.TAPLINE_FLOW_ADDON;
    }
  });
});
