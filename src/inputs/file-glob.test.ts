import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanPath, GlobPatternError, globMatch, globSync } from './file-glob.js';

describe('Go filepath.Match', () => {
  // Rows from Go's own match_test.go that apply to Unix.
  const table: [string, string, boolean][] = [
    ['abc', 'abc', true],
    ['*', 'abc', true],
    ['*c', 'abc', true],
    ['a*', 'a', true],
    ['a*', 'abc', true],
    ['a*/b', 'abc/b', true],
    ['a*b*c*d*e*/f', 'axbxcxdxe/f', true],
    ['a*b*c*d*e*/f', 'axbxcxdxexxx/fff', false],
    ['a*b?c*x', 'abxbbxdbxebxczzx', true],
    ['a*b?c*x', 'abxbbxdbxebxczzy', false],
    ['ab[c]', 'abc', true],
    ['ab[b-d]', 'abc', true],
    ['ab[e-g]', 'abc', false],
    ['ab[^c]', 'abc', false],
    ['ab[^b-d]', 'abc', false],
    ['ab[^e-g]', 'abc', true],
    ['a\\*b', 'a*b', true],
    ['a\\*b', 'ab', false],
    ['a?b', 'a☺b', true],
    ['a[^a]b', 'a☺b', true],
    ['a???b', 'a☺b', false],
    ['a[^a][^a][^a]b', 'a☺b', false],
    ['[a-ζ]*', 'α', true],
    ['*[a-ζ]', 'A', false],
    ['a?b', 'a/b', false],
    ['a*b', 'a/b', false],
    ['[\\]a]', ']', true],
    ['[\\-]', '-', true],
    ['[x\\-]', 'x', true],
    ['[x\\-]', '-', true],
    ['[x\\-]', 'z', false],
    ['[\\-x]', 'x', true],
    ['*x', 'xxx', true],
    ['[z-a]', 'm', false],
  ];
  for (const [pattern, name, want] of table) {
    it(`${pattern} ~ ${name} → ${want}`, () => {
      // `a*/b` style rows match across elements: compare element by element like Glob does.
      const p = pattern.split('/');
      const n = name.split('/');
      const got = p.length === n.length && p.every((part, i) => globMatch(part, n[i]!));
      assert.equal(got, want);
    });
  }

  for (const bad of ['[', '[^', '[^bc', 'a[', '[]a]', '[-]', '[x-]', '[-x]', '\\', '[a-\\', 'a\\', '[a-b-c]']) {
    it(`rejects the malformed pattern ${bad}`, () => {
      assert.throws(() => globMatch(bad, 'x'), GlobPatternError);
    });
  }
});

describe('Go filepath.Clean', () => {
  const table: [string, string][] = [
    ['', '.'],
    ['./a.gor', 'a.gor'],
    ['a//b', 'a/b'],
    ['a/b/', 'a/b'],
    ['/../a', '/a'],
    ['a/../..', '..'],
    ['a/./b/../c', 'a/c'],
    ['/', '/'],
    ['//tmp///x', '/tmp/x'],
    ['../../a', '../../a'],
  ];
  for (const [input, want] of table)
    it(`${JSON.stringify(input)} → ${want}`, () => assert.equal(cleanPath(input), want));
});

describe('Go filepath.Glob', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tapline-glob-'));
    for (const f of ['b_1.gor', 'a_10.gor', 'a_2.gor', 'c.txt', '.hidden.gor', 'Z.gor'])
      writeFileSync(join(dir, f), '');
    mkdirSync(join(dir, 'sub1'));
    mkdirSync(join(dir, 'sub2'));
    writeFileSync(join(dir, 'sub1', 'x.gor'), '');
    writeFileSync(join(dir, 'sub2', 'y.gor'), '');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('lists matches byte-wise sorted, dot files included, as Go does', () => {
    assert.deepEqual(
      globSync(join(dir, '*.gor')).map((p) => p.slice(dir.length + 1)),
      ['.hidden.gor', 'Z.gor', 'a_10.gor', 'a_2.gor', 'b_1.gor'],
    );
  });

  it('expands meta characters in directories too', () => {
    assert.deepEqual(
      globSync(join(dir, 'sub?', '*.gor')).map((p) => p.slice(dir.length + 1)),
      ['sub1/x.gor', 'sub2/y.gor'],
    );
  });

  it('returns a plain path only when it exists', () => {
    assert.deepEqual(globSync(join(dir, 'c.txt')), [join(dir, 'c.txt')]);
    assert.deepEqual(globSync(join(dir, 'nope.txt')), []);
    assert.deepEqual(globSync(join(dir, 'nope', '*')), []);
  });

  it('cleans the joined names (relative patterns)', () => {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      assert.deepEqual(globSync('./b_*.gor'), ['b_1.gor']);
      assert.deepEqual(globSync('[ab]_1.gor'), ['b_1.gor']);
    } finally {
      process.chdir(cwd);
    }
  });

  it('throws for a malformed pattern', () => {
    assert.throws(() => globSync(join(dir, '[*.gor')), GlobPatternError);
  });
});
