import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TcpFlag } from '../types.js';
import { parseTcp, TcpInfo } from './tcp.js';
import { tcp } from './testkit.js';

function parse(seg: Buffer, truncated = false) {
  const info = new TcpInfo();
  const r = parseTcp(seg, 0, seg.length, truncated, info);
  return { r, info };
}

describe('tcp', () => {
  it('reads ports, unsigned seq/ack, flags, window and the payload offset', () => {
    const seg = tcp({
      srcPort: 65535,
      dstPort: 8080,
      seq: 0xfffffff0,
      ack: 0x80000000,
      flags: TcpFlag.PSH | TcpFlag.ACK | 0x80,
      window: 1234,
      payload: 'hi',
    });
    const { r, info } = parse(seg);
    assert.equal(r, null);
    assert.deepEqual(
      { ...info },
      {
        srcPort: 65535,
        dstPort: 8080,
        seq: 0xfffffff0,
        ack: 0x80000000,
        flags: 0x98,
        window: 1234,
        payloadOff: 20,
      },
    );
  });

  it('honours the data offset (options)', () => {
    assert.equal(parse(tcp({ options: Buffer.from([2, 4, 5, 0xb4, 1, 1, 4, 2]) })).info.payloadOff, 28);
  });

  it('a bad data offset is malformed; a header cut by the snaplen is truncated', () => {
    assert.equal(parse(tcp({ dataOffsetWords: 4 })).r, 'tcp-bad-data-offset');
    assert.equal(parse(tcp({ dataOffsetWords: 15 })).r, 'tcp-bad-data-offset');
    assert.equal(parse(tcp({ dataOffsetWords: 15 }), true).r, 'tcp-truncated-header');
    assert.equal(parse(tcp().subarray(0, 12), true).r, 'tcp-truncated-header');
    assert.equal(parse(tcp().subarray(0, 12), false).r, 'tcp-bad-data-offset');
  });
});
