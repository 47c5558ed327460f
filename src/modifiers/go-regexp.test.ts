// Go regexp semantics in JS: what Go's regexp package returns for these patterns (from Go's documented syntax and
// ReplaceAll/Expand rules), and the constructs refused because JS would mean something else.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GoRegexp, GoRegexpError, parseTemplate } from './go-regexp.js';
import { decodeGoString, encodeGoString } from './go-string.js';

const replace = (pattern: string, input: string | Buffer, template: string): string =>
  new GoRegexp(pattern)
    .replaceAll(typeof input === 'string' ? Buffer.from(input) : input, parseTemplate(template))
    .toString();
const matches = (pattern: string, input: string) => new GoRegexp(pattern).matches(Buffer.from(input));

describe('Go regexp: matching like Go', () => {
  const table: [pattern: string, input: string, want: boolean][] = [
    ['\\s', '\v', false], // Go's \s has no \v; JS's does
    ['\\s', '\u00a0', false], // nor Unicode spaces
    ['[[:space:]]', '\v', true], // the POSIX class does
    ['\\d', '٣', false], // ASCII digits only
    ['\\w', 'é', false],
    ['.', '\r', true], // JS's . stops at \r
    ['.', '\u2028', true],
    ['.', '\n', false],
    ['(?s).', '\n', true],
    ['a$', 'a\n', false], // $ is end of text (\z) without (?m)
    ['(?m)a$', 'a\n', true],
    ['(?m)a$', 'a\r\n', false], // (?m) breaks lines at \n only
    ['(?m)^b', 'a\rb', false],
    ['(?m)^b', 'a\nb', true],
    ['\\Aa', 'ba', false],
    ['a\\z', 'ab', false],
    ['(?i)straße', 'STRASSE', false], // simple folding only, as Go
    ['(?i)k', '\u212a', true], // KELVIN SIGN folds to k in Go too
    ['a(?i)b', 'aB', true],
    ['a(?i)b', 'AB', false],
    ['a(?i:b)c', 'aBC', false],
    ['(?i:k)', '\u212a', true],
    ['[[:alpha:]]+', '123', false],
    ['[[:^alpha:]]', 'a1', true],
    ['\\pL', 'é', true],
    ['\\p{Greek}', 'λ', true],
    ['\\PL', 'é', false],
    ['\\pC', '\u0378', false], // unassigned: not in Go's C (it is in JS's \p{C})
    ['\\pC', '\u0001', true],
    ['x{2}', 'xx', true],
    ['x{,2}', 'x{,2}', true], // not a repeat in Go: literal text
    ['{', '{', true],
    ['\\Qa.b\\E', 'axb', false],
    ['\\Qa.b\\E', 'a.b', true],
    ['\\x{1F600}', '😀', true],
    ['\\101', 'A', true],
    ['[]a]', ']', true],
    ['[^]a]', 'b', true],
    ['[a-]', '-', true],
    ['^*a', 'a', true], // Go allows repeating an assertion
    ['(?U)a+', 'aa', true],
    ['[\\PC]', '\u0378', true],
    ['[\\PC]', '\u0001', false],
    // Under (?i) Go folds, then negates: \W does not match k or s (JS's i flag would via U+212A and U+017F).
    ['(?i)\\W', 'k', false],
    ['(?i)\\W', 's', false],
    ['(?i)\\W', '-', true],
    ['(?i)[a\\W]', 'K', false],
    ['(?i)[a\\W]', 'A', true],
    ['(?i)[a\\W]', '-', true],
    ['(?i)[^a\\W]', 'k', true],
    ['(?i)[^a\\W]', 'A', false],
    ['(?i)[^a\\W]', '-', false],
    ['(?i)[[:^alpha:]]', 's', false],
    ['(?i)\\P{Lu}', 'a', false],
    ['(?i)\\P{Lu}', '1', true],
    ['a(?i:\\W)', 'ak', false],
    ['a(?i:[^k])', 'a\u212a', false],
  ];
  for (const [pattern, input, want] of table) {
    it(`${pattern} on ${JSON.stringify(input)} → ${want}`, () => assert.equal(matches(pattern, input), want));
  }
});

