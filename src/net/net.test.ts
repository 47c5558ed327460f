import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { needsZone, parseHostPort, refuseUnzonedLinkLocal } from './address.js';
import { Backoff } from './backoff.js';
import { fnv1a32 } from './fnv.js';
import { parseWsUrl } from './ws-dial.js';
import { encodeFrame, FrameDecoder, OP_BINARY, OP_CLOSE, OP_PING } from './ws-frames.js';

describe('net helpers', () => {
  it('fnv1a32 matches the published FNV-1a test vectors', () => {
    assert.equal(fnv1a32(''), 0x811c9dc5);
    assert.equal(fnv1a32('a'), 0xe40c292c);
    assert.equal(fnv1a32('foobar'), 0xbf9cf968);
  });

  it('parses host:port like Go, refusing what it cannot use', () => {
    assert.deepEqual(parseHostPort(':28020', 'x'), { host: '', port: 28020 });
    assert.deepEqual(parseHostPort('[::1]:80', 'x'), { host: '::1', port: 80 });
    assert.deepEqual(parseHostPort('h.example:0', 'x'), { host: 'h.example', port: 0 });
    assert.throws(() => parseHostPort('host', 'output-tcp'), /--output-tcp|no port/);
    assert.throws(() => parseHostPort('::1:80', 'x'), /brackets/);
    assert.throws(() => parseHostPort('h:70000', 'x'), /above 65535/);
    assert.throws(() => parseHostPort('h:x', 'x'), /not a number/);
  });

  it('backs off from 100ms doubling to the ceiling, and starts over after a success', () => {
    const b = new Backoff(100, 2000, () => 0.5);
    assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()], [100, 200, 400, 800, 1600, 2000]);
    b.reset();
    assert.equal(b.next(), 100);
  });

  it('ws URLs lose their userinfo, kept raw for the Basic header', () => {
    const t = parseWsUrl('wss://us%20er:p@ss@host:9/p?q');
    assert.equal(t.userinfo, 'us%20er:p@ss');
    assert.equal(t.url.href, 'wss://host:9/p?q');
    assert.throws(() => parseWsUrl('http://h/'), /ws:\/\//);
  });

  it('frames decode to what was encoded, whatever the split, at all three length encodings', () => {
    for (const size of [0, 125, 126, 65535, 65536]) {
      const payload = Buffer.alloc(size, 7);
      if (size > 0) payload[size - 1] = 1;
      const bytes = Buffer.concat([encodeFrame(OP_BINARY, payload, true), encodeFrame(OP_BINARY, payload, false)]);
      for (const split of size < 200 ? Array.from({ length: bytes.length }, (_, i) => i) : [1, 3, 9, 100, 65540]) {
        const d = new FrameDecoder();
        const got = [...d.push(bytes.subarray(0, split)), ...d.push(bytes.subarray(split))];
        assert.equal(got.length, 2);
        for (const f of got) {
          assert.equal(f.opcode, OP_BINARY);
          assert.ok(f.payload.equals(payload));
        }
      }
    }
  });

  it("the sender's decoder passes over the server's data frames without keeping them, and still sees its pings and close", () => {
    // A server that pushes (or echoes) data: an 8 MiB binary frame, then a ping and a close, in 64 KiB pieces.
    // Each piece was added to all kept before it (memory to the frame's size, quadratic copying).
    const size = 8 << 20;
    const head = Buffer.alloc(10);
    head[0] = 0x80 | OP_BINARY;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(size), 2);
    const tail = Buffer.concat([
      encodeFrame(OP_BINARY, Buffer.from('small'), false),
      encodeFrame(OP_PING, Buffer.from('p'), false),
      encodeFrame(OP_CLOSE, Buffer.from([0x03, 0xe8]), false),
    ]);
    const d = new FrameDecoder({ controlOnly: true });
    const got = [...d.push(Buffer.concat([head, Buffer.alloc(100)]))];
    const piece = Buffer.alloc(64 << 10, 0x41);
    let most = 0;
    for (let left = size - 100; left > 0; left -= piece.length) {
      got.push(...d.push(piece.subarray(0, Math.min(piece.length, left))));
      most = Math.max(most, d['buf'].length);
    }
    for (let i = 0; i < tail.length; i += 3) got.push(...d.push(tail.subarray(i, i + 3)));
    assert.ok(most < 1024, `${most} bytes of the data frame kept`);
    assert.deepEqual(
      got.map((f) => [f.opcode, f.payload.toString('hex')]),
      [
        [OP_PING, '70'],
        [OP_CLOSE, '03e8'],
      ],
    );
    assert.throws(
      () => new FrameDecoder({ controlOnly: true }).push(Buffer.from([0x89, 126, 0, 200])),
      /control frame of 200 bytes/,
    );
  });
});

describe('IPv6 link-local addresses a dialing flag is given', () => {
  it('are refused at the start without a zone (every dial would fail with EINVAL), saying how to write them', () => {
    for (const host of ['fe80::1', 'FE80::1', 'febf::2']) assert.equal(needsZone(host), true, host);
    for (const host of ['fe80::1%eth0', 'fe80::1%2', '::1', 'fd00::1', 'fec0::1', 'staging', '10.0.0.1', '']) {
      assert.equal(needsZone(host), false, host);
    }
    assert.throws(
      () => refuseUnzonedLinkLocal(parseHostPort('[fe80::1]:80', 'output-tcp'), 'output-tcp'),
      (e: Error & { where?: string; code?: string }) =>
        e.message === '[fe80::1]:80: an IPv6 link-local address needs its interface: [fe80::1%eth0]:80' &&
        e.where === '--output-tcp' &&
        e.code === 'TAPLINE_ERR_USAGE',
    );
    refuseUnzonedLinkLocal(parseHostPort('[fe80::1%lo]:80', 'output-tcp'), 'output-tcp');
  });
});
