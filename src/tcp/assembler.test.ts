/**
 * Transcript tests of the assembler: push segments in a given order, read back what each side's consumer
 * saw. Client ISN 1000 (data from 1001), server ISN 5000 (data from 5001) unless a test says otherwise.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TcpFlag } from '../capture/types.js';
import { isTaplineError } from '../core/errors.js';
import { TcpAssembler } from './assembler.js';
import { requestId, responseId } from './ids.js';
import { CLIENT, Recorder, SERVER, seg } from './testing.js';
import type { AssemblerOptions } from './types.js';

const { SYN, ACK, FIN, RST, PSH } = TcpFlag;
const MS = 1_000_000n;

function setup(options: Partial<AssemblerOptions> = {}) {
  const rec = new Recorder();
  const asm = new TcpAssembler({ onStream: rec.onStream, ...options });
  return { asm, rec };
}

/** Three-way handshake: client ISN 1000, server ISN 5000. */
function handshake(asm: TcpAssembler, tsNs = 0n): void {
  asm.push(seg({ seq: 1000, flags: SYN, tsNs }));
  asm.push(seg({ from: 'server', seq: 5000, ack: 1001, flags: SYN | ACK, tsNs }));
  asm.push(seg({ seq: 1001, ack: 5001, tsNs }));
}

