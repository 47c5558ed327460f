// Differential test against Node's own llhttp (`_http_common.HTTPParser`, test-only): on generated valid
// pipelined requests and responses, cut into random pieces, the splitter and llhttp agree on the number of
// messages, method, URL, status, header count and decoded body length, and the splitter's byte ranges tile
// the stream exactly.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Http1Message } from './message.js';
import { RequestSplitter, ResponseSplitter } from './splitter.js';

interface LlhttpParser {
  initialize(type: number, resource: object): void;
  execute(data: Buffer): number | Error;
  finish(): number | Error | undefined;
  [key: number]: unknown;
}
interface LlhttpModule {
  HTTPParser: {
    new (): LlhttpParser;
    REQUEST: number;
    RESPONSE: number;
    kOnHeadersComplete: number;
    kOnBody: number;
    kOnMessageComplete: number;
  };
  methods: string[];
}
const { HTTPParser, methods: METHODS } = createRequire(import.meta.url)('_http_common') as LlhttpModule;

interface Seen {
  method: string;
  url: string;
  status: number;
  headerCount: number;
  bodyLength: number;
}

/** Parse with llhttp. Responses to HEAD skip their body (return 1 from headers-complete, as Node's client does). */
function oracle(kind: 'request' | 'response', chunks: Buffer[], requestMethods: string[] = []): Seen[] {
  const parser = new HTTPParser();
  parser.initialize(kind === 'request' ? HTTPParser.REQUEST : HTTPParser.RESPONSE, {});
  const queue = [...requestMethods];
  const out: Seen[] = [];
  let cur: Seen | null = null;
  parser[HTTPParser.kOnHeadersComplete] = (
    _major: number,
    _minor: number,
    headers: string[],
    method: number,
    url: string,
    status: number,
  ) => {
    cur = {
      method: kind === 'request' ? METHODS[method]! : '',
      url: kind === 'request' ? url : '',
      status: kind === 'request' ? 0 : status,
      headerCount: headers.length / 2,
      bodyLength: 0,
    };
    if (kind === 'response' && (status >= 200 || status === 101) && queue.shift() === 'HEAD') return 1;
    return 0;
  };
  parser[HTTPParser.kOnBody] = (b: Buffer) => {
    cur!.bodyLength += b.length;
  };
  parser[HTTPParser.kOnMessageComplete] = () => {
    out.push(cur!);
    cur = null;
  };
  for (const c of chunks) {
    const r = parser.execute(c);
    if (r instanceof Error) throw r;
  }
  const r = parser.finish();
  if (r instanceof Error) throw r;
  return out;
}

function ours(kind: 'request' | 'response', chunks: Buffer[], requestMethods: string[] = []): Http1Message[] {
  const s = kind === 'request' ? new RequestSplitter() : new ResponseSplitter();
  if (s instanceof ResponseSplitter) for (const m of requestMethods) s.expect(m);
  const out: Http1Message[] = [];
  for (const c of chunks) out.push(...s.push(c));
  out.push(...s.end());
  assert.equal(s.stats.garbageBytes, 0);
  return out;
}

// ── generators ─────────────────────────────────────────────────────────────────────────────────────────────

const token = fc.stringMatching(/^[A-Za-z0-9-]{1,12}$/);
const headerField = fc.tuple(
  token.map((t) => `X-${t}`),
  fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,30}[\x21-\x7e])?$/),
);
const headerFields = fc.array(headerField, { maxLength: 8 });
const bodyBytes = fc.uint8Array({ minLength: 1, maxLength: 300 }).map((a) => Buffer.from(a));

type Body =
  | { kind: 'none' }
  | { kind: 'length'; data: Buffer }
  | { kind: 'chunked'; chunks: Buffer[]; ext: string; trailers: [string, string][] };

const body: fc.Arbitrary<Body> = fc.oneof(
  fc.constant({ kind: 'none' } as const),
  bodyBytes.map((data) => ({ kind: 'length', data }) as const),
  fc
    .record({
      chunks: fc.array(bodyBytes, { maxLength: 5 }),
      ext: fc.constantFrom('', ';foo', ';foo=bar', ';a=1;b=2'),
      trailers: fc.array(headerField, { maxLength: 3 }),
    })
    .map((c) => ({ kind: 'chunked', ...c }) as const),
);

/** Serialise headers and body; `withBody` false keeps the framing header but sends no body (HEAD, 304). */
function frame(headers: [string, string][], b: Body, withBody = true): Buffer {
  const lines = headers.map(([n, v]) => `${n}: ${v}\r\n`);
  const parts: Buffer[] = [];
  if (b.kind === 'length') lines.push(`Content-Length: ${b.data.length}\r\n`);
  if (b.kind === 'chunked') lines.push('Transfer-Encoding: chunked\r\n');
  parts.push(Buffer.from(`${lines.join('')}\r\n`, 'latin1'));
  if (!withBody) return Buffer.concat(parts);
  if (b.kind === 'length') parts.push(b.data);
  if (b.kind === 'chunked') {
    for (const c of b.chunks) parts.push(Buffer.from(`${c.length.toString(16)}${b.ext}\r\n`), c, Buffer.from('\r\n'));
    parts.push(Buffer.from(`0\r\n${b.trailers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`, 'latin1'));
  }
  return Buffer.concat(parts);
}

