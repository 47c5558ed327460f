/**
 * --input-raw-memory-budget over a generated capture: many connections each sending a large body slowly (their
 * segments interleaved, so every body is in progress at once), with a budget far below their sum. The largest
 * message in progress is cut each time the budget is spent; the others, and every small exchange beside them,
 * pass whole. Run on the TypeScript path (packet arrays) and on the native fast path (batch views), which
 * hands its largest pending message over to be cut.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ethernet, ipv4, raw, tcp } from '../../capture/decode/testkit.js';
import { type RawPacket, TcpFlag } from '../../capture/types.js';
import type { Message } from '../../core/message.js';
import { MemoryBudget } from './memory-budget.js';
import { flowAddon } from './native-flows.js';
import { capture, SERVER } from './testkit.js';

const { SYN, ACK, PSH } = TcpFlag;
const CLIENT_IP = '10.1.1.1';
const KB = 1024;

/** One connection's client and server byte streams, sent in `piece`-byte segments. */
interface Conn {
  port: number;
  request: Buffer;
  response: Buffer;
}

function post(path: string, size: number): Buffer {
  const body = Buffer.alloc(size, path.charCodeAt(1));
  return Buffer.concat([
    Buffer.from(`POST ${path} HTTP/1.1\r\nHost: shop\r\nContent-Length: ${size}\r\n\r\n`, 'latin1'),
    body,
  ]);
}

const OK = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', 'latin1');

/**
 * Every connection opens, then their requests go out `piece` bytes at a time in turn (one segment of each
 * connection per round: all bodies grow together, as slow uploads do), each answered when it is whole.
 */
function interleaved(conns: Conn[], piece: number): RawPacket[] {
  const out: RawPacket[] = [];
  let ts = 1_700_000_000_000_000_000n;
  const packet = (c: Conn, fromClient: boolean, seq: number, ack: number, flags: number, payload: Buffer) => {
    ts += 1000n;
    const t = tcp({
      srcPort: fromClient ? c.port : SERVER.port,
      dstPort: fromClient ? SERVER.port : c.port,
      seq,
      ack,
      flags,
      payload,
    });
    const ip = fromClient ? { src: CLIENT_IP, dst: SERVER.ip } : { src: SERVER.ip, dst: CLIENT_IP };
    out.push(raw(ethernet(ipv4(t, ip)), 1, ts));
  };
  const cisn = 1000;
  const sisn = 900_000;
  for (const c of conns) {
    packet(c, true, cisn, 0, SYN, Buffer.alloc(0));
    packet(c, false, sisn, cisn + 1, SYN | ACK, Buffer.alloc(0));
  }
  const sent = conns.map(() => 0);
  for (let round = 0; round < 10_000 && sent.some((n, i) => n < conns[i]!.request.length); round++) {
    conns.forEach((c, i) => {
      const at = sent[i]!;
      if (at >= c.request.length) return;
      const bytes = c.request.subarray(at, at + piece);
      packet(c, true, cisn + 1 + at, sisn + 1, ACK | PSH, bytes);
      sent[i] = at + bytes.length;
      if (sent[i] === c.request.length) packet(c, false, sisn + 1, cisn + 1 + sent[i]!, ACK | PSH, c.response);
    });
  }
  return out;
}

function byType(msgs: Message[], type: string): Message[] {
  return msgs.filter((m) => m.meta.type === type);
}

/** Six 200 KiB uploads at once and four small ones; a 500 KiB budget. */
function scenario(): { conns: Conn[]; packets: RawPacket[] } {
  const conns: Conn[] = [];
  for (let i = 0; i < 6; i++) conns.push({ port: 41000 + i, request: post(`/big${i}`, 200 * KB), response: OK });
  for (let i = 0; i < 4; i++) conns.push({ port: 42000 + i, request: post(`/small${i}`, 300), response: OK });
  return { conns, packets: interleaved(conns, 1400) };
}

/**
 * The bodies grow together: 6 × 84 KiB passes 500 KiB (one cut), then 5 × 100 KiB, 4 × 125 KiB and 3 × 167
 * KiB (three more); the last two uploads end at 400 KiB together, whole.
 */
const EXPECTED_CUTS = 4;