describe('TcpAssembler transcripts', () => {
  it('SYN, segment 2 before 1, FIN: one stream, bytes in order, then end', () => {
    const { asm, rec } = setup();
    handshake(asm);
    asm.push(seg({ seq: 1007, ack: 5001, data: 'world', tsNs: 1n }));
    assert.equal(rec.events.length, 0, 'nothing before the hole fills');
    asm.push(seg({ seq: 1001, ack: 5001, data: 'hello ', tsNs: 2n }));
    asm.push(seg({ seq: 1012, ack: 5001, flags: FIN | ACK, tsNs: 3n }));
    assert.equal(rec.text('client'), 'hello world');
    assert.deepEqual(rec.ends(), ['fin']);
    assert.deepEqual(
      rec.data('client').map((e) => e.meta),
      [
        { offset: 0, seq: 1001, ack: 5001, ackValid: true, tsNs: 2n },
        { offset: 6, seq: 1007, ack: 5001, ackValid: true, tsNs: 1n },
      ],
    );
    assert.equal(rec.opened.length, 1);
    const conn = rec.opened[0]!.conn;
    assert.equal(conn.roleSource, 'syn');
    assert.deepEqual(
      [conn.clientIp, conn.clientPort, conn.serverIp, conn.serverPort],
      [CLIENT.ip, CLIENT.port, SERVER.ip, SERVER.port],
    );
    assert.equal(asm.stats.outOfOrderSegments, 1);
    assert.equal(asm.stats.bytesDelivered, 11);
    assert.equal(asm.stats.bufferedBytes, 0);
    assert.equal(asm.stats.gaps, 0);
  });

  it('gives a request and its response the same gor id from chunk metadata', () => {
    const { asm, rec } = setup();
    handshake(asm);
    asm.push(seg({ seq: 1001, ack: 5001, flags: ACK | PSH, data: 'GET / HTTP/1.1\r\n\r\n' }));
    asm.push(seg({ from: 'server', seq: 5001, ack: 1019, flags: ACK | PSH, data: 'HTTP/1.1 200 OK\r\n' }));
    asm.push(seg({ seq: 1019, ack: 5018, flags: ACK | PSH, data: 'GET /2 HTTP/1.1\r\n\r\n' }));
    asm.push(seg({ from: 'server', seq: 5018, ack: 1039, flags: ACK | PSH, data: 'HTTP/1.1 204 No\r\n' }));
    const [req1, req2] = rec.data('client');
    const [res1, res2] = rec.data('server');
    const c = req1!.conn;
    const reqId = (m: { ack: number }) => requestId(c.clientPort, c.serverPort, c.clientIp4, m.ack);
    const resId = (m: { seq: number }) => responseId(c.clientPort, c.serverPort, c.clientIp4, m.seq);
    assert.equal(reqId(req1!.meta), resId(res1!.meta));
    assert.equal(reqId(req2!.meta), resId(res2!.meta));
    assert.notEqual(reqId(req1!.meta), reqId(req2!.meta));
    assert.equal(reqId(req1!.meta), '9c4000500a00000100001389');
  });

  it('RST mid-stream: buffered data is delivered behind a gap, both sides end, stragglers are counted', () => {
    const { asm, rec } = setup({ skipAckedHoles: false });
    handshake(asm);
    asm.push(seg({ seq: 1001, data: 'abc' }));
    asm.push(seg({ seq: 1007, data: 'ghi' })); // 1004..1006 missing
    asm.push(seg({ from: 'server', seq: 5001, data: 'resp' }));
    asm.push(seg({ from: 'server', seq: 5005, flags: RST | ACK, tsNs: 5n }));
    assert.equal(rec.text('client'), 'abc[gap 3]ghi');
    assert.equal(rec.text('server'), 'resp');
    assert.deepEqual(rec.ends('client'), ['rst']);
    assert.deepEqual(rec.ends('server'), ['rst']);
    assert.equal(rec.gaps('client')[0]!.meta.reason, 'rst');
    asm.push(seg({ seq: 1004, data: 'def' }));
    assert.equal(asm.stats.afterCloseSegments, 1);
    assert.equal(rec.text('client'), 'abc[gap 3]ghi');
    asm.expire(10_000n * MS);
    assert.equal(asm.stats.flowsClosed, 1, 'a reset flow is closed, not expired');
    assert.equal(asm.stats.flowsExpired, 0);
  });

  it('retransmission with different segmentation is delivered once', () => {
    const { asm, rec } = setup();
    handshake(asm);
    asm.push(seg({ seq: 1001, data: 'abc' }));
    asm.push(seg({ seq: 1004, data: 'def' }));
    asm.push(seg({ seq: 1002, data: 'bcde' })); // wholly old
    asm.push(seg({ seq: 1001, data: 'abcdefgh' })); // old head, new tail
    asm.push(seg({ seq: 1004, data: 'def' })); // exact duplicate
    assert.equal(rec.text('client'), 'abcdefgh');
    assert.deepEqual(
      rec.data('client').map((e) => [e.meta.offset, e.meta.seq]),
      [
        [0, 1001],
        [3, 1004],
        [6, 1007],
      ],
    );
    assert.equal(asm.stats.retransmittedSegments, 3);
    assert.equal(asm.stats.retransmittedBytes, 4 + 6 + 3);
  });

  it('a retransmission overlapping delivered and buffered bytes counts once, with all its known bytes', () => {
    const { asm, rec } = setup();
    handshake(asm);
    asm.push(seg({ seq: 1001, data: 'abc' }));
    asm.push(seg({ seq: 1007, data: 'ghi' }));
    asm.push(seg({ seq: 1002, data: 'bcdefgh' })); // 'bc' delivered, 'def' new, 'gh' buffered
    assert.equal(rec.text('client'), 'abcdefghi');
    assert.equal(asm.stats.retransmittedSegments, 1);
    assert.equal(asm.stats.retransmittedBytes, 4);
  });

  it('overlap with conflicting bytes keeps the first-seen bytes and counts the conflict', () => {
    const { asm, rec } = setup();
    handshake(asm);
    asm.push(seg({ seq: 1004, data: 'DEF' })); // ahead of a hole
    asm.push(seg({ seq: 1001, data: 'abcdefg' })); // fills the hole, disagrees on 1004..1006
    assert.equal(rec.text('client'), 'abcDEFg');
    assert.equal(asm.stats.conflictingOverlaps, 1);
    assert.equal(asm.stats.retransmittedBytes, 3);
  });

  it('sequence numbers wrap around 2^32', () => {
    const { asm, rec } = setup();
    const isn = 0xfffffffa;
    asm.push(seg({ seq: isn, flags: SYN }));
    asm.push(seg({ seq: 0xfffffffb + 4, data: 'efgh' })); // 0xffffffff, 0, 1, 2
    asm.push(seg({ seq: 0xfffffffb, data: 'abcd' }));
    asm.push(seg({ seq: 3, data: 'ij' }));
    asm.push(seg({ seq: 5, flags: FIN | ACK }));
    assert.equal(rec.text('client'), 'abcdefghij');
    assert.deepEqual(
      rec.data('client').map((e) => [e.meta.offset, e.meta.seq]),
      [
        [0, 0xfffffffb],
        [4, 0xffffffff],
        [8, 3],
      ],
    );
    assert.deepEqual(rec.ends(), ['fin']);
  });

  it('mid-stream start: the first seen byte is offset 0; roles come from classify', () => {
    const { asm, rec } = setup({
      classify: (s) => (s.dstPort === 80 ? 'client' : s.srcPort === 80 ? 'server' : undefined),
    });
    asm.push(seg({ from: 'server', seq: 77_000, ack: 123, data: 'HTTP/1.1 200 OK\r\n' }));
    asm.push(seg({ seq: 123, ack: 77_017, data: 'GET /next' }));
    assert.equal(rec.text('server'), 'HTTP/1.1 200 OK\r\n');
    assert.equal(rec.text('client'), 'GET /next');
    assert.equal(rec.data('server')[0]!.meta.offset, 0);
    assert.equal(rec.data('client')[0]!.meta.offset, 0);
    assert.equal(rec.opened[0]!.conn.roleSource, 'classify');
    assert.equal(rec.opened[0]!.conn.clientPort, CLIENT.port);
    assert.equal(asm.stats.midstreamStarts, 2);
  });

  it('mid-stream start on a keepalive probe: the lone zero byte is not data', () => {
    const { asm, rec } = setup();
    asm.push(seg({ seq: 4999, data: '\x00' })); // the capture starts while the connection idles
    asm.push(seg({ from: 'server', seq: 9000, ack: 5000 }));
    asm.push(seg({ seq: 5000, data: 'GET / HTTP/1.1\r\n\r\n' }));
    assert.equal(rec.text('client'), 'GET / HTTP/1.1\r\n\r\n');
    assert.equal(rec.data('client')[0]!.meta.seq, 5000);
    assert.equal(asm.stats.keepalives, 1);
    assert.equal(asm.stats.midstreamStarts, 0);
  });

  it('roles from content when classify cannot tell, else a counted guess (lower port = server)', () => {
    const hinted = setup({ contentHint: (p) => (p.toString('latin1').startsWith('HTTP/') ? 'server' : undefined) });
    hinted.asm.push(seg({ from: 'server', seq: 1, data: 'HTTP/1.1 200 OK\r\n' }));
    assert.equal(hinted.rec.opened[0]!.conn.roleSource, 'content');
    assert.equal(hinted.rec.opened[0]!.side, 'server');
    const guessed = setup();
    guessed.asm.push(seg({ from: 'server', seq: 1, data: '\x00\x01' }));
    assert.equal(guessed.rec.opened[0]!.conn.roleSource, 'guess');
    assert.equal(guessed.rec.opened[0]!.conn.serverPort, SERVER.port);
    assert.equal(guessed.asm.stats.rolesGuessed, 1);
  });

  it('a reordered handshake (SYN+ACK first) still assigns roles from the handshake', () => {
    const { asm, rec } = setup();
    asm.push(seg({ from: 'server', seq: 5000, ack: 1001, flags: SYN | ACK }));
    asm.push(seg({ seq: 1000, flags: SYN }));
    asm.push(seg({ seq: 1001, ack: 5001, data: 'hi' }));
    assert.equal(rec.text('client'), 'hi');
    assert.equal(rec.opened[0]!.conn.roleSource, 'synack');
    assert.equal(rec.opened[0]!.conn.clientPort, CLIENT.port);
    assert.equal(asm.stats.midstreamStarts, 0);
  });

  it('gap then continuation: a hole older than the reorder timeout is skipped; the late filler is counted', () => {
    const { asm, rec } = setup({ reorderTimeoutNs: 100n * MS });
    handshake(asm);
    asm.push(seg({ seq: 1001, data: 'aaa', tsNs: 0n }));
    asm.push(seg({ seq: 1007, data: 'ccc', tsNs: 10n * MS }));
    asm.push(seg({ seq: 1010, data: 'ddd', tsNs: 50n * MS }));
    assert.equal(rec.text('client'), 'aaa');
    asm.push(seg({ from: 'server', seq: 5001, data: 'x', tsNs: 111n * MS })); // any packet of the flow checks
    assert.equal(rec.text('client'), 'aaa[gap 3]cccddd');
    const gap = rec.gaps('client')[0]!;
    assert.deepEqual(gap.meta, { offset: 3, seq: 1004, tsNs: 111n * MS, reason: 'timeout' });
    asm.push(seg({ seq: 1013, data: 'eee', tsNs: 112n * MS }));
    asm.push(seg({ seq: 1004, data: 'bbb', tsNs: 113n * MS })); // too late
    assert.equal(rec.text('client'), 'aaa[gap 3]cccdddeee');
    assert.deepEqual(rec.data('client').at(-1)!.meta.offset, 12);
    assert.equal(asm.stats.gapsTimeout, 1);
    assert.equal(asm.stats.bytesLost, 3);
    assert.equal(asm.stats.lateSegments, 1);
    assert.equal(asm.stats.lateBytes, 3);
    assert.equal(asm.stats.retransmittedSegments, 0);
  });

  it('a hole the receiver says it misses (duplicate ACKs) waits for the retransmission past the reorder timeout', () => {
    const { asm, rec } = setup({ reorderTimeoutNs: 100n * MS, missingHoldNs: 1000n * MS });
    handshake(asm);
    asm.push(seg({ seq: 1001, data: 'aaa', tsNs: 0n }));
    asm.push(seg({ from: 'server', seq: 5001, ack: 1004, tsNs: 1n * MS })); // acks 'aaa', before the hole
    asm.push(seg({ seq: 1007, data: 'ccc', tsNs: 10n * MS })); // 'bbb' was lost on the way
    asm.push(seg({ from: 'server', seq: 5001, ack: 1004, tsNs: 11n * MS })); // duplicate ACK: the server misses it
    for (let t = 100n; t <= 900n; t += 100n) asm.push(seg({ from: 'server', seq: 5001, ack: 1004, tsNs: t * MS }));
    assert.equal(rec.text('client'), 'aaa');
    asm.push(seg({ seq: 1004, data: 'bbb', tsNs: 950n * MS })); // the retransmission, 940 ms later
    assert.equal(rec.text('client'), 'aaabbbccc');
    assert.equal(asm.stats.gapsTimeout, 0);
    // A hole no ACK says is missed (a capture of one direction, a loss of the capture) still waits 100 ms only.
    asm.push(seg({ seq: 1013, data: 'eee', tsNs: 960n * MS }));
    asm.push(seg({ from: 'server', seq: 5001, ack: 1007, tsNs: 961n * MS })); // an older ACK says nothing of it
    asm.push(seg({ from: 'server', seq: 5001, ack: 1007, tsNs: 1062n * MS }));
    assert.equal(rec.text('client'), 'aaabbbccc[gap 3]eee');
    // A missed hole is given up after missingHoldNs.
    asm.push(seg({ seq: 1019, data: 'ggg', tsNs: 1100n * MS }));
    asm.push(seg({ from: 'server', seq: 5001, ack: 1016, tsNs: 1101n * MS }));
    asm.push(seg({ from: 'server', seq: 5001, ack: 1016, tsNs: 2000n * MS }));
    assert.equal(rec.text('client'), 'aaabbbccc[gap 3]eee');
    asm.push(seg({ from: 'server', seq: 5001, ack: 1016, tsNs: 2101n * MS }));
    assert.equal(rec.text('client'), 'aaabbbccc[gap 3]eee[gap 3]ggg');
    assert.equal(asm.stats.gapsTimeout, 2);
  });

  it('skips a hole at once when the peer ACKs bytes the capture never saw', () => {
    const { asm, rec } = setup();
    handshake(asm);
    asm.push(seg({ seq: 1001, data: 'aaa' }));
    asm.push(seg({ seq: 1007, data: 'ccc' }));
    asm.push(seg({ from: 'server', seq: 5001, ack: 1004 })); // acks only what we have
    assert.equal(rec.text('client'), 'aaa');
    asm.push(seg({ from: 'server', seq: 5001, ack: 1010 })); // the server got 1004..1006: we lost them
    assert.equal(rec.text('client'), 'aaa[gap 3]ccc');
    assert.equal(rec.gaps('client')[0]!.meta.reason, 'acked');
    assert.equal(asm.stats.gapsAcked, 1);
    assert.equal(asm.stats.emptySegments, 3); // the handshake's ACK and the two server ACKs
  });

  it('ACK-based skipping also reveals a lost tail, but not a lone unseen FIN', () => {
    const { asm, rec } = setup();
    handshake(asm);
    asm.push(seg({ seq: 1001, data: 'aaa' }));
    asm.push(seg({ from: 'server', seq: 5001, ack: 1005 })); // one past: maybe just our missed FIN
    assert.equal(rec.gaps().length, 0);
    asm.push(seg({ from: 'server', seq: 5001, ack: 1009 }));
    assert.equal(rec.text('client'), 'aaa[gap 5]');
  });

  it('the per-stream buffer bound skips the first hole', () => {
    const { asm, rec } = setup({ maxStreamBufferBytes: 8 });
    handshake(asm);
    asm.push(seg({ seq: 1003, data: 'cccc' }));
    asm.push(seg({ seq: 1009, data: 'eeee' }));
    assert.equal(rec.events.length, 0);
    asm.push(seg({ seq: 1015, data: 'gggg' })); // 12 bytes held > 8
    assert.equal(rec.text('client'), '[gap 2]cccc', 'one skip brings it back to 8 bytes');
    assert.equal(asm.stats.bufferLimitHits, 1);
    assert.equal(asm.stats.gapsBufferLimit, 1);
    assert.equal(asm.stats.bufferedBytes, 8);
  });

  it('the per-stream segment bound skips holes too (tiny segments)', () => {
    const { asm, rec } = setup({ maxStreamBufferSegments: 2 });
    handshake(asm);
    for (const [i, ch] of ['b', 'd', 'f'].entries()) asm.push(seg({ seq: 1002 + 2 * i, data: ch }));
    assert.equal(rec.text('client'), '[gap 1]b');
    assert.equal(asm.stats.bufferLimitHits, 1);
  });

  it('segments that cannot open a flow are counted as orphans', () => {
    const { asm } = setup();
    asm.push(seg({ seq: 1, ack: 2 })); // pure ACK of an unknown flow
    asm.push(seg({ seq: 1, flags: FIN | ACK }));
    asm.push(seg({ seq: 1, flags: RST }));
    assert.equal(asm.stats.orphanSegments, 3);
    assert.equal(asm.flowCount, 0);
  });

  it('the global buffer bound skips holes in the least recently active flows first', () => {
    const { asm, rec } = setup({ maxBufferBytes: 10 });
    handshake(asm);
    asm.push(seg({ seq: 1005, data: 'old-flow' })); // 8 bytes behind a hole
    const other = { ...seg({ seq: 9005, data: 'new!!' }), srcPort: 40001 }; // another flow
    asm.push(other); // starts mid-stream: in order, nothing held
    assert.equal(asm.stats.bufferedBytes, 8);
    asm.push({ ...seg({ seq: 9020, data: 'x'.repeat(11) }), srcPort: 40001 }); // 19 bytes held > 10
    assert.equal(rec.text('client', 1), '[gap 4]old-flow', 'the older flow gives way first');
    assert.equal(rec.text('client', 2), 'new!![gap 10]xxxxxxxxxxx', 'still 11 > 10: the newer one too');
    assert.equal(asm.stats.bufferLimitHits, 1);
    assert.equal(asm.stats.bufferedBytes, 0);
  });

  it('a snaplen-truncated segment: the missing tail becomes a gap once the next segment shows its size', () => {
    const { asm, rec } = setup();
    handshake(asm);
    asm.push(seg({ seq: 1001, data: 'abc', truncated: true })); // really 5 bytes
    asm.push(seg({ seq: 1006, data: 'fgh' }));
    asm.push(seg({ seq: 1009, data: 'ij', truncated: true }));
    asm.push(seg({ seq: 1015, flags: FIN | ACK }));
    assert.equal(rec.text('client'), 'abc[gap 2]fghij[gap 4]');
    assert.deepEqual(rec.ends(), ['fin']);
    assert.equal(asm.stats.truncatedSegments, 2);
    assert.equal(asm.stats.gapsTruncated, 2);
  });

  it('a truncated tail at the end of a stream is a gap of unknown length', () => {
    const { asm, rec } = setup({ skipAckedHoles: false });
    handshake(asm);
    asm.push(seg({ seq: 1001, data: 'abc', truncated: true, tsNs: 1n }));
    asm.expire(5000n * MS);
    assert.equal(rec.text('client'), 'abc[gap ?]');
    assert.deepEqual(rec.ends(), ['expired']);
    assert.equal(asm.stats.unknownGaps, 1);
  });

  it('FIN before the last data: end comes after every byte', () => {
    const { asm, rec } = setup();
    handshake(asm);
    asm.push(seg({ seq: 1001, data: 'ab' }));
    asm.push(seg({ seq: 1005, flags: FIN | ACK }));
    assert.deepEqual(rec.ends(), []);
    asm.push(seg({ seq: 1003, data: 'cd' }));
    assert.equal(rec.text('client'), 'abcd');
    assert.deepEqual(rec.ends(), ['fin']);
    asm.push(seg({ seq: 1005, data: 'zz' })); // beyond the FIN
    assert.equal(asm.stats.afterCloseSegments, 1);
  });

  it('expiry flushes idle flows: buffered data behind gaps, then end("expired")', () => {
    const { asm, rec } = setup({ skipAckedHoles: false });
    handshake(asm, 1000n * MS);
    asm.push(seg({ seq: 1001, data: 'abc', tsNs: 1000n * MS }));
    asm.push(seg({ seq: 1006, data: 'fg', tsNs: 1100n * MS }));
    assert.equal(asm.expire(3000n * MS), 0, 'idle for 1.9 s only');
    assert.equal(asm.expire(3100n * MS), 1);
    assert.equal(rec.text('client'), 'abc[gap 2]fg');
    assert.deepEqual(rec.ends(), ['expired']);
    assert.equal(rec.gaps()[0]!.meta.reason, 'expired');
    assert.equal(asm.flowCount, 0);
    assert.equal(asm.stats.flowsExpired, 1);
    assert.equal(asm.stats.flowsActive, 0);
    assert.equal(asm.stats.bufferedBytes, 0);
  });

  it('the flow cap evicts the least recently active flow', () => {
    const { asm, rec } = setup({ maxFlows: 2 });
    const from = (port: number, data: string, tsNs: bigint) => ({ ...seg({ seq: 1, data, tsNs }), srcPort: port });
    asm.push(from(40001, 'one', 1n));
    asm.push(from(40002, 'two', 2n));
    asm.push(from(40001, '+', 3n)); // 40001 is now the most recent
    asm.push(from(40003, 'three', 4n));
    assert.equal(asm.flowCount, 2);
    assert.deepEqual(
      rec.events.filter((e) => e.kind === 'end').map((e) => [e.conn.clientPort, e.kind === 'end' && e.reason]),
      [[40002, 'evicted']],
    );
    assert.equal(asm.stats.flowsEvicted, 1);
  });

  it('keepalive probes and zero-length segments deliver nothing; exact duplicates are harmless', () => {
    const { asm, rec } = setup();
    const packets = [
      seg({ seq: 1000, flags: SYN }),
      seg({ from: 'server', seq: 5000, ack: 1001, flags: SYN | ACK }),
      seg({ seq: 1001, ack: 5001 }),
      seg({ seq: 1001, ack: 5001, data: 'ping' }),
      seg({ from: 'server', seq: 5001, ack: 1005, data: 'pong' }),
      seg({ seq: 1004, ack: 5005, data: '\x00' }), // keepalive: one byte just below the next expected
      seg({ seq: 1005, ack: 5005, flags: FIN | ACK }),
      seg({ from: 'server', seq: 5005, ack: 1006, flags: FIN | ACK }),
    ];
    for (const p of packets) {
      asm.push(p);
      asm.push(p); // loopback shows each packet twice
    }
    assert.equal(rec.text('client'), 'ping');
    assert.equal(rec.text('server'), 'pong');
    assert.deepEqual(rec.ends(), ['fin', 'fin']);
    assert.equal(asm.stats.keepalives, 2);
    assert.equal(asm.stats.gaps, 0);
    asm.expire(10_000n * MS);
    assert.equal(asm.stats.flowsClosed, 1);
  });

  it('a new SYN on the same 4-tuple opens a new connection (port reuse)', () => {
    const { asm, rec } = setup();
    handshake(asm);
    asm.push(seg({ seq: 1001, data: 'first' }));
    asm.push(seg({ seq: 1000, flags: SYN })); // retransmitted SYN: same connection
    asm.push(seg({ seq: 90000, flags: SYN })); // a new ISN: a new connection
    asm.push(seg({ seq: 90001, data: 'second' }));
    assert.deepEqual(rec.ends(), ['reused']);
    assert.equal(rec.text('client', 1), 'first');
    assert.equal(rec.text('client', 2), 'second');
    assert.equal(asm.stats.flowsReused, 1);
    assert.equal(asm.stats.flowsOpened, 2);
  });

  it('flush ends every open stream; a discarded direction is still reassembled and counted', () => {
    const { asm, rec } = setup();
    const asm2 = new TcpAssembler({
      onStream: (conn, side) => (side === 'client' ? rec.onStream(conn, side) : undefined),
    });
    for (const a of [asm, asm2]) {
      handshake(a);
      a.push(seg({ seq: 1001, data: 'req' }));
      a.push(seg({ from: 'server', seq: 5001, data: 'resp' }));
      a.flush();
      assert.equal(a.flowCount, 0);
      assert.equal(a.stats.bytesDelivered, 7);
      assert.equal(a.stats.flowsFlushed, 1);
    }
    assert.deepEqual(rec.ends(), ['flush', 'flush', 'flush']);
  });

  it('TFO: data on the SYN starts one past the SYN’s sequence number', () => {
    const { asm, rec } = setup();
    asm.push(seg({ seq: 1000, flags: SYN, data: 'early' }));
    asm.push(seg({ seq: 1006, ack: 5001, data: '-on' }));
    assert.equal(rec.text('client'), 'early-on');
    assert.deepEqual(rec.data('client')[0]!.meta, { offset: 0, seq: 1001, ack: 0, ackValid: false, tsNs: 0n });
  });

  it('rejects bad options with a TaplineError', () => {
    for (const bad of [
      { maxFlows: 0 },
      { maxStreamBufferBytes: 1.5 },
      { expireNs: 0n },
    ] as Partial<AssemblerOptions>[]) {
      assert.throws(
        () => new TcpAssembler({ onStream: () => undefined, ...bad }),
        (e: unknown) => isTaplineError(e) && e.code === 'TAPLINE_ERR_USAGE',
      );
    }
  });

  it('a stream that goes on more than a window ahead: a lone stray is dropped, two in a row are a gap', () => {
    const { asm, rec } = setup();
    handshake(asm);
    asm.push(seg({ seq: 1001, data: 'abc' }));
    const far = (1004 + 0x5000_0000) >>> 0; // 1.25 GiB past the next expected byte
    asm.push(seg({ seq: far, data: 'stray' })); // alone: a stale or forged segment
    asm.push(seg({ seq: 1004, data: 'def' }));
    assert.equal(rec.text('client'), 'abcdef');
    assert.equal(asm.stats.outOfWindowSegments, 1);
    // The next one starts where the first ended, but in-window data came between: still strays.
    asm.push(seg({ seq: (far + 5) >>> 0, data: 'xyz' }));
    assert.equal(asm.stats.outOfWindowSegments, 2);
    // Two in a row, the second where the first ended: the capture lost ~1.25 GiB and the stream goes on there.
    const lost = 0x6000_0000;
    asm.push(seg({ seq: (1007 + lost) >>> 0, data: 'one' }));
    asm.push(seg({ seq: (1010 + lost) >>> 0, data: 'two' }));
    asm.push(seg({ seq: (1013 + lost) >>> 0, data: 'three' }));
    assert.equal(rec.text('client'), `abcdef[gap ${lost + 3}]twothree`);
    assert.equal(rec.gaps('client')[0]!.meta.reason, 'jump');
    assert.equal(asm.stats.outOfWindowSegments, 3);
    assert.equal(asm.stats.bytesLost, lost + 3);
    // Across 2^32 too (the signed distance reads it as behind).
    const behind = (1018 + lost + 0xa000_0000) >>> 0;
    asm.push(seg({ seq: behind, data: 'p' }));
    asm.push(seg({ seq: (behind + 1) >>> 0, data: 'q' }));
    assert.ok(rec.text('client').endsWith(`twothree[gap ${0xa000_0001}]q`), rec.text('client'));
  });
});
