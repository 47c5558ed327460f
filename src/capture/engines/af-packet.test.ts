/**
 * af_packet engine tests. The live ones need the addon (node scripts/build-native.mjs) and CAP_NET_RAW;
 * they only use 127.0.0.1 / ::1 and ephemeral ports, and close every server and socket they open.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BPF, type BpfInstruction, type CaptureFilter, compileCaptureFilter } from '../bpf.js';
import { LinkType } from '../types.js';
import {
  type AfPacketCapture,
  type AfPacketOptions,
  decodeRecords,
  type LivePacket,
  listInterfaceNames,
  lookupInterface,
  openAfPacket,
  SETCAP_HINT,
} from './af-packet.js';
import { captureAddonAvailable, loadCaptureAddon } from './af-packet-native.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function hasCapNetRaw(): boolean {
  try {
    const m = /CapEff:\s*([0-9a-f]+)/.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? (BigInt(`0x${m[1]}`) & (1n << 13n)) !== 0n : false;
  } catch {
    return false;
  }
}

const addon = captureAddonAvailable();
// In CI (root, Linux, compiler present) the addon must exist: a silent skip would hide a broken build.
if (process.env.CI && !addon && !process.env.TAPLINE_SKIP_NATIVE) {
  throw new Error('CI: the capture addon is not built; `npm ci` should have built it (scripts/build-native.mjs)');
}
const LIVE_SKIP: string | false = !addon
  ? 'the capture addon is not built (node scripts/build-native.mjs)'
  : !hasCapNetRaw()
    ? 'no CAP_NET_RAW'
    : false;
const HAS_V6_LO = (networkInterfaces().lo ?? []).some((a) => a.address === '::1');

// ---- small decoders for the checks --------------------------------------------------------------

interface Seg {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  payload: Buffer;
  pktType: number;
  tsNs: bigint;
  /** IPv4 identification (-1 for IPv6): a retransmission gets a new one, a duplicated view does not. */
  ipId: number;
}

function ipText(b: Buffer): string {
  if (b.length === 4) return [...b].join('.');
  const g: string[] = [];
  for (let i = 0; i < 16; i += 2) g.push(b.readUInt16BE(i).toString(16));
  return g.join(':');
}

function parseTcp(p: LivePacket): Seg | undefined {
  let d = p.data;
  let type: number;
  if (p.linkType === LinkType.ETHERNET) {
    type = d.readUInt16BE(12);
    d = d.subarray(14);
  } else if (p.linkType === LinkType.LINUX_SLL) {
    type = d.readUInt16BE(14);
    d = d.subarray(16);
  } else return undefined;
  let l4: Buffer;
  let src: string;
  let dst: string;
  let ipId = -1;
  if (type === 0x0800) {
    if (d[9] !== 6) return undefined;
    ipId = d.readUInt16BE(4);
    const ihl = (d[0]! & 0xf) * 4;
    l4 = d.subarray(ihl, d.readUInt16BE(2));
    src = ipText(d.subarray(12, 16));
    dst = ipText(d.subarray(16, 20));
  } else if (type === 0x86dd) {
    if (d[6] !== 6) return undefined;
    l4 = d.subarray(40, 40 + d.readUInt16BE(4));
    src = ipText(d.subarray(8, 24));
    dst = ipText(d.subarray(24, 40));
  } else return undefined;
  const off = (l4[12]! >> 4) * 4;
  return {
    src,
    dst,
    sport: l4.readUInt16BE(0),
    dport: l4.readUInt16BE(2),
    seq: l4.readUInt32BE(4),
    ack: l4.readUInt32BE(8),
    flags: l4[13]!,
    payload: l4.subarray(off),
    pktType: p.pktType,
    tsNs: p.tsNs,
    ipId,
  };
}

/** Reads every batch until the capture ends. */
function collect(cap: AfPacketCapture): { packets: LivePacket[]; batches: number; done: Promise<void> } {
  const out = { packets: [] as LivePacket[], batches: 0, done: Promise.resolve() };
  out.done = (async () => {
    for await (const batch of cap.packets) {
      out.batches++;
      for (const p of batch) out.packets.push(p);
    }
  })();
  return out;
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
}

interface Exchange {
  clientPort: number;
  requestBody: string;
  responseBody: string;
  bytesWritten: number;
  bytesRead: number;
}