describe('Go regexp: ReplaceAll and Expand like Go', () => {
  const table: [pattern: string, input: string, template: string, want: string][] = [
    ['a*', 'baaac', 'X', 'XbXcX'], // JS's replace gives XbXXcX
    ['', 'abc', '-', '-a-b-c-'],
    ['(\\w+)', 'ab cd', '$1x', ' '], // $1x is the group named "1x"
    ['(\\w+)', 'ab cd', '${1}x', 'abx cdx'],
    ['(\\w+)', 'ab', '$1_', ''],
    ['(\\w+)', 'ab', '$2', ''], // out of range → empty
    ['(\\w+)', 'ab', '$0$0', 'abab'],
    ['(\\w+)', 'ab', '$$1', '$1'],
    ['(\\w+)', 'ab', '$', '$'], // malformed → literal
    ['(\\w+)', 'ab', '${1', '${1'],
    ['(\\w+)', 'ab', '$-', '$-'],
    ['(?P<word>\\w+)', 'ab', '<${word}>', '<ab>'],
    ['(?<word>\\w+)', 'ab', '<$word>', '<ab>'],
    ['(?P<01>\\w+)', 'ab', '[$01]', '[ab]'], // leading zero: a name, not a number
    ['(?P<123456789>\\w+)', 'ab', '[$123456789]', '[]'], // 9 digits: group number 123456789 (none), not the name
    ['(?P<1234567890>\\w+)', 'ab', '[$1234567890]', '[ab]'], // 10 digits: a name
    ['(a)|(b)', 'b', '[$1|$2]', '[|b]'],
    ['(?U)(a+)', 'aaa', '<$1>', '<a><a><a>'],
    ['(?i)A', 'aAa', 'x', 'xxx'],
    ['.', '😀a', '.', '..'], // one code point at a time
    ['(?m)^', 'a\nb', '>', '>a\n>b'],
    ['\\b', 'ab cd', '|', '|ab| |cd|'],
  ];
  for (const [pattern, input, template, want] of table) {
    it(`${pattern} on ${JSON.stringify(input)} with ${JSON.stringify(template)} → ${JSON.stringify(want)}`, () =>
      assert.equal(replace(pattern, input, template), want));
  }
});

describe('Go regexp: bytes, not text', () => {
  it('invalid UTF-8 bytes survive a rewrite untouched and match . one byte at a time', () => {
    const input = Buffer.from([0x2f, 0xff, 0x61, 0xc3]); // "/" 0xff "a" truncated-é
    assert.deepEqual(
      new GoRegexp('a').replaceAll(input, parseTemplate('é')),
      Buffer.from([0x2f, 0xff, 0xc3, 0xa9, 0xc3]),
    );
    assert.equal(new GoRegexp('^/.a.$').matches(input), true);
    assert.deepEqual(encodeGoString(decodeGoString(input)), input);
  });
  // Go reads an invalid byte as U+FFFD (So, Common), never as a surrogate (Cs): a class takes it when it holds U+FFFD.
  const invalidByte: [pattern: string, want: boolean][] = [
    ['\\pC', false],
    ['\\p{Cs}', false],
    ['(?i)\\pC', false],
    ['\\PC', true],
    ['[^\\pC]', true],
    ['\\P{Cs}', true],
    ['\\p{So}', true],
    ['\\pS', true],
    ['\\p{Common}', true],
    ['\\P{Common}', false],
    ['\\x{FFFD}', true],
    ['\ufffd', true],
    ['[\\x{FFFD}a]', true],
    ['[^\\x{FFFD}]', false],
    ['\\x{DCFF}', false],
    ['[\\x{D800}-\\x{DFFF}]', false],
    ['.', true],
    ['\\W', true],
    ['\\pL', false],
  ];
  for (const [pattern, want] of invalidByte) {
    it(`${pattern} on the invalid byte 0xff: ${want}, as Go (U+FFFD), with either engine`, () => {
      for (const engine of ['v8', 'linear'] as const) {
        assert.equal(new GoRegexp(pattern, engine).matches(Buffer.of(0xff)), want, engine);
      }
    });
  }
  it('a rewrite on U+FFFD replaces an invalid byte and a real U+FFFD, and keeps the other bytes', () => {
    const input = Buffer.from([0x61, 0xff, 0x62, 0xef, 0xbf, 0xbd, 0xc3]); // a 0xff b U+FFFD truncated-é
    assert.equal(new GoRegexp('\\x{FFFD}').replaceAll(input, parseTemplate('_')).toString('latin1'), 'a_b__');
    assert.deepEqual(new GoRegexp('\\pC').replaceAll(input, parseTemplate('_')), input);
  });
  it('nested repeats up to 1000 copies in all are taken, as in Go', () => {
    for (const p of ['(a{10}){100}', '((a{2}){2}){250}', '((a{1000})*){2}', '(a|b{500}){2}', '(?i)(a{500})+']) {
      assert.ok(new GoRegexp(p), p);
    }
    assert.equal(new GoRegexp('^(a{3}){333}$').matches(Buffer.from('a'.repeat(999))), true);
  });
  it('round-trips valid UTF-8 including astral characters and a BOM', () => {
    const input = Buffer.from('\ufeff/é/😀/\u{dc80}'.replace('\u{dc80}', 'x'));
    assert.deepEqual(encodeGoString(decodeGoString(input)), input);
  });
});

