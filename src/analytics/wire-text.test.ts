import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hostText, wireText } from './wire-text.js';

const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));
const text = (b: Buffer) => wireText(b, 0, b.length);

describe('wireText: paths and hosts from the traffic as text', () => {
  it('ASCII as it is, valid UTF-8 as its characters', () => {
    assert.equal(text(bytes('/users/1?x')), '/users/1?x');
    assert.equal(text(bytes('/uni/é/日本')), '/uni/é/日本');
    assert.equal(text(bytes('/😀/ü')), '/😀/ü');
    // Only the range asked for.
    const b = bytes('GET /é HTTP/1.1');
    assert.equal(wireText(b, 4, 7), '/é');
  });

  it('bytes that are not UTF-8 as \\xHH, valid sequences beside them kept', () => {
    const cases: [Buffer, string][] = [
      [bytes('/caf', [0xe9]), '/caf\\xe9'], // latin1 é: not merged with UTF-8 é
      [bytes('/a', [0xc0, 0xaf]), '/a\\xc0\\xaf'], // overlong '/'
      [bytes('/', [0xed, 0xa0, 0x80]), '/\\xed\\xa0\\x80'], // a surrogate
      [bytes('/', [0xf4, 0x90, 0x80, 0x80]), '/\\xf4\\x90\\x80\\x80'], // above U+10FFFF
      [bytes('/日', [0xe6, 0x97]), '/日\\xe6\\x97'], // cut at the end
      [bytes('/', [0xe6, 0x97], '/x'), '/\\xe6\\x97/x'], // cut by the next segment
      [bytes('/', [0x80], 'é', [0xff]), '/\\x80é\\xff'], // stray continuation, 0xFF
      [bytes([0xa0]), '\\xa0'],
    ];
    for (const [b, want] of cases) assert.equal(text(b), want, b.toString('hex'));
    // The result is ASCII plus valid text: JSON round-trips it unchanged.
    for (const [b] of cases) assert.equal(JSON.parse(JSON.stringify(text(b))), text(b));
  });

  it('hostText trims ASCII white space as bytes, then decodes', () => {
    const host = (b: Buffer) => hostText(b, 0, b.length);
    assert.equal(host(bytes(' \tbücher.example \r')), 'bücher.example');
    assert.equal(host(bytes(' \t ')), '');
    assert.equal(host(bytes('ex', [0xc3, 0xa0])), 'exà'); // an A0 byte ending a character stays
    assert.equal(host(bytes([0xa0])), '\\xa0'); // alone it is not white space, not text either
    assert.equal(host(bytes('\u3000')), '\u3000'); // Unicode spaces are not trimmed: same rule as the native core
    assert.equal(hostText(bytes('x'), -1, -1), '');
  });
});
