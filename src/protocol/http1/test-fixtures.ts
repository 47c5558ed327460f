/**
 * Test support (not shipped code): byte streams for the splitter tests, and a driver that feeds a stream in
 * given pieces and returns a plain, comparable summary of everything the splitter reported.
 */

import type { Http1Message } from './message.js';
import { type Http1Splitter, RequestSplitter, ResponseSplitter, type SplitterOptions } from './splitter.js';

export interface Fixture {
  name: string;
  kind: 'request' | 'response';
  stream: Buffer;
  /** Response side: request methods, in order. */
  methods?: string[];
  options?: SplitterOptions;
}

const b = (s: string) => Buffer.from(s, 'latin1');
const cat = (...parts: (string | Buffer)[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? b(p) : p)));

/** A masked WebSocket client frame and an unmasked server frame whose payload looks like HTTP. */
const WS_CLIENT = Buffer.from([0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
const WS_SERVER = cat(Buffer.from([0x81, 0x13]), 'HTTP/1.1 200 OK\r\n\r\n');
const TLS_HELLO = Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00, 0x47, 0x45, 0x54, 0x20]);

export const FIXTURES: Fixture[] = [
  {
    name: 'pipelined requests',
    kind: 'request',
    stream: cat(
      'GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\nAccept: */*\r\n\r\n',
      'POST /form HTTP/1.1\r\nHost: example.com\r\nContent-Length: 11\r\n\r\nhello world',
      'PUT /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n',
      '5;name=value\r\nhello\r\nA;a="b;c"\r\n0123456789\r\n0\r\nX-Sum: 15\r\nX-More: y\r\n\r\n',
      'PROPFIND /dav HTTP/1.1\r\nDepth: 1\r\n\r\n',
      'GET http://example.com:8080/abs?x=y HTTP/1.1\r\nHost: example.com\r\n\r\n',
      'HEAD / HTTP/1.0\r\n\r\n',
      'DELETE /r HTTP/1.1\r\nContent-Length: 0\r\n\r\n',
      'POST /big HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 4\r\n\r\nbody',
      'OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET /caf\xe9 HTTP/1.1\r\nX-Raw: \xff\xfe\r\n\r\n',
    ),
  },
  {
    name: 'lenient requests',
    kind: 'request',
    stream: cat(
      'GET /lf HTTP/1.1\nHost: a\nContent-Length: 2\n\nok',
      'POST /fold HTTP/1.1\r\nX-Long: first\r\n  second\r\nContent-Length: 3\r\n\r\nabc',
      'POST /colon HTTP/1.1\r\nContent-Length : 3\r\n\r\nxyz',
      '\r\n\r\n',
      'POST /both HTTP/1.1\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n',
      'GET /nocolon HTTP/1.1\r\nthis line has no colon\r\n\r\n',
      'POST /dup HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n12345',
      'POST /te HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n',
      'POST /fold-te HTTP/1.1\r\nTransfer-Encoding:\r\n chunked\r\n\r\n1\r\nq\r\n0\r\n\r\n',
      'GET  /spaces   HTTP/1.1\r\n\r\n',
      'POST /chunk-lf HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\n0\n\n',
    ),
  },
  {
    name: 'garbage and resync',
    kind: 'request',
    stream: cat(
      Buffer.from([0x00, 0x01, 0x02, 0xff, 0x10]),
      'junk line\r\n',
      'more junk GET /a HTTP/1.1\r\nHost: a\r\n\r\n',
      'GET /b HTTP/1.1\r\n\r\n',
      Buffer.from([0x00, 0x1b]),
      'xxPOST /c HTTP/1.1\r\nContent-Length: 2\r\n\r\nok',
      '\x01GET /d HTTP/1.1\r\n\r\n',
      'trailing junk without newline',
    ),
  },
  {
    name: 'upgrade request then websocket frames',
    kind: 'request',
    stream: cat(
      'GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n\r\n',
      WS_CLIENT,
      'GET /not-a-request HTTP/1.1\r\n\r\n',
      WS_CLIENT,
    ),
  },
  {
    name: 'declined upgrade, HTTP goes on',
    kind: 'request',
    stream: cat(
      'GET /chat HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
      'GET /next HTTP/1.1\r\n\r\n',
    ),
  },
  {
    name: 'CONNECT then TLS',
    kind: 'request',
    stream: cat('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', TLS_HELLO, TLS_HELLO),
  },
  {
    name: 'HTTP/2 prior knowledge preface',
    kind: 'request',
    stream: cat('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])),
  },
  {
    name: 'max-size cut',
    kind: 'request',
    options: { maxSize: 100 },
    stream: cat(
      'GET /small HTTP/1.1\r\n\r\n',
      `POST /big HTTP/1.1\r\nContent-Length: 500\r\n\r\n${'x'.repeat(500)}`,
      `POST /chunked HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n${'40\r\n'}${'y'.repeat(64)}\r\n40\r\n${'z'.repeat(64)}\r\n0\r\n\r\n`,
      `GET /longheader HTTP/1.1\r\nX-Pad: ${'p'.repeat(150)}\r\nContent-Length: 3\r\n\r\nabc`,
      'GET /after HTTP/1.1\r\n\r\n',
    ),
  },
  {
    name: 'header block over maxHeaderSize',
    kind: 'request',
    options: { maxHeaderSize: 64 },
    stream: cat(
      `GET /h HTTP/1.1\r\nX-Pad: ${'p'.repeat(100)}\r\nContent-Length: 2\r\n\r\nok`,
      'GET /after HTTP/1.1\r\n\r\n',
    ),
  },
  {
    name: 'incomplete at end of stream',
    kind: 'request',
    stream: cat('GET /ok HTTP/1.1\r\n\r\n', 'POST /cut HTTP/1.1\r\nContent-Length: 100\r\n\r\nonly ten b'),
  },
  {
    name: 'responses framed by their requests',
    kind: 'response',
    methods: ['HEAD', 'GET', 'GET', 'POST', 'GET', 'GET', 'GET', 'GET'],
    stream: cat(
      'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n',
      'HTTP/1.1 204 No Content\r\n\r\n',
      'HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n',
      'HTTP/1.1 100 Continue\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: Expires\r\n\r\n',
      '7\r\nMozilla\r\n9\r\nDeveloper\r\n7\r\nNetwork\r\n0\r\nExpires: Wed, 21 Oct 2015 07:28:00 GMT\r\n\r\n',
      'HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n',
      'HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found',
      'HTTP/1.1 299 Odd\r\nContent-Length: 1\r\n\r\n!',
      'HTTP/1.1 200\nContent-Length: 3\n\nlf!',
    ),
  },
  {
    name: '101 upgrade then websocket frames',
    kind: 'response',
    methods: ['GET', 'GET'],
    stream: cat(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
      WS_SERVER,
      WS_SERVER,
    ),
  },
  {
    name: 'close-delimited response',
    kind: 'response',
    methods: ['GET', 'GET'],
    stream: cat(
      'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc',
      'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n',
      'everything until close, even HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n',
    ),
  },
  {
    name: 'CONNECT 200 then tunnel',
    kind: 'response',
    methods: ['CONNECT'],
    stream: cat('HTTP/1.1 200 Connection Established\r\n\r\n', TLS_HELLO, 'HTTP/1.1 200 OK\r\n\r\n'),
  },
  {
    name: 'chunked bodies whose sender left out the blank line after the last chunk',
    kind: 'response',
    methods: ['GET', 'GET', 'GET', 'GET'],
    stream: cat(
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nc\r\n0\r\nX-Sum: 1\r\n folded\r\n',
      'HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nnot a field\r\nX-After: 1\r\n\r\n',
    ),
  },
  {
    name: 'body lengths that cannot be trusted (strictLength)',
    kind: 'request',
    options: { strictLength: true },
    stream: cat(
      'POST /two HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 10\r\n\r\nabcdefghij',
      'POST /list HTTP/1.1\r\nContent-Length: 3, 10\r\n\r\nabcdefghij',
      'PUT /te HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n\x1f\x8b\x08\x00',
      'GET /fine HTTP/1.1\r\nContent-Length: 2, 2\r\n\r\nok',
    ),
  },
  {
    name: 'response garbage and resync',
    kind: 'response',
    stream: cat(
      Buffer.from([0xde, 0xad, 0x00]),
      'partial body bytesHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n',
      'HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n',
    ),
  },
];

/** Everything a message reports, as a plain object (`bytes` as latin1 text). */
export function summarize(m: Http1Message): Record<string, unknown> {
  return { ...m, bytes: m.bytes === null ? null : m.bytes.toString('latin1') };
}

export interface RunResult {
  messages: Record<string, unknown>[];
  raw: Http1Message[];
  stats: Record<string, number>;
  opaque: unknown;
}

export function newSplitter(fx: Fixture, extra: SplitterOptions = {}): Http1Splitter {
  const options = { ...fx.options, ...extra };
  if (fx.kind === 'request') return new RequestSplitter(options);
  const s = new ResponseSplitter(options);
  for (const m of fx.methods ?? []) s.expect(m);
  return s;
}

/** Feed `fx.stream` cut at `cuts` (sorted offsets), then end(). */
export function run(fx: Fixture, cuts: number[], extra: SplitterOptions = {}): RunResult {
  const s = newSplitter(fx, extra);
  const raw: Http1Message[] = [];
  let prev = 0;
  for (const c of [...cuts, fx.stream.length]) {
    if (c > prev) raw.push(...s.push(fx.stream.subarray(prev, c)));
    prev = Math.max(prev, c);
  }
  raw.push(...s.end());
  return { messages: raw.map(summarize), raw, stats: { ...s.stats }, opaque: s.opaque };
}
