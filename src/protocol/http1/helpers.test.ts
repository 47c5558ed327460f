// Golden tests for gor's byte-level helpers: the vectors are gor's own proto tests and the spec's examples
// (§7.5, §7.7, §10), byte for byte.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { body, deleteHeader, header, headerValue, mimeHeadersEnd, mimeHeadersStart, setHeader } from './headers.js';
import { method, path, pathParam, setPath, setPathParam, status } from './request-line.js';
import { GOR_METHODS, hasRequestTitle, hasResponseTitle, requestTitleMethod } from './title.js';

const b = (s: string) => Buffer.from(s, 'latin1');
const str = (x: Buffer | null) => (x === null ? null : x.toString('latin1'));
const POST = 'POST /post HTTP/1.1\r\nContent-Length: 7\r\nHost: www.w3.org\r\n\r\na=1&b=2';

describe('hasResponseTitle (gor truth table)', () => {
  const table: [string, boolean][] = [
    ['HTTP', false],
    ['', false],
    ['HTTP/1.1 100 Continue', false],
    ['HTTP/1.1 100 Continue\r\n', true],
    ['HTTP/1.1  \r\n', false],
    ['HTTP/4.0 100Continue\r\n', false],
    ['HTTP/1.0 100Continue\r\n', false],
    ['HTTP/1.0 10r Continue\r\n', false],
    ['HTTP/1.1 200\r\n', true],
    ['HTTP/1.1 200\r\nServer: Tengine\r\nContent-Length: 0\r\nConnection: close\r\n\r\n', true],
    ['HTTP/1.1 418 I am a teapot\r\n', true],
    ['HTTP/1.1 299 Unknown\r\n', false],
    ['HTTP/1.1 306 Unused\r\n', false],
    ['HTTP/1.2 200 OK\r\n', false],
    ['HTTP/1.1 200 OK\n\r\n', true], // the CRLF may be anywhere
  ];
  for (const [input, want] of table) it(JSON.stringify(input), () => assert.equal(hasResponseTitle(b(input)), want));
});

describe('hasRequestTitle (gor truth table)', () => {
  const table: [string, boolean][] = [
    ['POST /post HTTP/1.0\r\n', true],
    ['', false],
    ['POST /post HTTP/1.\r\n', false],
    ['POS /post HTTP/1.1\r\n', false],
    ['GET / HTTP/1.1\r\n', true],
    ['GET / HTTP/1.1\r', false],
    ['GET / HTTP/1.400\r\n', false],
    ['PROPFIND / HTTP/1.1\r\n', false],
    ['get / HTTP/1.1\r\nHost: x\r\n', false],
    ['GET / HTTP/2.0\r\nHost: x\r\n', false],
    ['GET / HTTP/1.1\nHost: x\n\n', false], // LF-only
    ['GET /a b HTTP/1.1\r\n', false], // three spaces
    ['PATCH /x HTTP/1.1\r\n', true],
  ];
  for (const [input, want] of table) it(JSON.stringify(input), () => assert.equal(hasRequestTitle(b(input)), want));
  it('requestTitleMethod: the method where hasRequestTitle says yes, else null', () => {
    for (const [input, want] of table) {
      assert.equal(requestTitleMethod(b(input)), want ? input.slice(0, input.indexOf(' ')) : null, input);
    }
    for (const m of GOR_METHODS) assert.equal(requestTitleMethod(b(`${m} /x HTTP/1.1\r\nHost: y\r\n\r\n`)), m);
  });
});

