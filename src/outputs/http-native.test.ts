/**
 * The native sender's response framer (native/src/http_response_framer.h, through the addon's `frame()`)
 * against the JavaScript splitter the JS client frames with (src/protocol/http1): on generated responses —
 * interim 1xx, Content-Length (lists too), chunked with extensions and trailers, close-delimited, no body
 * (HEAD, 204, 304), CRLF or bare LF, bytes after the response — cut into random pieces, both find the same
 * end and status. On random bytes and on damaged responses the framer must only ever answer (never crash
 * or read past the input). Skipped, and said, when the tapline_http addon is not built.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ResponseSplitter } from '../protocol/http1/index.js';
import { requestTitleMethod } from '../protocol/http1/title.js';
import { httpAddon, type NativeSender } from './http-native.js';
import { adaptRequest, parseTarget } from './http-target.js';

const addon = httpAddon();

/** What the JS client concludes from these bytes (http-connection.ts onData/onClose). */
function jsFrame(bytes: Buffer, head: boolean, eof: boolean): { step: string; status?: number; end?: number } {
  const splitter = new ResponseSplitter();
  splitter.expect(head ? 'HEAD' : 'GET');
  const messages = [...splitter.push(bytes), ...(eof ? splitter.end() : [])];
  for (const msg of messages) {
    if (msg.interim) continue;
    if (msg.incomplete) return { step: 'bad' };
    return { step: 'done', status: msg.status, end: msg.end };
  }
  if (eof || (splitter.stats.garbageBytes > 0 && !splitter.inMessage)) return { step: 'bad' };
  return { step: 'more' };
}

function nativeFrame(bytes: Buffer, head: boolean, eof: boolean, cuts: number[]) {
  const sorted = [...new Set(cuts.map((c) => Math.min(c, bytes.length)))].sort((a, b) => a - b);
  const [step, status, end] = addon!.frame(bytes, head, Int32Array.from(sorted), eof);
  return step === 'done' ? { step, status, end } : { step };
}

const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,11}$/);
const value = fc.stringMatching(/^[ -~]{0,20}$/).map((v) => v.trim());
const body = fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b));

interface Generated {
  bytes: Buffer;
  head: boolean;
  eof: boolean;
}

const response: fc.Arbitrary<Generated> = fc
  .record({
    interim: fc.array(fc.constantFrom(100, 102, 103), { maxLength: 2 }),
    status: fc.oneof(fc.constantFrom(200, 201, 204, 301, 304, 404, 500), fc.integer({ min: 200, max: 599 })),
    minor: fc.constantFrom(0, 1),
    framing: fc.constantFrom('length', 'length-list', 'chunked', 'close'),
    head: fc.boolean(),
    lf: fc.boolean(),
    headers: fc.array(fc.tuple(token, value), { maxLength: 5 }),
    lengthName: fc.constantFrom('Content-Length', 'content-length', 'CONTENT-LENGTH'),
    body,
    chunks: fc.array(fc.tuple(body, fc.option(token)), { maxLength: 4 }),
    trailers: fc.array(fc.tuple(token, value), { maxLength: 2 }),
    after: body,
    // Leading zeros in a length or chunk size (RFC 9112: 1*DIGIT / 1*HEXDIG): no limit on how many.
    zeros: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 20 })),
  })
  .map((r) => {
    const z = '0'.repeat(r.zeros);
    const nl = r.lf ? '\n' : '\r\n';
    const parts: Buffer[] = [];
    for (const st of r.interim) parts.push(Buffer.from(`HTTP/1.1 ${st} Interim${nl}${nl}`, 'latin1'));
    const lines = [`HTTP/1.${r.minor} ${r.status} Reason`];
    for (const [n, v] of r.headers) {
      // Extra headers never frame: keep them off the framing names.
      if (!/^(content-length|transfer-encoding|connection)$/i.test(n)) lines.push(`${n}: ${v}`);
    }
    const noBody = r.head || r.status === 204 || r.status === 304;
    let payload = Buffer.alloc(0);
    let eof = false;
    if (r.framing === 'length' || r.framing === 'length-list') {
      const n = r.body.length;
      lines.push(`${r.lengthName}: ${r.framing === 'length' ? `${z}${n}` : `${n}, ${z}${n}`}`);
      if (!noBody) payload = r.body;
    } else if (r.framing === 'chunked') {
      lines.push('Transfer-Encoding: chunked');
      if (!noBody) {
        const pieces: Buffer[] = [];
        for (const [data, ext] of r.chunks) {
          if (data.length === 0) continue;
          pieces.push(Buffer.from(`${z}${data.length.toString(16)}${ext ? `;${ext}` : ''}${nl}`, 'latin1'), data);
          pieces.push(Buffer.from(nl, 'latin1'));
        }
        const trailers = r.trailers.map(([n, v]) => `${n}: ${v}${nl}`).join('');
        pieces.push(Buffer.from(`0${nl}${trailers}${nl}`, 'latin1'));
        payload = Buffer.concat(pieces);
      }
    } else if (!noBody) {
      // Close-delimited: the body runs to the end of the stream.
      payload = r.body;
      eof = true;
    }
    parts.push(Buffer.from(`${lines.join(nl)}${nl}${nl}`, 'latin1'), payload);
    // Bytes after a framed response (the next response, or junk) are not part of it.
    if (!eof) parts.push(r.after);
    return { bytes: Buffer.concat(parts), head: r.head, eof };
  });

