/**
 * --output-binary against a local TCP echo server that records what each connection received: one replayed
 * connection per original connection, each receiving exactly its turns' bytes in order (byte-exact, binary
 * payloads, one of 200 KB); with -track-response each reply becomes a type-3 message equal (byte for byte)
 * to what the echo sent back; a pcap captured with --input-raw-protocol binary replays connection by
 * connection; an unreachable target is counted and warned, never silent.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GorRecordReader } from '../../src/core/gor-format.js';
import type { Message } from '../../src/core/message.js';
import { runTapline } from '../support/cli.js';
import { CORPUS_DIR } from '../support/corpus.js';

const dir = mkdtempSync(join(tmpdir(), 'tapline-binary-'));
/** Bytes received per server-side connection, in accept order. */
let received: Buffer[][] = [];
let server: Server;
let port = 0;

before(async () => {
  server = createServer((socket) => {
    const chunks: Buffer[] = [];
    received.push(chunks);
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      socket.write(d); // echo
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});
after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** gor-style id: client port, server port, client IPv4, then a per-turn number. */
const idOf = (clientPort: number, turn: number) =>
  `${clientPort.toString(16).padStart(4, '0')}1f90` + `7f000001${turn.toString(16).padStart(8, '0')}`;

function record(type: string, id: string, tsNs: bigint, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${type} ${id} ${tsNs} 0\n`), payload, Buffer.from('\n🐵🙈🙉\n')]);
}

function readRecords(bytes: Buffer): Message[] {
  const reader = new GorRecordReader(() => undefined);
  return [...reader.push(bytes), ...reader.end()];
}

/** Three original connections, four turns each, interleaved; the second turn of connection 2 is 200 KB. */
function conversation(): { file: string; turns: Map<string, Buffer[]>; ids: Map<string, Buffer> } {
  const turns = new Map<string, Buffer[]>();
  const ids = new Map<string, Buffer>();
  const records: Buffer[] = [];
  let ts = 1_700_000_000_000_000_000n;
  for (let t = 0; t < 4; t++) {
    for (const clientPort of [40001, 40002, 40003]) {
      const id = idOf(clientPort, t);
      const payload = clientPort === 40002 && t === 1 ? randomBytes(200_000) : randomBytes(1 + ((t * 37) % 300));
      const key = id.slice(0, 16);
      turns.set(key, [...(turns.get(key) ?? []), payload]);
      ids.set(id, payload);
      records.push(record('1', id, ts, payload));
      // An original response in the file: not replayed.
      records.push(record('2', id, ts + 1000n, Buffer.from('original reply')));
      ts += 1_000_000n;
    }
  }
  const file = join(dir, `conv-${Math.random().toString(16).slice(2)}.gor`);
  writeFileSync(file, Buffer.concat(records));
  return { file, turns, ids };
}

/** Each server connection's bytes must equal one original connection's turns, and every one must be used. */
function assertPerConnection(turns: Map<string, Buffer[]>): void {
  assert.equal(received.length, turns.size, 'one replayed connection per original connection');
  const expected = [...turns.values()].map((t) => Buffer.concat(t).toString('hex')).sort();
  const got = received.map((c) => Buffer.concat(c).toString('hex')).sort();
  assert.ok(
    got.length === expected.length && got.every((g, i) => g === expected[i]),
    'each connection received exactly its turns, in order',
  );
}

/** Replays the turns `payloads` of one original connection to `server`, tracked, replies discarded. */
function replayOneConnection(
  server: Server,
  clientPort: number,
  payloads: string[],
  extra: string[],
  timeoutMs?: number,
) {
  const file = join(dir, `one-${clientPort}.gor`);
  writeFileSync(
    file,
    Buffer.concat(
      payloads.map((p, t) => record('1', idOf(clientPort, t), 1_700_000_000_000_000_000n + BigInt(t), Buffer.from(p))),
    ),
  );
  const target = `127.0.0.1:${(server.address() as { port: number }).port}`;
  const args = ['--input-file', `${file}|max`, '--output-binary', target, '--output-binary-track-response'];
  return runTapline([...args, '--output-null', ...extra], timeoutMs ? { timeoutMs } : {});
}

/** Replays `file` as fast as possible with -track-response; replies (and requests) go to stdout. */
function replayTracked(file: string, extra: string[]) {
  return runTapline([
    '--input-file',
    `${file}|max`,
    '--output-binary',
    `127.0.0.1:${port}`,
    '--output-binary-track-response',
    '--output-stdout',
    ...extra,
  ]);
}

describe('output-binary', () => {
  it('replays each original connection on its own connection, byte-exact and in order', async () => {
    received = [];
    const { file, turns } = conversation();
    const r = await runTapline(['--input-file', `${file}|max`, '--output-binary', `127.0.0.1:${port}`]);
    assert.equal(r.code, 0, r.stderr);
    assertPerConnection(turns);
    assert.match(r.stderr, /sent 12\b/);
    assert.match(r.stderr, /not request ignored 12\b/);
    assert.match(r.stderr, /connections opened 3\b/);
  });

  it('-workers 1: an idle connection is closed for a new original connection (counted), no byte lost', async () => {
    received = [];
    const { file, turns } = conversation();
    const r = await runTapline([
      '--input-file',
      file,
      '--output-binary',
      `127.0.0.1:${port}`,
      '--output-binary-workers',
      '1',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const total = (bufs: Buffer[]) => bufs.reduce((n, b) => n + b.length, 0);
    assert.equal(total(received.flat()), total([...turns.values()].flat()));
    // Each replayed connection carried consecutive turns of a single original connection.
    const originals = [...turns.values()].map((t) => Buffer.concat(t).toString('hex'));
    for (const c of received) {
      const hex = Buffer.concat(c).toString('hex');
      assert.ok(
        originals.some((o) => o.includes(hex)),
        'a connection never mixes original connections',
      );
    }
    assert.ok(received.length > turns.size, 'connections were closed and reopened');
    assert.match(r.stderr, /sessions evicted \d+/);
  });

  it('-track-response: each reply is a type-3 message with its turn id, byte for byte', async () => {
    received = [];
    const { file, turns, ids } = conversation();
    const r = await replayTracked(file, ['--output-binary-reply-gap', '100ms', '--output-tcp-response-buffer', '1mb']);
    assert.equal(r.code, 0, r.stderr);
    assertPerConnection(turns);
    const replies = readRecords(r.stdout).filter((m) => m.meta.type === '3');
    assert.equal(replies.length, ids.size, r.stderr);
    for (const reply of replies) {
      const sent = ids.get(reply.meta.id);
      assert.ok(sent, `reply id ${reply.meta.id} is a request id`);
      assert.ok(reply.data.equals(sent), `reply to ${reply.meta.id} is the echo of its turn`);
      assert.ok((reply.meta.latencyNs ?? -1n) >= 0n);
    }
  });

  it('-track-response with a small --output-tcp-response-buffer cuts long replies and counts them', async () => {
    received = [];
    const { file, ids } = conversation();
    const r = await replayTracked(file, ['--output-tcp-response-buffer', '100', '--output-binary-debug']);
    assert.equal(r.code, 0, r.stderr);
    const replies = readRecords(r.stdout).filter((m) => m.meta.type === '3');
    assert.equal(replies.length, ids.size);
    for (const reply of replies) {
      const sent = ids.get(reply.meta.id)!;
      assert.ok(reply.data.equals(sent.subarray(0, 100)));
    }
    const longer = [...ids.values()].filter((p) => p.length > 100).length;
    assert.match(r.stderr, new RegExp(`replies truncated ${longer}\\b`));
    assert.match(r.stderr, /\[DEBUG\] output-binary\([^)]*\): [0-9a-f]{16}: sent \d+ bytes [0-9a-f]+/);
    assert.match(r.stderr, /\[DEBUG\] output-binary\([^)]*\): [0-9a-f]{16}: reply \d+ bytes in/);
  });

  it('a target that closes after each reply: the next turn redials (counted), nothing is lost', async () => {
    const perConnection: Buffer[] = [];
    const oneShot = createServer((socket) => {
      socket.on('data', (d: Buffer) => {
        perConnection.push(d);
        socket.end(d); // echo, then close
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => oneShot.listen(0, '127.0.0.1', resolve));
    try {
      const target = `127.0.0.1:${(oneShot.address() as { port: number }).port}`;
      const turns = [Buffer.from('first\x00\x01'), Buffer.from('second\xff'), Buffer.from('third')];
      const file = join(dir, 'one-shot.gor');
      writeFileSync(
        file,
        Buffer.concat(turns.map((t, i) => record('1', idOf(40100, i), 1_700_000_000_000_000_000n + BigInt(i), t))),
      );
      const s = await runTapline([
        '--input-file',
        `${file}|max`,
        '--output-binary',
        target,
        '--output-binary-track-response',
        '--output-stdout',
      ]);
      assert.equal(s.code, 0, s.stderr);
      assert.deepEqual(
        perConnection.map((b) => b.toString('latin1')),
        turns.map((b) => b.toString('latin1')),
      );
      assert.match(s.stderr, /connections opened 3\b/);
      assert.match(s.stderr, /target closed 3\b/);
      assert.equal(readRecords(s.stdout).filter((m) => m.meta.type === '3').length, 3);
    } finally {
      oneShot.close();
    }
  });

  it('replays a pcap captured with --input-raw-protocol binary, connection by connection', async () => {
    const pcap = join(CORPUS_DIR, 'ppp-four_ipv6_http_streams.pcap');
    const captured = await runTapline([
      '--input-raw',
      `${pcap}:80`,
      '--input-raw-protocol',
      'binary',
      '--output-stdout',
    ]);
    assert.equal(captured.code, 0, captured.stderr);
    const turns = new Map<string, Buffer[]>();
    for (const m of readRecords(captured.stdout)) {
      if (m.meta.type !== '1') continue;
      const key = m.meta.id.slice(0, 16);
      turns.set(key, [...(turns.get(key) ?? []), m.data]);
    }
    assert.ok(turns.size >= 2, `several connections in the capture (got ${turns.size})`);
    received = [];
    const r = await runTapline([
      '--input-raw',
      `${pcap}:80`,
      '--input-raw-protocol',
      'binary',
      '--output-binary',
      `127.0.0.1:${port}`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assertPerConnection(turns);
  });

  it('a target that reads nothing: the connection is dropped after -timeout (counted), the run ends', async () => {
    const deaf = createServer((socket) => {
      socket.pause(); // accepts, never reads
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => deaf.listen(0, '127.0.0.1', resolve));
    try {
      const target = `127.0.0.1:${(deaf.address() as { port: number }).port}`;
      const file = join(dir, 'big.gor');
      // Larger than what loopback's socket buffers absorb.
      // A second, small turn of the same connection: the session goes on after dropping the first connection.
      writeFileSync(
        file,
        Buffer.concat([
          record('1', idOf(40200, 0), 1_700_000_000_000_000_000n, Buffer.alloc(48 << 20, 7)),
          record('1', idOf(40200, 1), 1_700_000_000_000_000_001n, Buffer.from('small turn')),
        ]),
      );
      const r = await runTapline(['--input-file', file, '--output-binary', target, '--output-binary-timeout', '1s']);
      assert.match(r.stderr, /the target read nothing for 1000ms; connection dropped/);
      assert.match(r.stderr, /write timeouts 1\b/);
      // The big turn never reached the target whole: not sent, but failed, said, and the run exits 1. The small
      // turn goes out on a new connection.
      assert.match(r.stderr, /a turn of 50331648 bytes was not delivered: the connection was dropped/);
      assert.match(r.stderr, /: 2 written; sent 1, sent bytes 10 B, failed 1, connections opened 2\b/);
      assert.match(r.stderr, /1 message\(s\) not delivered \(1 failed\)/);
      assert.equal(r.code, 1, r.stderr);
      // tapline dropped it, the target did not close it: not counted twice (it said 'target closed 1').
      assert.doesNotMatch(r.stderr, /target closed/);
    } finally {
      deaf.close();
    }
  });

  it('-track-response with a target that streams: a reply still coming after -timeout ends there, the next turn goes', async () => {
    // Once it has read anything, the target writes a byte every 2 ms for as long as the connection lasts: its
    // reply is never quiet for the gap. The first reply was waited for without end: turns 2 and 3 never went,
    // and the run (a SIGINT too) never ended.
    const got: string[] = [];
    const streaming = createServer((socket) => {
      let timer: NodeJS.Timeout | undefined;
      socket.on('data', (d: Buffer) => {
        got.push(d.toString());
        timer ??= setInterval(() => socket.write('x'), 2);
      });
      socket.on('close', () => clearInterval(timer));
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => streaming.listen(0, '127.0.0.1', resolve));
    try {
      const r = await replayOneConnection(
        streaming,
        40300,
        ['T0;', 'T1;', 'T2;'],
        ['--output-binary-timeout', '1s', '--output-binary-reply-gap', '800ms'],
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(got.join(''), 'T0;T1;T2;', 'every turn reached the target, in order');
      assert.match(
        r.stderr,
        /: [0-9a-f]{16}: a reply was still coming 1000ms after its turn was written \(never quiet for 800ms\): it ends there and the next turn is sent; .*\(counted in replies_cut; a longer --output-binary-timeout lets long replies finish\)/,
      );
      // Each reply is a type-3 message (3 of them) and is counted cut (a loaded machine can starve the target
      // for the gap now and then, which ends a reply the ordinary way).
      assert.match(r.stderr, /sent 3, .*replies 3, replies cut [1-3]\b/);
    } finally {
      streaming.close();
    }
  });

  it('-track-response: a stop sends the queued turns without waiting for their replies (it waited -timeout for each)', async () => {
    // A target that reads everything and never answers: each turn waited its 3 s for a first reply byte, so a
    // stop with 30 turns queued took 90 s.
    let got = '';
    const mute = createServer((socket) => {
      socket.on('data', (d: Buffer) => {
        got += d.toString();
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', resolve));
    try {
      const turns = Array.from({ length: 30 }, (_, t) => `T${t};`);
      const r = await replayOneConnection(
        mute,
        40400,
        turns,
        ['--output-binary-timeout', '3s', '--exit-after', '1s'],
        40_000,
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(got, turns.join(''), 'every turn reached the target, in order');
      // The turn in flight at the stop ends as no reply; the 29 after it go without waiting (all 30 on a machine
      // so loaded that the stop comes before the first turn).
      assert.match(r.stderr, /sent 30, .*not tracked at stop (29|30)\b/);
    } finally {
      mute.close();
    }
  });

  it('an unreachable target: every turn counted as failed and warned; bad addresses are usage errors', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const { file } = conversation();
    const r = await runTapline(['--input-file', `${file}|max`, '--output-binary', `127.0.0.1:${deadPort}`]);
    assert.match(
      r.stderr,
      /cannot connect \(.*ECONNREFUSED.*\): \d+ turn\(s\) of connection [0-9a-f]{16} not replayed/,
    );
    assert.match(r.stderr, /failed 12\b/);
    assert.notEqual(r.code, null);

    const bad = await runTapline(['--input-file', file, '--output-binary', 'nohost']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--output-binary: "nohost": no port/);
    const neg = await runTapline(['--input-file', file, '--output-binary', ':9', '--output-binary-workers', '-1']);
    assert.equal(neg.code, 2);
    assert.match(neg.stderr, /--output-binary-workers: must be ≥ 0/);
  });
});
