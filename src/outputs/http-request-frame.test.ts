import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RequestSplitter } from '../protocol/http1/splitter.js';
import { frameRequest, simpleRequestLength } from './http-request-frame.js';

const b = (s: string) => Buffer.from(s, 'latin1');

test('frameRequest: where gor ends a recorded request, and what a short one lacks', () => {
  const cases: [string, { length: number; incomplete?: string; unframed?: string }][] = [
    ['GET / HTTP/1.1\r\nHost: x\r\n\r\n', { length: 27 }],
    ['GET / HTTP/1.1\r\nHost: x\r\n\r\nxyz', { length: 27 }], // no framing: no body
    ['POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nhiGET /b HTTP/1.1\r\n\r\n', { length: 40 }],
    ['POST / HTTP/1.1\r\nContent-Length:  2 \r\n\r\nhi', { length: 42 }],
    ['POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\nhi', { length: 40, incomplete: 'Content-Length 9, 2 body bytes' }],
    ['GET / HTTP/1.1\r\nHost: x\r\n', { length: 25, incomplete: 'its head does not end with a blank line' }],
    ['POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\nT: 1\r\n\r\nzz', { length: 65 }],
    [
      'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n',
      { length: 57, incomplete: 'its chunked body ends before the last chunk' },
    ],
    [
      'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhi\r\n0\r\n\r\n',
      { length: 60, incomplete: 'its chunked body is malformed' },
    ],
    [
      'POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
      { length: 59, unframed: 'it has differing Content-Length values' },
    ],
    [
      'POST / HTTP/1.1\r\nContent-Length: x\r\n\r\nab',
      { length: 40, unframed: 'its Content-Length is not a number of at most 15 digits' },
    ],
    [
      'POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nab',
      { length: 46, unframed: 'its Transfer-Encoding does not end in chunked' },
    ],
  ];
  for (const [payload, want] of cases) assert.deepEqual(frameRequest(b(payload)), want, JSON.stringify(payload));
});

test('simpleRequestLength agrees with the splitter wherever it takes a request', () => {
  const heads = [
    'GET / HTTP/1.1\r\nHost: x\r\n\r\n',
    'POST / HTTP/1.1\r\ncontent-length: 3\r\nA: b\r\n\r\n',
    'POST / HTTP/1.0\r\nContent-Length:\t0\r\n\r\n',
    'PUT /x HTTP/1.1\r\nHost: x\r\nX: y\r\nContent-Length: 5\r\n\r\n',
  ];
  for (const head of heads) {
    for (const tail of ['', 'abc', 'abcde', 'abcdefgh']) {
      const payload = b(head + tail);
      const simple = simpleRequestLength(payload);
      assert.ok(simple > 0, head);
      const splitter = new RequestSplitter();
      const first = splitter.push(payload)[0] ?? splitter.end()[0]!;
      if (first.incomplete === null) assert.equal(simple, first.end, JSON.stringify(head + tail));
      else assert.ok(simple > payload.length, JSON.stringify(head + tail));
    }
  }
});