describe('header', () => {
  it('finds values with and without spaces, case-insensitively', () => {
    assert.equal(str(headerValue(b(POST), 'Content-Length')), '7');
    assert.equal(str(headerValue(b(POST.replace('Length: 7', 'Length: 7 ')), 'Content-Length')), '7');
    assert.equal(str(headerValue(b(POST.replace('Length: 7', 'Length:7')), 'Content-Length')), '7');
    assert.equal(str(headerValue(b(POST.replace('Content-Length', 'content-length')), 'Content-Length')), '7');
    assert.equal(str(headerValue(b(POST.replace('Host', 'host')), 'host')), 'www.w3.org');
  });
  it('empty value, missing header, partial payload', () => {
    assert.equal(headerValue(b('GET /p HTTP/1.1\r\nCookie:\r\nHost: www.w3.org\r\n\r\n'), 'Cookie').length, 0);
    assert.equal(header(b(POST), 'Not-Found'), null);
    assert.equal(str(headerValue(b('GT\r\nContent-Length: 10\r\n\r\n'), 'Content-Length')), '10');
    assert.equal(header(b('GET /p HTTP/1.1\r\nCookie: 123'), 'Cookie'), null); // no line end
  });
  it('reports byte spans', () => {
    const h = header(b(POST), 'Host')!;
    assert.deepEqual([h.start, h.end, h.valueStart, h.valueEnd], [40, 58, 46, 56]);
    assert.equal(str(b(POST).subarray(h.start, h.end)), 'Host: www.w3.org\r\n');
  });
  it('quirk: the scan does not stop at the blank line', () => {
    const p = b('POST / HTTP/1.1\r\nHost: a\r\n\r\nX-Secret: from-body\r\n');
    assert.equal(str(headerValue(p, 'X-Secret')), 'from-body');
  });
  it('quirk: LF-only lines lose their last value byte', () => {
    assert.equal(str(headerValue(b('GET /p HTTP/1.1\r\nCookie: 123\nHost: www.w3.org\r\n\r\n'), 'Cookie')), '12');
  });
  it('quirk: a value of only spaces reads as one space', () => {
    assert.equal(str(headerValue(b('GET / HTTP/1.1\r\nX:   \r\n\r\n'), 'X')), ' ');
  });
  it('quirk: an LF-only empty header is empty (gor would panic)', () => {
    assert.equal(headerValue(b('GET / HTTP/1.1\r\nX:\nY: 1\r\n\r\n'), 'X').length, 0);
  });
  it('without a valid title the scan starts at byte 0', () => {
    // LF-only request: not a gor title, so the first line is scanned too (it has no colon).
    assert.equal(str(headerValue(b('GET / HTTP/1.1\nHost: abc\n\n'), 'Host')), 'ab');
  });
  it('space before the colon is part of the name (no match)', () => {
    assert.equal(header(b('GET / HTTP/1.1\r\nHost : x\r\n\r\n'), 'Host'), null);
  });
});