async function check(views: boolean): Promise<void> {
  const { conns, packets } = scenario();
  const { msgs, stats } = await capture(packets, { memoryBudget: 500 * KB, trackResponse: true }, views);
  assert.equal(stats.cut_memory_budget, EXPECTED_CUTS);
  assert.equal(stats.cut_max_size, 0);
  assert.equal(stats.incomplete_dropped, 0);
  const requests = byType(msgs, '1');
  assert.equal(requests.length, conns.length, 'every request is emitted, cut or whole');
  const cut = requests.filter((m) => m.meta.line.endsWith(' incomplete=memory-budget'));
  assert.equal(cut.length, EXPECTED_CUTS);
  for (const m of cut) {
    const path = m.data.toString('latin1', 5, m.data.indexOf(' ', 5));
    assert.ok(path.startsWith('/big'), `${path} is an upload`);
    const whole = conns.find((c) => c.request.toString('latin1').startsWith(`POST ${path} `))!.request;
    assert.ok(m.data.length > 80 * KB && m.data.length < whole.length, `${path}: cut at ${m.data.length}`);
    assert.deepEqual(m.data, whole.subarray(0, m.data.length), `${path}: the bytes before the cut are intact`);
  }
  const intact = requests.filter((m) => !m.meta.line.includes('incomplete='));
  assert.equal(intact.length, conns.length - EXPECTED_CUTS);
  for (const m of intact) {
    assert.ok(
      conns.some((c) => c.request.equals(m.data)),
      'a request not cut is whole',
    );
  }
  // Every request is answered, and its response paired with it, cut or not.
  const responses = byType(msgs, '2');
  assert.equal(responses.length, conns.length);
  assert.deepEqual(new Set(responses.map((m) => m.meta.id)), new Set(requests.map((m) => m.meta.id)));
  for (const r of responses) assert.deepEqual(r.data, OK);
}

describe('--input-raw-memory-budget', () => {
  it('the TypeScript path cuts the largest upload in progress each time the budget is spent', async () => {
    await check(false);
  });

  it('the native fast path hands its largest pending upload over to be cut, with the same counts', async (t) => {
    if (flowAddon() === null) return t.skip('the flow addon is not built (node scripts/build-native.mjs)');
    await check(true);
  });

  it('a budget larger than everything in progress cuts nothing', async () => {
    const { packets } = scenario();
    const { stats } = await capture(packets, { memoryBudget: 2 * 1024 * KB }, true);
    assert.equal(stats.cut_memory_budget, 0);
    assert.equal(stats.requests, 10);
  });

  it('--input-raw-protocol binary: the largest turn in progress is emitted early; no byte is lost', async () => {
    const { conns, packets } = scenario();
    const { msgs, stats } = await capture(packets, { memoryBudget: 500 * KB, protocol: 'binary' }, false);
    assert.ok(Number(stats.cut_memory_budget) >= EXPECTED_CUTS, JSON.stringify(stats));
    const turns = byType(msgs, '1');
    assert.equal(
      turns.filter((m) => m.meta.line.endsWith(' incomplete=memory-budget')).length,
      stats.cut_memory_budget,
    );
    // Each upload's turns, in order, are its bytes (ids differ per connection by the client port).
    for (const c of conns) {
      const port = c.port.toString(16).padStart(4, '0');
      const mine = turns.filter((m) => m.meta.id.startsWith(port));
      assert.deepEqual(Buffer.concat(mine.map((m) => m.data)), c.request, `port ${c.port}`);
    }
  });

  it('MemoryBudget cuts the largest holder until the total fits, and tells who it cut', () => {
    const told: string[] = [];
    const budget = new MemoryBudget(100, (what, bytes) => told.push(`${what} ${bytes}`));
    const holder = (name: string) => ({
      cutForBudget: () => budget.update(h[name]!, 0),
      describe: () => name,
    });
    const h: Record<string, ReturnType<typeof holder>> = {};
    for (const n of ['a', 'b', 'c']) h[n] = holder(n);
    budget.update(h.a!, 40);
    budget.update(h.b!, 50);
    assert.deepEqual(told, []);
    budget.update(h.c!, 30); // 120: b, the largest, goes
    assert.deepEqual(told, ['b 50']);
    assert.equal(budget.total, 70);
    budget.update(h.a!, 0);
    budget.update(h.c!, 120); // c alone over the limit: cut
    assert.deepEqual(told, ['b 50', 'c 120']);
    assert.equal(budget.total, 0);
  });
});
