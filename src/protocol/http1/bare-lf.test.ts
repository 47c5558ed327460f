import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crlfHead } from './bare-lf.js';

const b = (s: string) => Buffer.from(s, 'latin1');

describe('crlfHead', () => {
  it('turns every bare LF of the head into CRLF and leaves the body alone', () => {
    const out = crlfHead(b('POST /a HTTP/1.1\nHost: x\nContent-Length: 5\n\na\nb\nc'));
    assert.equal(out?.toString('latin1'), 'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\na\nb\nc');
  });

  it('handles heads that mix CRLF and bare LF, ending with either', () => {
    assert.equal(
      crlfHead(b('GET / HTTP/1.1\nA: 1\r\nB: 2\n\r\n'))?.toString('latin1'),
      'GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n',
    );
    assert.equal(crlfHead(b('GET / HTTP/1.1\nA: 1\r\n\n'))?.toString('latin1'), 'GET / HTTP/1.1\r\nA: 1\r\n\r\n');
  });

  it('returns null when the first line already ends with CRLF, or the head never ends', () => {
    assert.equal(crlfHead(b('GET / HTTP/1.1\r\nHost: x\n\n')), null);
    assert.equal(crlfHead(b('GET / HTTP/1.1\nHost: x\n')), null);
    assert.equal(crlfHead(b('no line end at all')), null);
  });
});