const cuts = fc.array(fc.nat({ max: 2000 }), { maxLength: 8 });

/**
 * A sender to a port nothing listens on (every request fails fast as connect-refused; no traffic leaves the
 * host), given to `feed`, which returns how many requests it had accepted: each must get exactly one result.
 */
async function withRefusedSender(feed: (sender: NativeSender) => number): Promise<void> {
  const results = new Map<number, number>();
  const sender = new addon!.HttpSender(
    {
      host: '127.0.0.1',
      port: 1,
      maxConns: 4,
      minConns: 1,
      timeoutMs: 2000,
      workerTimeoutMs: 2000,
      keepBytes: 0,
      hostHeader: Buffer.from('example:80'),
    },
    (fields, n) => {
      for (let i = 0; i < n; i++) results.set(fields[i * 7]!, (results.get(fields[i * 7]!) ?? 0) + 1);
    },
  );
  sender.ref();
  let accepted = 0;
  try {
    accepted = feed(sender);
    assert.ok(accepted > 0, 'some submissions were valid');
    // Every accepted request is answered once (bounded wait).
    for (let i = 0; i < 400 && results.size < accepted; i++) await new Promise((r) => setTimeout(r, 25));
  } finally {
    sender.unref();
    sender.close();
  }
  assert.equal(results.size, accepted);
  assert.ok([...results.values()].every((count) => count === 1));
}

