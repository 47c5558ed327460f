/** Flow table lookups, with hash collisions forced and IPv6 addresses that share gor's 4 id bytes. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TunnelKind, tunnelId, vlanKey } from '../capture/types.js';
import { TcpAssembler } from './assembler.js';
import { connectionOf, Flow } from './flow.js';
import { directionHash } from './flow-key.js';
import { FlowTable } from './flow-table.js';
import { createStats } from './stats.js';
import { ChunkMetaScratch } from './stream.js';
import { Recorder, seg } from './testing.js';

const ctx = {
  stats: createStats(),
  chunkMeta: new ChunkMetaScratch(),
  onStream: () => undefined,
  reorderTimeoutNs: 1n,
  missingHoldNs: 1n,
  maxStreamBufferBytes: 1,
  maxStreamBufferSegments: 1,
};

function flowFrom(port: number, id: number): Flow {
  return new Flow(
    ctx,
    connectionOf(id, { ...seg({ seq: 1, data: 'x' }), srcPort: port }, { side: 'client', source: 'syn' }),
  );
}

describe('FlowTable', () => {
  it('finds each direction of each flow when every hash collides, across removals', () => {
    const table = new FlowTable(() => 7);
    const flows = [flowFrom(40001, 1), flowFrom(40002, 2), flowFrom(40003, 3)];
    for (const f of flows) table.add(f);
    const lookup = (port: number, from: 'client' | 'server') => {
      const s = seg({ from, seq: 1 });
      return table.get(from === 'client' ? { ...s, srcPort: port } : { ...s, dstPort: port });
    };
    for (const [i, f] of flows.entries()) {
      assert.equal(lookup(40001 + i, 'client'), f.client);
      assert.equal(lookup(40001 + i, 'server'), f.server);
    }
    table.remove(flows[1]!); // middle of the chain
    assert.equal(lookup(40002, 'client'), undefined);
    assert.equal(lookup(40001, 'server'), flows[0]!.server);
    table.remove(flows[2]!); // head of the chain
    assert.equal(lookup(40003, 'client'), undefined);
    assert.equal(lookup(40001, 'client'), flows[0]!.client);
    assert.equal(table.size, 1);
    assert.equal(table.head, flows[0]);
    assert.equal(table.tail, flows[0]);
  });

  it('hashes to small non-negative integers that differ by direction', () => {
    const h = directionHash(0x0a000001, 40000, 0x0a000002, 80, 0, 0);
    assert.ok(Number.isInteger(h) && h >= 0 && h < 2 ** 30);
    assert.notEqual(h, directionHash(0x0a000002, 80, 0x0a000001, 40000, 0, 0));
    const keyed = directionHash(0x0a000001, 40000, 0x0a000002, 80, tunnelId(TunnelKind.VXLAN_VNI, 7), 0);
    assert.ok(Number.isInteger(keyed) && keyed >= 0 && keyed < 2 ** 30);
    assert.notEqual(keyed, h);
    const tagged = directionHash(0x0a000001, 40000, 0x0a000002, 80, 0, vlanKey([4095, 4095, 4095, 4095]));
    assert.ok(Number.isInteger(tagged) && tagged >= 0 && tagged < 2 ** 30);
    assert.notEqual(tagged, h);
  });

  it('keeps IPv6 clients apart when their last 4 bytes (gor’s id bytes) are equal', () => {
    const rec = new Recorder();
    const asm = new TcpAssembler({ onStream: rec.onStream });
    const v6 = (srcIp: string, data: string) => ({
      ...seg({ seq: 100, data }),
      srcIp,
      dstIp: '2001:db8::80',
      srcIp4: 1,
      dstIp4: 0x80,
    });
    asm.push(v6('2001:db8::1', 'from-a'));
    asm.push(v6('2001:db9::1', 'from-b'));
    assert.equal(asm.flowCount, 2);
    assert.equal(rec.text('client', 1), 'from-a');
    assert.equal(rec.text('client', 2), 'from-b');
  });

  it('keeps connections of different tunnels apart when their inner 4-tuples are equal (two tenants)', () => {
    const rec = new Recorder();
    const asm = new TcpAssembler({ onStream: rec.onStream });
    const inTunnel = (tunnel: number, data: string) => ({ ...seg({ seq: 100, data }), tunnel });
    asm.push(inTunnel(tunnelId(TunnelKind.GRE_KEY, 1), 'tenant-1'));
    asm.push(inTunnel(tunnelId(TunnelKind.GRE_KEY, 2), 'tenant-2'));
    asm.push(inTunnel(tunnelId(TunnelKind.VXLAN_VNI, 1), 'vni-1'));
    asm.push(inTunnel(0, 'plain'));
    assert.equal(asm.flowCount, 4);
    assert.deepEqual(
      [1, 2, 3, 4].map((c) => rec.text('client', c)),
      ['tenant-1', 'tenant-2', 'vni-1', 'plain'],
    );
  });

  it('keeps connections of different VLANs (802.1Q, QinQ) apart when their 4-tuples are equal', () => {
    const rec = new Recorder();
    const asm = new TcpAssembler({ onStream: rec.onStream });
    const tagged = (ids: number[], data: string) => ({ ...seg({ seq: 100, data }), vlan: vlanKey(ids) });
    asm.push(tagged([10], 'vlan-10'));
    asm.push(tagged([20], 'vlan-20'));
    asm.push(tagged([100, 10], 'qinq-100-10'));
    asm.push(tagged([], 'untagged'));
    // A priority tag (VID 0) is no VLAN: the same connection as untagged, its bytes a retransmission.
    asm.push(tagged([0], 'untagged'));
    asm.push(tagged([100, 0, 10], 'qinq-100-10'));
    assert.equal(asm.flowCount, 4);
    assert.deepEqual(
      [1, 2, 3, 4].map((c) => rec.text('client', c)),
      ['vlan-10', 'vlan-20', 'qinq-100-10', 'untagged'],
    );
  });

  it('vlanKey tells stacks of up to four ids apart', () => {
    const stacks = [[], [1], [4095], [1, 1], [4095, 4095], [1, 2], [2, 1], [1, 2, 3], [4095, 4095, 4095, 4095]];
    const keys = stacks.map(vlanKey);
    assert.equal(new Set(keys).size, stacks.length);
    assert.equal(vlanKey([]), 0);
    assert.equal(vlanKey([0, 0]), 0);
    assert.ok(keys.every((k) => Number.isSafeInteger(k) && k >= 0));
  });
});
