import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatGoDuration, parseGoBool, parseGoDuration, parseGoInt, parseSize, splitLimit } from './values.js';

describe('gor sizes (spec §1.1 table)', () => {
  const good: [string, number][] = [
    ['42mb', 44040192],
    ['0x12gB', 18 * 2 ** 30],
    ['0600Tb', 384 * 2 ** 40],
    ['4_2', 42],
    ['1024', 1024],
    ['32mb', 32 * 2 ** 20],
    ['1tb', 2 ** 40],
    // Accepted by tapline although gor rejects them: gor's own docs use them.
    ['256m', 256 * 2 ** 20],
    ['64k', 64 * 1024],
    ['2g', 2 * 2 ** 30],
  ];
  for (const [text, want] of good) it(`${text} = ${want}`, () => assert.equal(parseSize(text), want));
  for (const text of ['1.5mb', '1 mb', '1b', 'mb', '', '-', 'abc', '1__0']) {
    it(`rejects ${JSON.stringify(text)}`, () => assert.throws(() => parseSize(text), /invalid size/));
  }
});

describe('Go integers', () => {
  const table: [string, number][] = [
    ['0x10', 16],
    ['010', 8],
    ['0b1', 1],
    ['0o17', 15],
    ['-5', -5],
    ['+7', 7],
    ['1_000', 1000],
    ['0', 0],
  ];
  for (const [text, want] of table) it(`${text} = ${want}`, () => assert.equal(parseGoInt(text), want));
  for (const text of ['', '08', '1.0', '0x', 'ten', '1_', '1__0']) {
    it(`rejects ${JSON.stringify(text)}`, () => assert.throws(() => parseGoInt(text)));
  }
});

describe('Go durations', () => {
  const table: [string, number][] = [
    ['0', 0],
    ['300ms', 300],
    ['2s', 2000],
    ['1h30m', 5400_000],
    ['2.5s', 2500],
    ['1.5h', 5400_000],
    ['-1s', -1000],
    ['10us', 0.01],
    ['10µs', 0.01],
    ['100ns', 0.0001],
    ['1m0s', 60_000],
  ];
  for (const [text, want] of table) it(`${text} = ${want}ms`, () => assert.equal(parseGoDuration(text), want));
  for (const text of ['', '5', '1x', 's', '.s', '1.5']) {
    it(`rejects ${JSON.stringify(text)}`, () => assert.throws(() => parseGoDuration(text), /invalid duration/));
  }
  it('says a bare number lacks its unit, as Go does', () =>
    assert.throws(() => parseGoDuration('5'), /invalid duration "5": missing unit \(write 5s or 5ms\)/));
  const formats: [number, string][] = [
    [0, '0s'],
    [150, '150ms'],
    [1500, '1.5s'],
    [60_000, '1m0s'],
    [61_500, '1m1.5s'],
    [3_600_000, '1h0m0s'],
    [0.001, '1µs'],
    [-2000, '-2s'],
  ];
  for (const [ms, want] of formats) it(`formats ${ms}ms as ${want}`, () => assert.equal(formatGoDuration(ms), want));
});

describe('Go booleans', () => {
  it('accepts Go spellings', () => {
    for (const t of ['1', 't', 'T', 'TRUE', 'true', 'True']) assert.equal(parseGoBool(t), true);
    for (const f of ['0', 'f', 'F', 'FALSE', 'false', 'False']) assert.equal(parseGoBool(f), false);
  });
  it('rejects others', () => assert.throws(() => parseGoBool('yes'), /invalid boolean/));
});

describe('address|limit suffix (spec §5.1)', () => {
  it('splits absolute, percent and max limits', () => {
    assert.deepEqual(splitLimit('http://staging.com|10'), {
      address: 'http://staging.com',
      limit: { kind: 'rate', perSecond: 10 },
    });
    assert.deepEqual(splitLimit('requests.gor|200%'), {
      address: 'requests.gor',
      limit: { kind: 'percent', percent: 200 },
    });
    assert.deepEqual(splitLimit('a.gor|max'), { address: 'a.gor', limit: { kind: 'max' } });
    assert.throws(
      () => splitLimit('x|5|50%'),
      /invalid limit "5\|50%": an address takes one limit; gor uses "\|5" and ignores "\|50%" after it/,
    );
    assert.deepEqual(splitLimit(':80'), { address: ':80', limit: { kind: 'none' } });
  });
  it('rejects limits gor would silently read as 0 (drop everything)', () => {
    assert.throws(() => splitLimit('x|%10'), /invalid limit/);
    assert.throws(() => splitLimit('x|ten'), /invalid limit/);
    assert.throws(() => splitLimit('x|'), /invalid limit/);
  });
  it("takes only the whole numbers gor's strconv.Atoi reads, naming what gor would do and what to write", () => {
    assert.throws(
      () => splitLimit('a.gor|0.5%'),
      /"0\.5" is not a whole number: gor reads it as 0 \(--input-file: speed 0%/,
    );
    assert.throws(() => splitLimit('a.gor|1e3%'), /"1e3" is not a whole number.*; write \|1000%$/);
    assert.throws(
      () => splitLimit('h|1e3'),
      /"1e3" is not a whole number: gor reads it as 0 \(drop everything\); write \|1000$/,
    );
    assert.throws(() => splitLimit('h|0x10'), /write \|16$/);
    assert.throws(() => splitLimit('h|10.0'), /write \|10$/);
    assert.throws(() => splitLimit('h| 50%'), /write \|50%$/);
    assert.throws(() => splitLimit('h|-5%'), /N ≥ 0/);
    assert.throws(() => splitLimit('h|%'), /invalid limit "%"/);
    assert.deepEqual(splitLimit('h|+50%').limit, { kind: 'percent', percent: 50 });
    assert.deepEqual(splitLimit('h|007').limit, { kind: 'rate', perSecond: 7 });
  });
});