describe('native response framer', { skip: addon ? false : 'the tapline_http addon is not built' }, () => {
  it('finds the end and status the JavaScript splitter finds, however the response is cut', () => {
    fc.assert(
      fc.property(response, cuts, (r, c) => {
        assert.deepEqual(nativeFrame(r.bytes, r.head, r.eof, c), jsFrame(r.bytes, r.head, r.eof));
      }),
      { numRuns: 1500 },
    );
  });

  it('a response still arriving is "more", the same response with its end is "done"', () => {
    fc.assert(
      fc.property(response, (r) => {
        const whole = nativeFrame(r.bytes, r.head, r.eof, []);
        assert.equal(whole.step, 'done');
        const cutShort = r.bytes.subarray(0, Math.max(0, (whole as { end: number }).end - 1));
        assert.notEqual(nativeFrame(cutShort, r.head, false, []).step, 'done');
      }),
      { numRuns: 500 },
    );
  });

  it('random bytes: an answer every time, "bad" once they cannot start a response', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), fc.boolean(), cuts, (b, head, eof, c) => {
        const bytes = Buffer.from(b);
        const got = nativeFrame(bytes, head, eof, c);
        assert.ok(['done', 'bad', 'more'].includes(got.step));
        const start = bytes.toString('latin1').replace(/^(\r?\n)+/, '');
        if (start.length >= 5 && !start.startsWith('HTTP/')) assert.equal(got.step, 'bad');
      }),
      { numRuns: 1500 },
    );
  });

  it('damaged responses (bytes changed, cut, repeated): an answer every time, within the input', () => {
    fc.assert(
      fc.property(
        response,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        cuts,
        (r, flips, c) => {
          const bytes = Buffer.from(r.bytes);
          for (const [at, v] of flips) if (bytes.length > 0) bytes[at % bytes.length] = v;
          const got = nativeFrame(bytes, r.head, r.eof, c);
          assert.ok(['done', 'bad', 'more'].includes(got.step));
          if (got.step === 'done') assert.ok((got as { end: number }).end <= bytes.length);
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('a head over 64 KiB, a bad chunk size line: bad, with the reason', () => {
    const big = Buffer.from(`HTTP/1.1 200 OK\r\nX: ${'a'.repeat(70 * 1024)}\r\n\r\n`, 'latin1');
    assert.deepEqual(addon!.frame(big, false, new Int32Array(), false).slice(0, 1), ['bad']);
    assert.equal(addon!.frame(big, false, new Int32Array(), false)[4], 'max-size');
    const chunk = Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 'latin1');
    assert.equal(addon!.frame(chunk, false, new Int32Array(), false)[4], 'malformed');
  });

  it("the addon's Host rule (submit's find-Host cut) gives the bytes adaptRequest gives, on generated heads (one Host line sent)", () => {
    const target = parseTarget('http://staging.internal:8080');
    const host = target.hostHeaderBytes;
    // Header lines that come near the rule's edges: Host in any case, as "Hoſt" (U+017F folds to s), with
    // space before the colon, empty or blank values, LF-only lines, lines without a colon, Host-like names.
    const name = fc.constantFrom(
      'Host',
      'host',
      'HOST',
      'hOsT',
      'Ho\u017ft',
      'Host ',
      ' Host',
      'Hosts',
      'Hos',
      'X-Host',
      'Accept',
      'h',
      'Ho\u017f',
      '\u0127ost',
    );
    const val = fc.constantFrom('', ' ', '  ', 'prod', ' prod ', 'a b', '\t x\t', 'shop.example.com:80');
    const line = fc.oneof(
      fc
        .tuple(name, fc.constantFrom(':', ': ', ' : ', ':: '), val, fc.constantFrom('\r\n', '\n'))
        .map((p) => p.join('')),
      fc.constantFrom('no colon here\r\n', '\r\n', '\n', ':\r\n', 'Host'),
    );
    const request = fc
      .record({
        method: fc.constantFrom('GET', 'POST', 'HEAD'),
        head: fc.array(line, { maxLength: 6 }),
        body: fc.array(line, { maxLength: 3 }),
      })
      .map((r) => Buffer.from(`${r.method} /p?q=1 HTTP/1.1\r\n${r.head.join('')}\r\n${r.body.join('')}`, 'utf8'));
    fc.assert(
      fc.property(request, (payload) => {
        assert.ok(requestTitleMethod(payload) !== null);
        assert.deepEqual(addon!.editHost(payload, host), adaptRequest(payload, target, false));
      }),
      { numRuns: 3000 },
    );
    // Heads with several Host lines (gor's Go client writes one): the first is edited, every later one in the
    // head cut, in both rules; Host lines after the blank line are body and stay.
    const hostLine = fc
      .tuple(
        fc.constantFrom('Host', 'host', 'HOST', 'Ho\u017ft', 'hO\u017fT'),
        fc.constantFrom(':', ': ', ' : '),
        val,
        fc.constantFrom('\r\n', '\r\n', '\n'),
      )
      .map((p) => p.join(''));
    const several = fc
      .record({
        head: fc.array(fc.oneof(hostLine, line), { minLength: 2, maxLength: 8 }),
        body: fc.array(fc.oneof(hostLine, line), { maxLength: 3 }),
      })
      .map((r) => Buffer.from(`GET /p HTTP/1.1\r\n${r.head.join('')}\r\n${r.body.join('')}`, 'utf8'));
    const headHostLines = (b: Buffer) => {
      const lines = b.toString('utf8').split('\n').slice(1);
      const blank = lines.findIndex((l) => l === '' || l === '\r');
      return lines.slice(0, blank < 0 ? lines.length : blank).filter((l) => /^ho[s\u017f]t:/i.test(l)).length;
    };
    let cut = 0;
    fc.assert(
      fc.property(several, (payload) => {
        const js = adaptRequest(payload, target, false);
        assert.deepEqual(addon!.editHost(payload, host), js);
        assert.ok(headHostLines(js) <= 1, js.toString('utf8'));
        if (headHostLines(payload) > 1) cut++;
      }),
      { numRuns: 3000 },
    );
    assert.ok(cut > 300, `only ${cut} generated heads had two Host lines`);
    // Random bytes (title or not): an answer within the input every time, never a crash.
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        const out = addon!.editHost(Buffer.from(b), host);
        assert.ok(out.length >= b.length);
      }),
      { numRuns: 2000 },
    );
  });

  it('submitRun() on random and damaged .gor bytes: a RangeError or a count, within the input, one result each', async () => {
    const separator = Buffer.from('\n🐵🙈🙉\n');
    const goodRecord = fc
      .tuple(
        fc.constantFrom('1', '2', '1'),
        fc.stringMatching(/^[a-f0-9]{1,8}$/),
        fc.constantFrom('GET', 'HEAD', 'CONNECT', 'BREW'),
      )
      .map(([type, id, method]) =>
        Buffer.concat([
          Buffer.from(`${type} ${id} 1700000000000000000 0\n${method} /${id} HTTP/1.1\r\nHost: a\r\n\r\n`),
          separator,
        ]),
      );
    // Whole records, then bytes changed or cut anywhere (a separator or an emoji byte may be broken).
    const part = fc
      .tuple(
        fc.array(goodRecord, { maxLength: 5 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        fc.nat(),
      )
      .map(([records, flips, cut]) => {
        const bytes = Buffer.concat(records);
        for (const [at, v] of flips) if (bytes.length > 0) bytes[at % bytes.length] = v;
        return cut % 3 === 0 ? bytes.subarray(0, cut % (bytes.length + 1)) : bytes;
      });
    const keys = new Float64Array(8);
    const next = new Float64Array(2);
    await withRefusedSender((sender) => {
      let seq = 0;
      fc.assert(
        fc.property(
          fc.oneof(
            part,
            fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
          ),
          // Mostly from the start (a record boundary), else anywhere, even outside the bytes.
          fc.oneof(fc.constant(0), fc.integer({ min: -2, max: 300 })),
          fc.oneof(fc.constant(8), fc.integer({ min: -1, max: 9 })),
          (bytes, from, max) => {
            let n: number;
            try {
              n = sender.submitRun(bytes, from, max, seq, keys, next);
            } catch (err) {
              assert.ok(err instanceof RangeError, String(err));
              return;
            }
            assert.ok(n >= 0 && n <= Math.max(0, Math.min(max, keys.length)));
            assert.ok(next[0]! >= from && next[0]! <= bytes.length);
            assert.ok(next[1] === -1 || next[1] === -2 || (next[1]! > next[0]! && next[1]! <= bytes.length));
            seq += n;
          },
        ),
        { numRuns: 1500 },
      );
      return seq;
    });
  });

  it('submit() with random offsets, heads and cuts: a RangeError or accepted, and every accepted request gets one result', async () => {
    let seq = 0;
    let accepted = 0;
    // Half well-formed batches (ascending offsets inside the buffer, cuts inside each request or -1), half
    // anything at all.
    const wellFormed = fc
      .tuple(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.array(fc.nat(), { minLength: 1, maxLength: 6 }))
      .map(([bytes, points]) => {
        const offsets = [0, ...points.map((p) => p % (bytes.length + 1))].sort((x, y) => x - y);
        const n = offsets.length - 1;
        const cuts: number[] = [];
        for (let i = 0; i < n; i++) {
          const len = offsets[i + 1]! - offsets[i]!;
          const a = points[i]! % (len + 1);
          cuts.push(i % 2 === 0 ? a : -1, i % 2 === 0 ? a + ((points[i]! >> 3) % (len - a + 1)) : -1);
        }
        return { bytes, n, offsets, cuts };
      });
    const anything = fc.record({
      bytes: fc.uint8Array({ maxLength: 64 }),
      n: fc.integer({ min: 0, max: 6 }),
      offsets: fc.array(fc.integer({ min: -3, max: 70 }), { maxLength: 8 }),
      cuts: fc.array(fc.integer({ min: -2, max: 70 }), { maxLength: 14 }),
    });
    await withRefusedSender((sender) => {
      fc.assert(
        fc.property(fc.oneof(wellFormed, anything), ({ bytes, n, offsets, cuts }) => {
          try {
            sender.submit(
              Buffer.from(bytes),
              Int32Array.from(offsets),
              new Uint8Array(n),
              seq,
              n,
              cuts.length > 0 ? Int32Array.from(cuts) : undefined,
            );
          } catch (err) {
            assert.ok(err instanceof RangeError, String(err));
            return;
          }
          accepted += n;
          seq += n;
        }),
        { numRuns: 400 },
      );
      return accepted;
    });
  });
});
