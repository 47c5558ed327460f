// Flag values that would write a malformed request are usage errors (wire-syntax.ts); values that only look odd
// but keep the request well-formed are still taken as gor takes them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TaplineError } from '../core/errors.js';
import { buildModifierChain, type ModifierValues } from './index.js';
import { runChain as rewrites } from './test-fixtures.js';

function refused(values: ModifierValues, pattern: RegExp): void {
  assert.throws(
    () => buildModifierChain(values),
    (err: unknown) => err instanceof TaplineError && err.code === 'TAPLINE_ERR_USAGE' && pattern.test(err.describe()),
    JSON.stringify(values),
  );
}

const GET = 'GET /a?x=1 HTTP/1.1\r\nHost: h\r\n\r\n';

describe('--http-set-header', () => {
  it('refuses a header name that is empty or not a token, naming flag, value and character', () => {
    refused({ 'http-set-header': [': v'] }, /--http-set-header ": v": the header name is empty/);
    refused({ 'http-set-header': ['  : v'] }, /header name is empty/);
    refused({ 'http-set-header': ['X Y: v'] }, /--http-set-header "X Y: v": the header name "X Y" contains a space/);
    refused({ 'http-set-header': ['X\r\nEvil: 1'] }, /header name .* contains a carriage return/);
    refused({ 'http-set-header': ['X(1): v'] }, /contains the byte 0x28/);
    refused({ 'http-set-header': ['Ñame: v'] }, /contains the character "Ñ"/);
  });
  it('refuses a value with a line break or another control character (header injection)', () => {
    refused({ 'http-set-header': ['X: a\r\nEvil: 1'] }, /the value contains a carriage return .*header lines/);
    refused({ 'http-set-header': ['X: a\nb'] }, /the value contains a line feed/);
    refused({ 'http-set-header': ['X: a\u0000b'] }, /the value contains the byte 0x00/);
    refused({ 'http-set-header': ['X: a\u007fb'] }, /the byte 0x7f/);
  });
  it('takes what stays well-formed: tabs and spaces inside, UTF-8, an empty value, trimmed line ends', () => {
    const set = (v: string) => rewrites({ 'http-set-header': [v] }, GET);
    assert.equal(
      set("X-A_1!#$%&'*+.^`|~: a\tb c"),
      "GET /a?x=1 HTTP/1.1\r\nX-A_1!#$%&'*+.^`|~: a\tb c\r\nHost: h\r\n\r\n",
    );
    assert.equal(set('X: é'), 'GET /a?x=1 HTTP/1.1\r\nX: \u00c3\u00a9\r\nHost: h\r\n\r\n');
    assert.equal(set('X:'), 'GET /a?x=1 HTTP/1.1\r\nX: \r\nHost: h\r\n\r\n');
    assert.equal(set('X: v\r\n'), 'GET /a?x=1 HTTP/1.1\r\nX: v\r\nHost: h\r\n\r\n'); // trimmed, as gor
  });
});

describe('--http-set-param', () => {
  it('refuses a space or control character in the name or value (it would split the request line)', () => {
    refused({ 'http-set-param': ['q=a b'] }, /--http-set-param "q=a b": the value contains a space.*%20/);
    refused({ 'http-set-param': ['a b=1'] }, /the name contains a space/);
    refused({ 'http-set-param': ['q=a\r\nX: 1'] }, /the value contains a carriage return/);
    refused({ 'http-set-param': ['q=a\tb'] }, /the value contains a tab/);
  });
  it('takes encoded and odd-but-valid values as gor does (no encoding)', () => {
    assert.equal(
      rewrites({ 'http-set-param': ['q=a%20b&c'] }, GET),
      'GET /a?x=1&q=a%20b&c HTTP/1.1\r\nHost: h\r\n\r\n',
    );
    assert.equal(rewrites({ 'http-set-param': ['=v'] }, GET), 'GET /a?x=1&=v HTTP/1.1\r\nHost: h\r\n\r\n');
  });
});

describe('rewrite replacements', () => {
  it('--http-rewrite-url refuses a space or control character in the replacement text', () => {
    refused({ 'http-rewrite-url': ['/a:/b c'] }, /--http-rewrite-url "\/a:\/b c": the replacement contains a space/);
    refused({ 'http-rewrite-url': ['/a:/b\r\nX: 1'] }, /the replacement contains a carriage return.*request line/);
  });
  it('--http-rewrite-header refuses a line break in the replacement text, takes spaces', () => {
    refused({ 'http-rewrite-header': ['Host: h,a\r\nEvil: 1'] }, /the replacement contains a carriage return/);
    assert.equal(
      rewrites({ 'http-rewrite-header': ['Host: (h),$1 and $$1'] }, GET),
      'GET /a?x=1 HTTP/1.1\r\nHost: h and $1\r\n\r\n',
    );
  });
  it('group references are not literal text: `$1` and braced names pass the check', () => {
    assert.equal(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Go's replacement syntax
      rewrites({ 'http-rewrite-url': ['^/(?P<p>a):/${p}/$1'] }, GET),
      'GET /a/a?x=1 HTTP/1.1\r\nHost: h\r\n\r\n',
    );
  });
});