const request = fc
  .record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
    target: fc.stringMatching(/^\/[A-Za-z0-9._~/-]{0,30}(\?[A-Za-z0-9=&%-]{0,20})?$/),
    headers: headerFields,
    body,
  })
  .map((r) => ({
    ...r,
    bytes: Buffer.concat([
      Buffer.from(`${r.method} ${r.target} HTTP/1.1\r\nHost: example.com\r\n`, 'latin1'),
      frame(r.headers, r.body),
    ]),
  }));

const response = fc
  .record({
    method: fc.constantFrom('GET', 'POST', 'HEAD'),
    status: fc.constantFrom(200, 201, 204, 301, 304, 404, 500),
    continue100: fc.boolean(),
    headers: headerFields,
    body,
  })
  .map((r) => {
    const bodyless = r.method === 'HEAD' || r.status === 204 || r.status === 304;
    const b: Body = r.status === 204 ? { kind: 'none' } : r.body;
    // A response without length would run to the end of the stream; the generator always frames it.
    const framing: Body = !bodyless && b.kind === 'none' ? { kind: 'length', data: Buffer.alloc(0) } : b;
    const interim = r.continue100 ? 'HTTP/1.1 100 Continue\r\n\r\n' : '';
    return {
      ...r,
      bytes: Buffer.concat([
        Buffer.from(`${interim}HTTP/1.1 ${r.status} Reason\r\n`, 'latin1'),
        frame(r.headers, framing, !bodyless),
      ]),
    };
  });

/** Cut `buf` at the given fractions (0..1) of its length. */
function cut(buf: Buffer, fractions: number[]): Buffer[] {
  const offsets = [...new Set(fractions.map((f) => Math.floor(f * buf.length)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let prev = 0;
  for (const o of [...offsets, buf.length]) {
    if (o > prev) pieces.push(buf.subarray(prev, o));
    prev = Math.max(prev, o);
  }
  return pieces;
}
const fractions = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 10 });

function assertTiles(msgs: Http1Message[], length: number): void {
  let at = 0;
  for (const m of msgs) {
    assert.equal(m.start, at);
    assert.equal(m.incomplete, null);
    at = m.end;
  }
  assert.equal(at, length);
}

describe('llhttp oracle', () => {
  it('pipelined requests', () => {
    fc.assert(
      fc.property(fc.array(request, { minLength: 1, maxLength: 6 }), fractions, (reqs, fr) => {
        const stream = Buffer.concat(reqs.map((r) => r.bytes));
        const chunks = cut(stream, fr);
        const want = oracle('request', chunks);
        const got = ours('request', chunks);
        assert.equal(got.length, reqs.length);
        assert.deepEqual(
          got.map((m) => ({
            method: m.method,
            url: m.target,
            status: 0,
            headerCount: m.headerCount,
            bodyLength: m.entityLength,
          })),
          want,
        );
        assertTiles(got, stream.length);
      }),
      { numRuns: 300 },
    );
  });

  it('pipelined responses (HEAD, 204, 304, 100 Continue)', () => {
    fc.assert(
      fc.property(fc.array(response, { minLength: 1, maxLength: 6 }), fractions, (resps, fr) => {
        const stream = Buffer.concat(resps.map((r) => r.bytes));
        const chunks = cut(stream, fr);
        const methods = resps.map((r) => r.method);
        const want = oracle('response', chunks, methods);
        const got = ours('response', chunks, methods);
        assert.deepEqual(
          got.map((m) => ({
            method: '',
            url: '',
            status: m.status,
            headerCount: m.headerCount,
            bodyLength: m.entityLength,
          })),
          want,
        );
        assert.deepEqual(
          got.filter((m) => !m.interim).map((m) => m.method),
          methods,
        );
        assertTiles(got, stream.length);
      }),
      { numRuns: 300 },
    );
  });

  it('a close-delimited response ends the stream', () => {
    fc.assert(
      fc.property(headerFields, bodyBytes, fractions, (headers, data, fr) => {
        const stream = Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\n'), frame(headers, { kind: 'none' }), data]);
        const chunks = cut(stream, fr);
        const want = oracle('response', chunks, ['GET']);
        const got = ours('response', chunks, ['GET']);
        assert.deepEqual(
          got.map((m) => m.entityLength),
          want.map((m) => m.bodyLength),
        );
        assert.equal(got[0]!.closeDelimited, true);
      }),
      { numRuns: 100 },
    );
  });
});