async function withServer<T>(host: string, fn: (port: number) => Promise<T>): Promise<T> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const n = Number(req.headers['x-response-size'] ?? 0);
      res.end(`resp-${req.url}-${'y'.repeat(n)}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  try {
    return await fn((server.address() as AddressInfo).port);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** One POST per connection (agent: false), all at once; resolves when every socket closed. */
async function exchanges(host: string, port: number, sizes: readonly [number, number][]): Promise<Exchange[]> {
  return Promise.all(
    sizes.map(
      ([reqSize, respSize], i) =>
        new Promise<Exchange>((resolve, reject) => {
          const requestBody = `req-${i}-${'x'.repeat(reqSize)}`;
          const req = http.request(
            {
              host,
              port,
              method: 'POST',
              path: `/r${i}`,
              agent: false,
              headers: { 'x-response-size': String(respSize) },
            },
            (res) => {
              const chunks: Buffer[] = [];
              res.on('data', (c: Buffer) => chunks.push(c));
              res.on('end', () => {
                const responseBody = Buffer.concat(chunks).toString();
                const sock = req.socket!;
                const clientPort = sock.localPort!;
                const finish = () =>
                  resolve({
                    clientPort,
                    requestBody,
                    responseBody,
                    bytesWritten: sock.bytesWritten,
                    bytesRead: sock.bytesRead,
                  });
                if (sock.destroyed) finish();
                else sock.once('close', finish);
              });
            },
          );
          req.on('error', reject);
          req.end(requestBody);
        }),
    ),
  );
}

/**
 * Payload of one direction of one connection, rebuilt by SEQ; fails on gaps and on a packet seen
 * twice. Real TCP retransmissions are allowed (on loopback: tail-loss probes while the peer delays
 * its ACK, possibly re-segmented): they are separate packets on the wire, sent milliseconds later,
 * unlike the kernel's second view of a loopback packet (the same packet within microseconds).
 */
function stream(segs: Seg[], what: string): Buffer {
  const data = segs.filter((s) => s.payload.length > 0).sort((a, b) => Number(a.tsNs - b.tsNs));
  if (data.length === 0) return Buffer.alloc(0);
  for (let i = 0; i < data.length; i++) {
    for (let j = i + 1; j < data.length && data[j]!.tsNs - data[i]!.tsNs < 1_000_000n; j++) {
      const a = data[i]!;
      const b = data[j]!;
      const same = a.seq === b.seq && a.payload.length === b.payload.length && a.ipId === b.ipId;
      assert.ok(!same, `${what}: segment seq ${a.seq} seen twice (${a.tsNs}, ${b.tsNs})`);
    }
  }
  const base = data[0]!.seq;
  const rel = (s: Seg) => (s.seq - base) | 0;
  const bySeq = [...data].sort((a, b) => rel(a) - rel(b));
  const start = rel(bySeq[0]!);
  const out: Buffer[] = [];
  let next = start;
  for (const s of bySeq) {
    const r = rel(s);
    assert.ok(r <= next, `${what}: gap of ${r - next} bytes before seq ${s.seq}`);
    const end = r + s.payload.length;
    if (end <= next) continue; // wholly retransmitted
    const have = Buffer.concat(out);
    const overlap = s.payload.subarray(0, next - r);
    assert.ok(overlap.equals(have.subarray(r - start)), `${what}: retransmitted bytes differ`);
    out.push(s.payload.subarray(next - r));
    next = end;
  }
  return Buffer.concat(out);
}

function checkExchanges(segs: Seg[], port: number, done: Exchange[]): void {
  for (const ex of done) {
    const req = segs.filter((s) => s.sport === ex.clientPort && s.dport === port);
    const resp = segs.filter((s) => s.sport === port && s.dport === ex.clientPort);
    const reqBytes = stream(req, `request on :${ex.clientPort}`);
    const respBytes = stream(resp, `response on :${ex.clientPort}`);
    assert.equal(reqBytes.length, ex.bytesWritten, `request bytes of :${ex.clientPort}`);
    assert.equal(respBytes.length, ex.bytesRead, `response bytes of :${ex.clientPort}`);
    assert.ok(reqBytes.toString().endsWith(ex.requestBody), 'request body captured intact');
    assert.ok(respBytes.toString().endsWith(ex.responseBody), 'response body captured intact');
  }
}

/** True once every exchange's bytes were captured in both directions. */
function complete(segs: Seg[], port: number, done: Exchange[], directions: 'both' | 'request' = 'both'): boolean {
  try {
    return done.every((ex) => {
      const req = stream(
        segs.filter((s) => s.sport === ex.clientPort && s.dport === port),
        'request',
      );
      if (directions === 'request') return req.length >= ex.bytesWritten;
      const resp = stream(
        segs.filter((s) => s.sport === port && s.dport === ex.clientPort),
        'response',
      );
      return req.length >= ex.bytesWritten && resp.length >= ex.bytesRead;
    });
  } catch {
    return false;
  }
}

const SIZES: [number, number][] = [
  [0, 0],
  [10, 5],
  [1000, 3000],
  [70_000, 20],
  [5, 150_000],
  [200_000, 200_000],
  [300, 40_000],
  [64, 64],
];

async function liveRoundTrip(host: string, extra: Partial<AfPacketOptions> = {}) {
  return withServer(host, async (port) => {
    const filter: CaptureFilter = { ports: [port], hosts: ['127.0.0.1', '::1'], trackResponse: true };
    const cap = openAfPacket({ interface: 'lo', filter, ...extra });
    const got = collect(cap);
    try {
      const done = await exchanges(host, port, SIZES);
      const segsNow = () => got.packets.map(parseTcp).filter((s): s is Seg => s !== undefined);
      await until(() => complete(segsNow(), port, done));
      cap.close();
      await got.done;
      return { cap, got, segs: segsNow(), done, port, stats: cap.stats() };
    } finally {
      cap.close();
    }
  });
}

// ---- tests --------------------------------------------------------------------------------------

describe('decodeRecords (batch layout of native/src/af_packet.h)', () => {
  test('24-byte headers, 8-byte aligned records', () => {
    const rec = (ts: bigint, ifindex: number, data: Buffer, orig: number, type: number): Buffer => {
      const h = Buffer.alloc(24);
      h.writeBigUInt64LE(ts, 0);
      h.writeUInt32LE(ifindex, 8);
      h.writeUInt32LE(data.length, 12);
      h.writeUInt32LE(orig, 16);
      h[20] = type;
      h.writeUInt16LE(772, 22);
      const pad = Buffer.alloc((8 - ((24 + data.length) % 8)) % 8);
      return Buffer.concat([h, data, pad]);
    };
    const buf = Buffer.concat([
      rec(1_700_000_000_123_456_789n, 1, Buffer.from('abc'), 3, 0),
      rec(2n, 7, Buffer.from('0123456789abcdef'), 1500, 4),
      rec(3n, 2, Buffer.alloc(0), 60, 1),
    ]);
    const aligned = Buffer.alloc(buf.length);
    buf.copy(aligned);
    const ps = decodeRecords(aligned, 3, LinkType.ETHERNET);
    assert.equal(ps.length, 3);
    // the same through the unaligned (slow) path
    const unaligned = Buffer.alloc(buf.length + 1).subarray(1);
    buf.copy(unaligned);
    assert.deepEqual(decodeRecords(unaligned, 3, LinkType.ETHERNET), ps);
    assert.deepEqual(
      ps.map((p) => [p.tsNs, p.ifindex, p.data.toString(), p.origLen, p.pktType, p.linkType]),
      [
        [1_700_000_000_123_456_789n, 1, 'abc', 3, 0, 1],
        [2n, 7, '0123456789abcdef', 1500, 4, 1],
        [3n, 2, '', 60, 1, 1],
      ],
    );
    assert.throws(() => decodeRecords(buf.subarray(0, 40), 2, 1), { code: 'TAPLINE_ERR_INTERNAL' });
    // packet data are real Buffers (views into the batch)
    const d = ps[1]!.data;
    assert.ok(Buffer.isBuffer(d) && d instanceof Buffer);
    assert.equal(d.toString('latin1'), '0123456789abcdef');
    assert.equal(d.readUInt32BE(0), 0x30313233);
    assert.equal(d.subarray(4, 6).toString(), '45');
    assert.ok(Buffer.isBuffer(d.subarray(1)));
    assert.equal(Buffer.concat([d, ps[0]!.data]).toString(), '0123456789abcdefabc');
    assert.equal(d.indexOf('89'), 8);
    assert.ok(d.equals(Buffer.from('0123456789abcdef')));
    assert.equal(d.buffer, aligned.buffer, 'a view, not a copy');
  });
});

describe('af_packet live on loopback', { skip: LIVE_SKIP, timeout: 20_000 }, () => {
  test('IPv4: every request and response byte exactly once, no drops', async () => {
    const { segs, done, port, stats, got, cap } = await liveRoundTrip('127.0.0.1');
    assert.equal(cap.linkType, LinkType.ETHERNET);
    assert.match(cap.filterText, new RegExp(`^\\(\\(tcp dst port ${port}\\) and \\(dst host 127\\.0\\.0\\.1`));
    checkExchanges(segs, port, done);
    assert.ok(
      got.packets.every((p) => p.pktType === 0),
      'only the PACKET_HOST view of loopback packets',
    );
    assert.ok(
      segs.every((s) => s.sport === port || s.dport === port),
      'only the filtered port',
    );
    assert.equal(stats.dropped, 0);
    assert.equal(stats.freezeQueueCount, 0);
    assert.equal(stats.truncated, 0);
    assert.equal(stats.loopbackSkipped, 0, 'the kernel filter already dropped the outgoing copies');
    assert.equal(stats.received, stats.delivered, 'close() delivered what was left in the ring');
    assert.equal(stats.delivered, got.packets.length);
    assert.equal(stats.batches, got.batches);
    assert.ok(stats.batches < stats.delivered, `batched: ${stats.batches} callbacks for ${stats.delivered} packets`);
  });

  test('IPv6 ::1', { skip: HAS_V6_LO ? false : 'no ::1 on lo' }, async () => {
    const { segs, done, port, stats } = await liveRoundTrip('::1');
    assert.ok(segs.length > 0 && segs.every((s) => s.src === '0:0:0:0:0:0:0:1'));
    checkExchanges(segs, port, done);
    assert.equal(stats.dropped, 0);
  });

  test('the filter leaves out traffic on another port', async () => {
    await withServer('127.0.0.1', (other) =>
      withServer('127.0.0.1', async (port) => {
        const cap = openAfPacket({
          interface: 'lo',
          filter: { ports: [port], hosts: ['127.0.0.1'], trackResponse: true },
        });
        const got = collect(cap);
        try {
          const [mine] = await Promise.all([
            exchanges('127.0.0.1', port, [[100, 100]]),
            exchanges('127.0.0.1', other, [
              [100, 100],
              [5000, 5000],
            ]),
          ]);
          const segs = () => got.packets.map(parseTcp).filter((s): s is Seg => s !== undefined);
          await until(() => complete(segs(), port, mine));
          cap.close();
          await got.done;
          checkExchanges(segs(), port, mine);
          assert.ok(!segs().some((s) => s.sport === other || s.dport === other), 'no packet of the other port');
        } finally {
          cap.close();
        }
      }),
    );
  });

  test('without track-response only the client side is captured', async () => {
    await withServer('127.0.0.1', async (port) => {
      const cap = openAfPacket({ interface: 'lo', filter: { ports: [port], hosts: ['127.0.0.1'] } });
      const got = collect(cap);
      try {
        const done = await exchanges('127.0.0.1', port, [[2000, 2000]]);
        const segs = () => got.packets.map(parseTcp).filter((s): s is Seg => s !== undefined);
        await until(() => complete(segs(), port, done, 'request'));
        await new Promise((r) => setTimeout(r, 30));
        cap.close();
        await got.done;
        assert.ok(segs().length > 0);
        assert.ok(segs().every((s) => s.dport === port));
      } finally {
        cap.close();
      }
    });
  });

  test('dedupeLoopback: false shows the kernel double view (OUTGOING + HOST)', async () => {
    await withServer('127.0.0.1', async (port) => {
      const cap = openAfPacket({
        interface: 'lo',
        filter: { ports: [port], hosts: ['127.0.0.1'], trackResponse: true },
        dedupeLoopback: false,
      });
      const got = collect(cap);
      try {
        const done = await exchanges('127.0.0.1', port, [[500, 500]]);
        const segs = () => got.packets.map(parseTcp).filter((s): s is Seg => s !== undefined);
        const view = (type: number) => segs().filter((x) => x.pktType === type);
        await until(() => complete(view(0), port, done) && complete(view(4), port, done));
        cap.close();
        await got.done;
        checkExchanges(view(0), port, done);
        checkExchanges(view(4), port, done);
        const key = (x: Seg) => `${x.sport}>${x.dport}:${x.seq}:${x.payload.length}`;
        const s = segs().filter((x) => x.payload.length > 0);
        assert.deepEqual(
          s
            .filter((x) => x.pktType === 4)
            .map(key)
            .sort(),
          s
            .filter((x) => x.pktType === 0)
            .map(key)
            .sort(),
        );
      } finally {
        cap.close();
      }
    });
  });

  test('close() delivers the packets of the block the kernel was still filling', async () => {
    await withServer('127.0.0.1', async (port) => {
      // A block timeout of 10 s: nothing is retired during the test, everything comes from close().
      const cap = openAfPacket({
        interface: 'lo',
        timeoutMs: 10_000,
        filter: { ports: [port], hosts: ['127.0.0.1'], trackResponse: true },
      });
      const got = collect(cap);
      try {
        const done = await exchanges('127.0.0.1', port, [
          [1000, 1000],
          [10, 20_000],
        ]);
        assert.equal(cap.stats().batches, 0);
        cap.close();
        await got.done;
        const segs = got.packets.map(parseTcp).filter((s): s is Seg => s !== undefined);
        checkExchanges(segs, port, done);
        const st = cap.stats();
        assert.equal(st.batches, 1);
        assert.equal(st.delivered, st.received);
        assert.equal(st.delivered, got.packets.length);
      } finally {
        cap.close();
      }
    });
  });

  test('a custom program that keeps the loopback double view: the addon skips the OUTGOING copy', async () => {
    await withServer('127.0.0.1', async (port) => {
      const filter: CaptureFilter = { ports: [port], hosts: ['127.0.0.1'], trackResponse: true };
      const program = compileCaptureFilter(filter, { link: 'ethernet', snaplen: 65535, dropLoopbackOutgoing: false });
      const cap = openAfPacket({ interface: 'lo', filter: { program } });
      const got = collect(cap);
      try {
        const done = await exchanges('127.0.0.1', port, [[3000, 3000]]);
        const segs = () => got.packets.map(parseTcp).filter((s): s is Seg => s !== undefined);
        await until(() => complete(segs(), port, done));
        cap.close();
        await got.done;
        checkExchanges(segs(), port, done);
        const st = cap.stats();
        assert.ok(got.packets.every((p) => p.pktType === 0));
        assert.equal(st.loopbackSkipped, got.packets.length, 'one skipped OUTGOING copy per delivered packet');
        assert.equal(st.received, 2 * st.delivered);
      } finally {
        cap.close();
      }
    });
  });

  test('snaplen cuts packets; the cut is visible (origLen, stats.truncated)', async () => {
    await withServer('127.0.0.1', async (port) => {
      const cap = openAfPacket({
        interface: 'lo',
        snaplen: 100,
        filter: { ports: [port], hosts: ['127.0.0.1'], trackResponse: true },
      });
      const got = collect(cap);
      try {
        await exchanges('127.0.0.1', port, [[5000, 5000]]);
        await until(() => got.packets.some((p) => p.origLen > 5000));
        cap.close();
        await got.done;
        assert.ok(got.packets.every((p) => p.data.length <= 100));
        const cut = got.packets.filter((p) => p.origLen > p.data.length);
        assert.ok(cut.length > 0);
        assert.equal(cap.stats().truncated, cut.length);
      } finally {
        cap.close();
      }
    });
  });

  test('all interfaces (any): cooked LINUX_SLL records, still once per packet', async () => {
    await withServer('127.0.0.1', async (port) => {
      const cap = openAfPacket({
        interface: 'any',
        filter: { ports: [port], hosts: ['127.0.0.1'], trackResponse: true },
        ignoreInterfaces: ['ifb0', 'no-such-interface'],
      });
      assert.equal(cap.linkType, LinkType.LINUX_SLL);
      assert.equal(cap.ifindex, 0);
      const got = collect(cap);
      try {
        const done = await exchanges('127.0.0.1', port, [
          [10, 10],
          [100_000, 3],
        ]);
        const segs = () => got.packets.map(parseTcp).filter((s): s is Seg => s !== undefined);
        await until(() => complete(segs(), port, done));
        cap.close();
        await got.done;
        checkExchanges(segs(), port, done);
        const p = got.packets[0]!;
        assert.equal(p.data.readUInt16BE(0), 0, 'SLL packet type: host');
        assert.equal(p.data.readUInt16BE(2), 772, 'SLL hatype: loopback');
        assert.equal(p.data.readUInt16BE(14), 0x0800);
        assert.equal(p.ifindex, lookupInterface('lo').index);
        assert.equal(cap.stats().dropped, 0);
      } finally {
        cap.close();
      }
    });
  });

  for (const mode of ['hash', 'flow'] as const) {
    test(`fanout (${mode}): two sockets share the traffic, each connection stays on one socket`, async () => {
      await withServer('127.0.0.1', async (port) => {
        const group = 20000 + (process.pid % 20000) + (mode === 'flow' ? 1 : 0);
        const filter: CaptureFilter = { ports: [port], hosts: ['127.0.0.1'], trackResponse: true };
        const caps = [0, 1].map(() => openAfPacket({ interface: 'lo', filter, fanout: { group, mode } }));
        const gots = caps.map(collect);
        try {
          const done = await exchanges(
            '127.0.0.1',
            port,
            Array.from({ length: 16 }, (_, i): [number, number] => [100 * i, 50 * i]),
          );
          const segsOf = (i: number) => gots[i]!.packets.map(parseTcp).filter((s): s is Seg => s !== undefined);
          await until(() => complete([...segsOf(0), ...segsOf(1)], port, done));
          for (const c of caps) c.close();
          await Promise.all(gots.map((g) => g.done));
          checkExchanges([...segsOf(0), ...segsOf(1)], port, done);
          for (const ex of done) {
            const on = [0, 1].filter((i) =>
              segsOf(i).some((s) => s.sport === ex.clientPort || s.dport === ex.clientPort),
            );
            assert.equal(on.length, 1, `connection :${ex.clientPort} split over members ${on}`);
          }
          assert.ok(segsOf(0).length > 0 && segsOf(1).length > 0, 'both members got flows');
        } finally {
          for (const c of caps) c.close();
        }
      });
    });
  }

  test('the kernel accepts every generated program variant', () => {
    const small = { snaplen: 65535, bufferSize: 512 * 1024 };
    const filters: CaptureFilter[] = [
      { ports: [80], hosts: ['127.0.0.1', '::1'], trackResponse: true },
      { ports: [] },
      { ports: [0], hosts: ['10.0.0.1'] },
      { ports: [80, 443, 8080], hosts: ['2001:db8::1'], trackResponse: true, vlan: true },
      { ports: [80], hosts: ['10.0.0.1', 'fd00::1'], vlanIds: [10, 20, 30], trackResponse: true },
      {
        ports: [80],
        hosts: Array.from({ length: 60 }, (_, i) => `2001:db8::${i + 1}`),
        trackResponse: true,
        vlan: true,
      },
    ];
    for (const iface of ['lo', 'any']) {
      for (const filter of filters) {
        const cap = openAfPacket({
          interface: iface,
          filter,
          ...small,
          ignoreInterfaces: iface === 'any' ? ['ifb1'] : [],
        });
        cap.close();
      }
      for (const mode of ['flow', 'hash', 'lb', 'cpu'] as const) {
        const cap = openAfPacket({
          interface: iface,
          filter: null,
          ...small,
          fanout: { group: 40000 + (process.pid % 20000), mode },
        });
        cap.close();
      }
    }
  });

  test('a program the kernel refuses is a CAPTURE_FAILED with the reason', () => {
    const bad: BpfInstruction[] = [{ code: BPF.JMP | BPF.JEQ | BPF.K, jt: 9, jf: 9, k: 0 }];
    assert.throws(
      () => openAfPacket({ interface: 'lo', filter: { program: bad } }),
      (e: unknown) => {
        const err = e as { code: string; message: string };
        assert.equal(err.code, 'TAPLINE_ERR_CAPTURE_FAILED');
        assert.match(err.message, /SO_ATTACH_FILTER/);
        return true;
      },
    );
  });

  test('setFilter swaps the program while capturing; stats survive close(); close twice', async () => {
    await withServer('127.0.0.1', async (port) => {
      const nothing = compileCaptureFilter({ ports: [1] }, { link: 'ethernet', snaplen: 65535 });
      const cap = openAfPacket({ interface: 'lo', filter: { program: nothing, text: 'tcp port 1' } });
      assert.equal(cap.filterText, 'tcp port 1');
      const got = collect(cap);
      try {
        await exchanges('127.0.0.1', port, [[10, 10]]);
        cap.setFilter({ ports: [port], hosts: ['127.0.0.1'], trackResponse: true });
        assert.match(cap.filterText, /tcp dst port/);
        const done = await exchanges('127.0.0.1', port, [[20, 20]]);
        await until(() => got.packets.length > 0 && cap.stats().delivered >= 6);
        cap.close();
        cap.close();
        await got.done;
        const segs = got.packets.map(parseTcp).filter((s): s is Seg => s !== undefined);
        assert.ok(segs.every((s) => s.sport === done[0]!.clientPort || s.dport === done[0]!.clientPort));
        const st = cap.stats();
        assert.equal(st.delivered, got.packets.length);
        assert.ok(st.received >= st.delivered);
      } finally {
        cap.close();
      }
    });
  });

  test('back-pressure: a slow consumer pauses the socket instead of queueing without bound', async () => {
    await withServer('127.0.0.1', async (port) => {
      const cap = openAfPacket({
        interface: 'lo',
        filter: { ports: [port], hosts: ['127.0.0.1'], trackResponse: true },
        maxQueuedBytes: 1,
      });
      try {
        await exchanges('127.0.0.1', port, [[50_000, 50_000]]);
        await until(() => cap.stats().pauses > 0, 1000);
        const st = cap.stats();
        assert.equal(st.paused, true);
        assert.ok(st.queuedBatches >= 1);
        const it = cap.packets[Symbol.asyncIterator]();
        const first = await it.next();
        assert.ok(!first.done && first.value.length > 0);
        assert.equal(cap.stats().paused, false, 'resumed once the queue drained');
        await it.return?.();
      } finally {
        cap.close();
      }
    });
  });
});

describe('af_packet errors', { skip: addon ? false : 'the capture addon is not built' }, () => {
  test('unknown interface → BAD_ADDRESS', () => {
    assert.throws(() => openAfPacket({ interface: 'nope0' }), { code: 'TAPLINE_ERR_BAD_ADDRESS' });
  });
  test('bad settings → USAGE / BAD_ADDRESS before touching the kernel', () => {
    assert.throws(() => openAfPacket({ interface: 'lo', snaplen: 10 }), { code: 'TAPLINE_ERR_USAGE' });
    assert.throws(() => openAfPacket({ interface: 'lo', snaplen: 65535, blockSize: 4096 }), {
      code: 'TAPLINE_ERR_USAGE',
    });
    assert.throws(() => openAfPacket({ interface: 'lo', timeoutMs: -1 }), { code: 'TAPLINE_ERR_USAGE' });
    // Promiscuous on `any` is every interface but the ignored ones: with all of them ignored, none is left.
    const every = listInterfaceNames();
    assert.throws(() => openAfPacket({ interface: 'any', promiscuous: true, ignoreInterfaces: every }), {
      code: 'TAPLINE_ERR_BAD_ADDRESS',
    });
    assert.throws(() => openAfPacket({ interface: 'lo', ignoreInterfaces: ['lo'] }), {
      code: 'TAPLINE_ERR_BAD_ADDRESS',
    });
    assert.throws(() => openAfPacket({ interface: 'lo', fanout: { group: 70000 } }), { code: 'TAPLINE_ERR_USAGE' });
  });
  test('interface lookup', () => {
    const lo = lookupInterface('lo');
    assert.equal(lo.loopback, true);
    assert.equal(lo.hatype, 772);
    assert.ok(lo.addresses.includes('127.0.0.1'));
    assert.equal(loadCaptureAddon().interfaceName(lo.index), 'lo');
  });
});

// ---- child processes: permissions, missing addon, lifetime --------------------------------------

function tool(name: string): string | undefined {
  return ['/usr/bin', '/bin', '/usr/sbin', '/sbin'].map((d) => `${d}/${name}`).find((p) => existsSync(p));
}

function runChild(script: string, opts: { prefix?: string[]; env?: NodeJS.ProcessEnv } = {}) {
  const args = ['--import', 'tsx', '--expose-gc', '--input-type=module', '-e', script];
  const [cmd, ...pre] = [...(opts.prefix ?? []), process.execPath];
  const r = spawnSync(cmd!, [...pre, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...opts.env },
    encoding: 'utf8',
    timeout: 15_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const ENGINE = JSON.stringify(`${HERE}af-packet.ts`);
const PROBE = `
import { openAfPacket } from ${ENGINE};
try { openAfPacket({ interface: 'lo', filter: { ports: [80] } }).close(); console.log(JSON.stringify({ ok: true })); }
catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }
`;

describe('af_packet in child processes', { timeout: 30_000 }, () => {
  const setpriv = tool('setpriv');
  const capsh = tool('capsh');
  const dropper = setpriv
    ? [setpriv, '--inh-caps=-all', '--bounding-set=-net_raw', '--']
    : capsh
      ? [capsh, '--drop=cap_net_raw', '--', '-c', 'exec "$0" "$@"']
      : undefined;

  test('without CAP_NET_RAW: CAPTURE_PERMISSION that says what to do', {
    skip: !addon ? 'addon not built' : !dropper ? 'neither setpriv nor capsh can drop capabilities here' : false,
  }, () => {
    const r = runChild(PROBE, { prefix: dropper! });
    const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { code?: string; message?: string };
    assert.equal(out.code, 'TAPLINE_ERR_CAPTURE_PERMISSION', r.stderr);
    assert.match(out.message!, /CAP_NET_RAW/);
    assert.ok(out.message!.includes(SETCAP_HINT));
  });

  test('without the addon: CAPTURE_FAILED that says how to build it', () => {
    const r = runChild(PROBE, { env: { TAPLINE_NATIVE_ADDON: '/nonexistent/tapline_capture.node' } });
    const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { code?: string; message?: string };
    assert.equal(out.code, 'TAPLINE_ERR_CAPTURE_FAILED', r.stderr);
    assert.match(out.message!, /build-native\.mjs/);
  });

  test('lifetime: dropped sockets, unref-ed open capture at exit, worker exit/terminate without close', {
    skip: LIVE_SKIP,
  }, () => {
    const r = runChild(`
      import { openAfPacket } from ${ENGINE};
      import { loadCaptureAddon } from ${JSON.stringify(`${HERE}af-packet-native.ts`)};
      import { Worker } from 'node:worker_threads';
      const m = loadCaptureAddon();
      for (let i = 0; i < 20; i++) new m.AfPacketSocket({ ifindex: 1, blockSize: 262144, blockCount: 2, timeoutMs: 10 });
      globalThis.gc(); await new Promise((r) => setTimeout(r, 20)); globalThis.gc();
      const s = new m.AfPacketSocket({ ifindex: 1, blockSize: 262144, blockCount: 2, timeoutMs: 10 });
      s.start(() => {}, () => {}); s.close(); s.close(); s.stats();
      const w = new Worker(\`
        const { workerData } = require('node:worker_threads');
        const m = require(workerData);
        const s = new m.AfPacketSocket({ ifindex: 1, blockSize: 262144, blockCount: 2, timeoutMs: 10 });
        s.start(() => {}, () => {});
        setTimeout(() => process.exit(0), 50);
      \`, { eval: true, execArgv: [], workerData: ${JSON.stringify(`${ROOT}native/build/Release/tapline_capture.node`)} });
      await new Promise((r) => w.on('exit', r));
      const w2 = new Worker(\`
        const m = require(require('node:worker_threads').workerData);
        const s = new m.AfPacketSocket({ ifindex: 1, blockSize: 262144, blockCount: 2, timeoutMs: 1 });
        s.start(() => {}, () => {});
        require('node:worker_threads').parentPort.postMessage('up');
      \`, { eval: true, execArgv: [], workerData: ${JSON.stringify(`${ROOT}native/build/Release/tapline_capture.node`)} });
      await new Promise((r) => w2.once('message', r));
      await w2.terminate();
      const cap = openAfPacket({ interface: 'lo', filter: null });
      cap.unref();
      console.log('left open');
    `);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /left open/);
  });
});
