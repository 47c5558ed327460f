import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeMeta } from '../../core/message.js';
import { connectionIdPrefix, requestId } from '../../tcp/ids.js';
import { CaptureMeta } from './capture-meta.js';

test('CaptureMeta reads exactly as the makeMeta it replaces: same fields, same line bytes', () => {
  const prefix = connectionIdPrefix(54321, 80, 0x7f000001);
  const cases = [
    {
      type: '1',
      n: 0,
      ts: 1_700_000_000_123_456_789n,
      start: 1_700_000_000_123_456_789n,
      end: 1_700_000_000_223_456_789n,
      r: null,
    },
    { type: '2', n: 0xffffffff, ts: 5n, start: 5n, end: 5n, r: 'gap' },
    { type: '2', n: 42, ts: 1n, start: 10n, end: 3n, r: 'max-size' }, // end before start: latency 0
    { type: '1', n: 0x1234, ts: 9_999_999_999_999_999_999n, start: 0n, end: 2n ** 63n, r: 'expired' },
  ] as const;
  for (const c of cases) {
    const meta = new CaptureMeta(c.type, prefix, c.n, c.ts, c.start, c.end, c.r);
    const want = makeMeta({
      type: c.type,
      id: requestId(54321, 80, 0x7f000001, c.n),
      timestampNs: c.ts,
      latencyNs: c.end > c.start ? c.end - c.start : 0n,
      ...(c.r ? { extra: [`incomplete=${c.r}`] } : {}),
    });
    assert.equal(meta.line, want.line);
    assert.equal(meta.id, want.id);
    assert.equal(meta.type, want.type);
    assert.equal(meta.timestampNs, want.timestampNs);
    assert.equal(meta.latencyNs, want.latencyNs);
    assert.deepEqual(meta.extra, want.extra);
    assert.deepEqual(meta.toJSON(), { ...want });
  }
});
