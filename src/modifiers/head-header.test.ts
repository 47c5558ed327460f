// The edits (--http-set-header, --http-rewrite-header) leave the body alone even when a body line looks like the
// header they edit; gor rewrote such a line, so the Content-Length or chunk size no longer fit the body.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runChain as run } from './test-fixtures.js';

const CHUNKED = 'POST /f HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\ne\r\nX-Token: 12345\r\n0\r\n\r\n';
const SIZED = 'POST /f HTTP/1.1\r\nHost: h\r\nContent-Length: 16\r\n\r\nX-Token: 12345\r\n';

describe('a header line in the body', () => {
  it('--http-set-header adds the header to the head and leaves the body as it was', () => {
    const [head, body] = CHUNKED.split('\r\n\r\n');
    assert.equal(
      run({ 'http-set-header': ['X-Token: 1'] }, CHUNKED),
      `POST /f HTTP/1.1\r\nX-Token: 1${head!.slice(16)}\r\n\r\n${body}\r\n\r\n`,
    );
    assert.equal(
      run({ 'http-set-header': ['x-token: 1'] }, SIZED),
      'POST /f HTTP/1.1\r\nx-token: 1\r\nHost: h\r\nContent-Length: 16\r\n\r\nX-Token: 12345\r\n',
    );
  });
  it('--http-set-header still edits the head when the header is there too', () => {
    const both = 'POST /f HTTP/1.1\r\nX-Token: old\r\nContent-Length: 16\r\n\r\nX-Token: 12345\r\n';
    assert.equal(
      run({ 'http-set-header': ['X-Token: new'] }, both),
      'POST /f HTTP/1.1\r\nX-Token: new\r\nContent-Length: 16\r\n\r\nX-Token: 12345\r\n',
    );
  });
  it('--http-rewrite-header finds the header missing (and, as gor, stops the later rules)', () => {
    assert.equal(run({ 'http-rewrite-header': ['X-Token: \\d+,abcdefgh', 'Host: h,g'] }, SIZED), SIZED);
    assert.equal(
      run({ 'http-rewrite-header': ['Host: h,g', 'X-Token: \\d+,abcdefgh'] }, SIZED),
      SIZED.replace('Host: h', 'Host: g'),
    );
  });
  it('the filters keep gor scan: a body line can match (no byte changes)', () => {
    assert.equal(run({ 'http-allow-header': ['X-Token:^123'] }, SIZED), SIZED);
    assert.equal(run({ 'http-disallow-header': ['X-Token:^123'] }, SIZED), null);
  });
  it('a head without its blank line yet (a cut payload) is all head', () => {
    assert.equal(
      run({ 'http-set-header': ['Host: x'] }, 'GET / HTTP/1.1\r\nHost: h\r\n'),
      'GET / HTTP/1.1\r\nHost: x\r\n',
    );
  });
});

describe('a head whose header lines end in bare LF (Go reads them; its head ends at the first empty line)', () => {
  const LF_HEAD = 'POST /f HTTP/1.1\r\nHost: h\nContent-Length: 16\n\nX-Token: 12345\r\n';
  it('the body line is not taken for the header: set-header adds it, rewrite-header finds it missing', () => {
    assert.equal(
      run({ 'http-set-header': ['X-Token: 1'] }, LF_HEAD),
      'POST /f HTTP/1.1\r\nX-Token: 1\r\nHost: h\nContent-Length: 16\n\nX-Token: 12345\r\n',
    );
    assert.equal(run({ 'http-rewrite-header': ['X-Token: \\d+,9'] }, LF_HEAD), LF_HEAD);
    const crlfAfterLf = 'POST /f HTTP/1.1\r\nHost: h\nContent-Length: 16\n\r\nX-Token: 12345\r\n';
    assert.equal(run({ 'http-rewrite-header': ['X-Token: \\d+,9'] }, crlfAfterLf), crlfAfterLf);
  });
  it('a header in such a head is edited whole (gor took its value one byte short: X: 123 became X: 23)', () => {
    assert.equal(
      run(
        { 'http-set-header': ['Content-Length: 16'] },
        'POST /f HTTP/1.1\r\nHost: h\nContent-Length: 0\n\nX-Token: 12345\r\n',
      ),
      'POST /f HTTP/1.1\r\nHost: h\nContent-Length: 16\n\nX-Token: 12345\r\n',
    );
    assert.equal(
      run({ 'http-set-header': ['X: 2'] }, 'GET / HTTP/1.1\r\nX: 123\nHost: h\n\n'),
      'GET / HTTP/1.1\r\nX: 2\nHost: h\n\n',
    );
    assert.equal(
      run({ 'http-rewrite-header': ['X: ^(\\d+)$,<$1>'] }, 'GET / HTTP/1.1\r\nX:  123 \t\nHost: h\n\n'),
      'GET / HTTP/1.1\r\nX:  <123> \t\nHost: h\n\n',
    );
    assert.equal(run({ 'http-set-header': ['X: 2'] }, 'GET / HTTP/1.1\r\nX:\n\n'), 'GET / HTTP/1.1\r\nX:2\n\n');
  });
});
