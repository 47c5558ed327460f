// The replay client's fast path must agree with the general ResponseSplitter on every response it accepts,
// and decline everything whose framing needs the splitter.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { simpleResponseLength, simpleStatus } from './response-fast-path.js';
import { ResponseSplitter } from './splitter.js';

const b = (s: string) => Buffer.from(s, 'latin1');

/**
 * What the splitter makes of `bytes` as the whole answer to one `method` request: [length, status] or null.
 * Only the bytes the fast path claims are given to it: what follows them (for example a body after the answer
 * to HEAD) is the next message's business, on both paths.
 */
function viaSplitter(bytes: Buffer, method: string): [number, number] | null {
  const splitter = new ResponseSplitter();
  splitter.expect(method);
  const messages = splitter.push(bytes);
  const final = messages.filter((m) => !m.interim);
  if (final.length === 0 || final[0]!.incomplete || splitter.stats.garbageBytes > 0) return null;
  return [final[0]!.end - final[0]!.start, final[0]!.status];
}

function agrees(bytes: Buffer, method = 'GET'): number {
  const fast = simpleResponseLength(bytes, 0, bytes.length, method === 'HEAD');
  if (fast !== -1) {
    const claimed = bytes.subarray(0, fast);
    assert.deepEqual(
      viaSplitter(claimed, method),
      [fast, simpleStatus(bytes, 0, bytes.length)],
      bytes.toString('latin1'),
    );
  }
  return fast;
}

describe('simpleResponseLength', () => {
  it('takes the common answers, with the length and status the splitter finds', () => {
    const ok = 'HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n';
    assert.equal(agrees(b(ok)), ok.length);
    assert.equal(agrees(b('HTTP/1.0 404 Not Found\r\ncontent-length:0\r\n\r\n')), 44);
    assert.equal(agrees(b('HTTP/1.1 500\r\nCONTENT-LENGTH: \t 5 \r\nX: a:b\r\n\r\nabcde')), 51);
    assert.equal(agrees(b('HTTP/1.1 301 Moved\r\nLocation: /x\r\nContent-Length: 5\r\n\r\n')), -1, 'body not here yet');
    assert.equal(agrees(b('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n'), 'HEAD'), 38, 'HEAD: no body');
  });

  it('says where the response ends when more bytes follow, and starts anywhere in the buffer', () => {
    const bytes = b('xxHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n');
    assert.equal(simpleResponseLength(bytes, 2, bytes.length, false), 40);
  });

  it('declines what needs the general splitter', () => {
    const declined = [
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n',
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nContent-Length: 0\r\n\r\n',
      'HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n',
      'HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 2\r\n\r\nok',
      'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil close',
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok',
      'HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok',
      'HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok',
      'HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok',
      'HTTP/1.1 200 OK\r\nX: a\r\n folded\r\nContent-Length: 2\r\n\r\nok',
      'HTTP/1.1 200 OK\nContent-Length: 2\r\n\r\nok',
      'HTTP/1.1 200 OK\r\nContent-Length: 2\n\r\n\r\nok',
      'HTTP/1.1 200 OK\r\nNo colon here\r\nContent-Length: 2\r\n\r\nok',
      'HTTP/1.1  200 OK\r\nContent-Length: 2\r\n\r\nok',
      'HTTP/1.1 200 O\x01K\r\nContent-Length: 2\r\n\r\nok',
      'HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nok',
      'HTTP/1.1 20x OK\r\nContent-Length: 2\r\n\r\nok',
      'HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok',
      'garbage HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
      'HTTP/1.1 200 OK\r\nContent-Length: 1234567890123456\r\n\r\n',
      'HTTP/1.1 200 OK\r\n\r\n',
    ];
    for (const text of declined) assert.equal(agrees(b(text)), -1, JSON.stringify(text));
  });

  it('agrees with the splitter on every one-byte change of some responses (bounded: a few thousand cases)', () => {
    const seeds = [
      'HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nok\n',
      'HTTP/1.0 503 Busy\r\nContent-length: 0\r\n\r\n',
    ];
    const replacements = [0x00, 0x09, 0x0a, 0x0d, 0x20, 0x2c, 0x30, 0x31, 0x3a, 0x41, 0x7f];
    let accepted = 0;
    for (const seed of seeds) {
      const base = b(seed);
      for (let at = 0; at < base.length; at++) {
        for (const r of replacements) {
          const bytes = Buffer.from(base);
          bytes[at] = r;
          for (const method of ['GET', 'HEAD']) if (agrees(bytes, method) !== -1) accepted++;
        }
      }
    }
    assert.ok(accepted > 100, `the fast path took ${accepted} of the variants`);
  });
});