describe('setHeader / deleteHeader', () => {
  it('replaces a value, keeping surrounding whitespace', () => {
    assert.equal(str(setHeader(b(POST), 'Content-Length', '14')), POST.replace('Length: 7', 'Length: 14'));
    assert.equal(str(setHeader(b(POST), 'Host', 'localhost')), POST.replace('www.w3.org', 'localhost'));
  });
  it('inserts a missing header right after the first line', () => {
    assert.equal(
      str(setHeader(b(POST), 'User-Agent', 'Gor')),
      'POST /post HTTP/1.1\r\nUser-Agent: Gor\r\nContent-Length: 7\r\nHost: www.w3.org\r\n\r\na=1&b=2',
    );
  });
  it('spec §7.7 example: Header1 then Host', () => {
    const out = setHeader(setHeader(b(POST), 'Header1', '1'), 'Host', 'localhost');
    assert.equal(str(out), 'POST /post HTTP/1.1\r\nHeader1: 1\r\nContent-Length: 7\r\nHost: localhost\r\n\r\na=1&b=2');
  });
  it('headers set in sequence appear in reverse order', () => {
    const out = setHeader(setHeader(b('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), 'A', '1'), 'B', '2');
    assert.equal(str(out), 'GET / HTTP/1.1\r\nB: 2\r\nA: 1\r\nHost: x\r\n\r\n');
  });
  it('an empty value is filled right after the colon', () => {
    const out = setHeader(b('GET /p HTTP/1.1\r\nCookie:\r\nHost: a\r\n\r\n'), 'Cookie', 'c=1');
    assert.equal(str(out), 'GET /p HTTP/1.1\r\nCookie:c=1\r\nHost: a\r\n\r\n');
  });
  it('a payload without CRLF is unchanged', () => {
    const p = b('POST /post HTTP/1.1');
    assert.equal(setHeader(p, 'User-Agent', 'Gor'), p);
  });
  it('does not modify its input', () => {
    const p = b(POST);
    setHeader(p, 'Host', 'zz');
    deleteHeader(p, 'Host');
    assert.equal(str(p), POST);
  });
  it('deletes the whole line, trailing spaces included', () => {
    const want = 'POST /post HTTP/1.1\r\nContent-Length: 7\r\nHost: www.w3.org\r\n\r\na=1&b=2';
    assert.equal(
      str(deleteHeader(b(POST.replace('HTTP/1.1\r\n', 'HTTP/1.1\r\nUser-Agent: Gor\r\n')), 'User-Agent')),
      want,
    );
    assert.equal(
      str(deleteHeader(b(POST.replace('HTTP/1.1\r\n', 'HTTP/1.1\r\nUser-Agent: Gor \r\n')), 'User-Agent')),
      want,
    );
    assert.equal(str(deleteHeader(b(POST), 'Missing')), POST);
  });
});

describe('header block positions and body', () => {
  it('mimeHeadersStart / mimeHeadersEnd / body', () => {
    const p = b(POST);
    assert.equal(str(p.subarray(mimeHeadersStart(p), mimeHeadersEnd(p) - 4)), 'Content-Length: 7\r\nHost: www.w3.org');
    assert.equal(str(body(p)), 'a=1&b=2');
    assert.equal(body(b('GET / HTTP/1.1\r\n\r\n')).length, 0);
    assert.equal(body(b('GET / HTTP/1.1\r\n')).length, 0);
  });
});

describe('method / path / status', () => {
  it('method', () => {
    assert.equal(str(method(b(POST))), 'POST');
    assert.equal(method(b('GET')).length, 0);
  });
  it('path needs a valid request title', () => {
    assert.equal(str(path(b(POST))), '/post');
    assert.equal(path(b('GET /get\r\n\r\nHost: www.w3.org\r\n\r\n')).length, 0);
    assert.equal(path(b('GET /get\n')).length, 0);
    assert.equal(path(b('GET /get')).length, 0);
  });
  it('status', () => {
    assert.equal(str(status(b('HTTP/1.1 200 OK\r\n'))), '200');
    assert.equal(str(status(b('HTTP/1.1 200\r\n'))), '200');
    assert.equal(str(status(b('HTTP/1.1 404 Not Found\r\n'))), '404');
    assert.equal(status(b('HTTP/1.1 299 Nope\r\n')).length, 0);
  });
  it('setPath', () => {
    assert.equal(str(setPath(b(POST), '/new_path')), POST.replace('/post', '/new_path'));
    assert.equal(str(setPath(b('garbage'), '/x')), 'garbage');
  });
});

describe('pathParam / setPathParam', () => {
  const P = 'POST /post?param=test&user_id=1&d_type=1&type=2&d_type=3 HTTP/1.1\r\nContent-Length: 7\r\n\r\na=1&b=2';
  it('finds values; &name= is searched before ?name=', () => {
    assert.equal(str(pathParam(b(P), 'param')), 'test');
    assert.equal(str(pathParam(b(P), 'user_id')), '1');
    assert.equal(str(pathParam(b(P), 'type')), '2');
    assert.equal(str(pathParam(b(P), 'd_type')), '1');
    assert.equal(str(pathParam(b('GET /p?user_id=1&user_id=2 HTTP/1.1\r\n\r\n'), 'user_id')), '2');
    assert.equal(pathParam(b(P), 'missing'), null);
    assert.equal(str(pathParam(b('GET /p?a=&b=1 HTTP/1.1\r\n\r\n'), 'a')), '');
    assert.equal(str(pathParam(b('GET /p?a=1#frag HTTP/1.1\r\n\r\n'), 'a')), '1#frag');
  });
  it('replaces or appends', () => {
    const Q = 'POST /post?param=test&user_id=1 HTTP/1.1\r\nContent-Length: 7\r\nHost: www.w3.org\r\n\r\na=1&b=2';
    assert.equal(str(setPathParam(b(Q), 'param', 'new')), Q.replace('param=test', 'param=new'));
    assert.equal(str(setPathParam(b(Q), 'user_id', '2')), Q.replace('user_id=1', 'user_id=2'));
    assert.equal(str(setPathParam(b(POST), 'param', 'test')), POST.replace('/post', '/post?param=test'));
    const R = POST.replace('/post', '/post?param=test');
    assert.equal(str(setPathParam(b(R), 'user_id', '1')), R.replace('param=test', 'param=test&user_id=1'));
    assert.equal(
      str(setPathParam(b('POST /post?api_key=1234 HTTP/1.1\r\n\r\n'), 'api_key', '1')),
      'POST /post?api_key=1 HTTP/1.1\r\n\r\n',
    );
  });
});