describe('Go regexp: refused with the construct named', () => {
  const table: [pattern: string, construct: RegExp][] = [
    ['a(?=b)', /look-ahead/],
    ['a(?!b)', /look-ahead/],
    ['(?<=a)b', /look-behind/],
    ['(?<!a)b', /look-behind/],
    ['(a)\\1', /back-reference/],
    ['(?P=n)', /named capture/],
    ['(?P<n>a)(?P<n>b)', /duplicate/],
    ['(?P<a-b>x)', /invalid named capture name/],
    ['a**', /nested repetition/],
    ['*a', /missing argument/],
    ['x{1001}', /at most 1000/],
    // Go's repeatIsValid: nested repeats may make at most 1000 copies in all ({0} and * end the count).
    ['(x{1000}){1000}', /invalid repeat count \{1000\}: .* 1000000 copies/],
    ['(a{2}){1000}', /2000 copies/],
    ['(?:a{7}){143}', /1001 copies/],
    ['(a{500}|b){3}', /1500 copies/],
    ['((a{2}){2}){251}', /1004 copies/],
    ['(a{600}){2,}', /1200 copies/],
    ['x{3,2}', /repeat count/],
    ['\\Z', /\\Z/],
    ['\\C', /\\C/],
    ['\\8', /escape/],
    ['\\e', /escape/],
    ['[z-a]', /range/],
    ['[a', /missing closing \]/],
    ['(a', /missing closing \)/],
    ['a)', /unexpected \)/],
    ['\\p{Klingon}', /unknown Unicode class/],
    ['(?#comment)', /Perl operator/],
    ['(?i)a(?-i)b', /\(\?-i\)/], // JS cannot turn case-insensitivity off again
    ['a(?i)é', /non-ASCII letter/],
    ['a(?i:[à-ÿ])', /non-ASCII letters/],
  ];
  for (const [pattern, want] of table) {
    it(pattern, () =>
      assert.throws(
        () => new GoRegexp(pattern),
        (err: unknown) => err instanceof GoRegexpError && want.test(err.message + err.construct),
      ),
    );
  }
  it('reports captures inside repeated groups (JS clears them between repetitions, Go keeps the last)', () => {
    assert.deepEqual([...new GoRegexp('(?:(a)|b)+').translation.capturesInRepeat], [1]);
    assert.deepEqual([...new GoRegexp('(a|b)+(c)').translation.capturesInRepeat], []);
    assert.deepEqual([...new GoRegexp('(?:(a)b)?').translation.capturesInRepeat], []); // at most once
    assert.deepEqual([...new GoRegexp('(x(?:(a)|b))*').translation.capturesInRepeat], [2]);
  });
});

describe('Go regexp: patterns too large for V8', () => {
  // V8 compiles a RegExp on first use and refuses big ones there ('Regular expression too large', 'Stack
  // overflow'); Go takes them. The run stopped at its first request with an internal error and a stack trace.
  it('a long literal is matched by the linear VM, as Go matches it', () => {
    const word = 'ab'.repeat(20_000);
    const re = new GoRegexp(`^/${word}$`);
    assert.equal(re.engine, 'linear');
    assert.equal(re.matches(Buffer.from(`/${word}`)), true);
    assert.equal(re.matches(Buffer.from(`/${word}x`)), false);
    assert.equal(re.replaceAll(Buffer.from(`/${word}`), parseTemplate('<$0>')).toString(), `</${word}>`);
  });
  it('groups nested thousands deep are refused as Go refuses them, not with a stack overflow', () => {
    assert.throws(
      () => new GoRegexp(`${'('.repeat(4000)}a${')'.repeat(4000)}`),
      (err: unknown) => err instanceof GoRegexpError && /^expression nests too deeply/.test(err.message),
    );
  });
  it("one too large for the VM as well is refused at start with V8's words", () => {
    assert.throws(
      () => new GoRegexp('(a|b)'.repeat(25_000)),
      (err: unknown) =>
        err instanceof GoRegexpError &&
        /too large for JavaScript's regexp engine \((Stack overflow|Regular expression too large)\)/.test(err.message),
    );
  });
});
