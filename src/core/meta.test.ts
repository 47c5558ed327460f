import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTaplineError } from './errors.js';
import { metaLineKey, parseMeta, parseMetaBytes, timestampKey } from './meta.js';

describe('meta line (spec §2.1)', () => {
  it('reads 4-field lines', () => {
    const m = parseMeta('1 0a1b2c3d4e5f60718293a4b5 1678172411997745000 28000');
    assert.deepEqual(
      [m.type, m.id, m.timestampNs, m.latencyNs, m.extra],
      ['1', '0a1b2c3d4e5f60718293a4b5', 1678172411997745000n, 28000n, []],
    );
  });
  it('reads 3-field lines (old gor, kafka JSON) with no latency', () => {
    const m = parseMeta('2 b33c9c1a2bae6636d5389a1a47035170c58d367e 1568139746437296000');
    assert.equal(m.latencyNs, undefined);
    assert.equal(m.id, 'b33c9c1a2bae6636d5389a1a47035170c58d367e');
  });
  it('keeps extra fields and the exact line', () => {
    const line = '3 1 0005 -1 extra more';
    const m = parseMeta(line);
    assert.deepEqual(m.extra, ['extra', 'more']);
    assert.equal(m.latencyNs, -1n);
    assert.equal(m.timestampNs, 5n);
    assert.equal(m.line, line);
  });
  it('accepts any id token and unknown types', () => {
    assert.equal(parseMeta('9 x 1').type, '9');
  });
  it('a non-numeric timestamp reads as 0 and is flagged', () => {
    const m = parseMeta('1 a 12ab 0');
    assert.equal(m.timestampNs, 0n);
    assert.equal(m.badTimestamp, true);
    assert.equal(parseMeta('1 a 12 0').badTimestamp, undefined);
  });
  it('rejects fewer than 3 fields and empty type or id', () => {
    for (const line of ['', '1', '1 a', '1 a', ' a 1', '1  1']) {
      assert.throws(
        () => parseMeta(line),
        (e: unknown) => isTaplineError(e) && e.code === 'TAPLINE_ERR_BAD_META',
        line,
      );
    }
  });
  it('metaLineKey checks a line in bytes as parseMeta does and gives its timestampKey', () => {
    const bytes = (line: string) => Buffer.from(`>${line}\n`, 'latin1'); // the line at [1, 1 + length)
    for (const line of ['1 a 1678172411997745000 0', '12 b 5', '1 c -7 9 x', '1 d 12ab 0', '9 y 1 2']) {
      const key = metaLineKey(bytes(line), 1, 1 + line.length);
      assert.deepEqual(key, timestampKey(parseMeta(line)), line);
    }
    for (const line of ['', '1', '1 a', ' a 1', '1  1']) {
      assert.throws(
        () => metaLineKey(bytes(line), 1, 1 + line.length),
        (e: unknown) => isTaplineError(e) && e.code === 'TAPLINE_ERR_BAD_META',
        line,
      );
    }
  });
  it('quotes a bad meta line as written (UTF-8), not byte by byte as latin1', () => {
    const line = Buffer.from('>🐵 café\n'); // the line at [1, length - 1)
    for (const read of [metaLineKey, parseMetaBytes]) {
      assert.throws(
        () => read(line, 1, line.length - 1),
        (e: unknown) => isTaplineError(e) && e.message.endsWith('"🐵 café"'),
      );
    }
  });
});
