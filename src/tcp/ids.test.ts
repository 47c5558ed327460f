/** gor id helpers against the byte layout of spec §2.5 (golden values and a Buffer-built oracle). */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CONTINUE_ACK_SHIFT, continueAck, requestId, responseId } from './ids.js';

/** The layout written out with Buffer methods: port, port, 4 address bytes, number; big-endian. */
function oracle(clientPort: number, serverPort: number, ip4: number, n: number): string {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(clientPort, 0);
  b.writeUInt16BE(serverPort, 2);
  b.writeUInt32BE(ip4 >>> 0, 4);
  b.writeUInt32BE(n >>> 0, 8);
  return b.toString('hex');
}

describe('gor ids (§2.5)', () => {
  it('lays out client port, server port, client IPv4 and ACK as 24 lowercase hex chars', () => {
    // 54321 = 0xd431, 80 = 0x0050, 192.168.1.10 = c0 a8 01 0a, ACK 0x01020304
    assert.equal(requestId(54321, 80, 0xc0a8010a, 0x01020304), 'd4310050c0a8010a01020304');
    assert.equal(requestId(0, 0, 0, 0), '000000000000000000000000');
    assert.equal(requestId(65535, 65535, 0xffffffff, 0xffffffff), 'ffffffffffffffffffffffff');
  });

  it('uses the same layout with SEQ for responses, so a response matches its request', () => {
    const ack = 0x8badf00d; // the request carried this ACK; the server's first response byte has this SEQ
    assert.equal(responseId(40000, 8080, 0x7f000001, ack), requestId(40000, 8080, 0x7f000001, ack));
    assert.equal(responseId(40000, 8080, 0x7f000001, ack), '9c401f907f0000018badf00d');
  });

  it('takes IPv6 clients by their last 4 bytes (::1 → 00000001)', () => {
    assert.equal(requestId(50000, 80, 0x00000001, 5), 'c35000500000000100000005');
  });

  it('accepts signed 32-bit inputs (as bit operations produce them)', () => {
    assert.equal(requestId(1, 2, 0xc0a8010a | 0, -1), '00010002c0a8010affffffff');
  });

  it('shifts a 100-continue request ACK by the 25 bytes of "HTTP/1.1 100 Continue\\r\\n\\r\\n", wrapping at 2^32', () => {
    assert.equal(CONTINUE_ACK_SHIFT, Buffer.byteLength('HTTP/1.1 100 Continue\r\n\r\n'));
    assert.equal(continueAck(1000), 1025);
    assert.equal(continueAck(0xfffffff0), 9);
  });

  it('matches the Buffer oracle for any input', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 65535 }),
        fc.integer({ min: 0, max: 65535 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 0xffffffff }),
        (cp, sp, ip, n) => {
          assert.equal(requestId(cp, sp, ip, n), oracle(cp, sp, ip, n));
          assert.equal(responseId(cp, sp, ip, n), oracle(cp, sp, ip, n));
        },
      ),
    );
  });
});
