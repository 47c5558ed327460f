// Property tests: the modifiers and --prettify-http never throw, whatever bytes they are given, and the Go regexp
// translator either produces a RegExp that compiles or refuses with a GoRegexpError, for any pattern text.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type Message, makeMeta } from '../../src/core/message.js';
import { GoRegexp, GoRegexpError, parseTemplate } from '../../src/modifiers/go-regexp.js';
import { buildModifierChain, Prettifier } from '../../src/modifiers/index.js';

const EVERY_MODIFIER = {
  'http-allow-method': ['GET', 'POST', 'PUT'],
  'http-set-header': ['X-Set: 1', 'Host: replay'],
  'http-set-param': ['p=1', 'q='],
  'http-allow-url': ['.', '^/'],
  'http-disallow-url': ['\\.never$'],
  'http-allow-header': ['Host:.'],
  'http-disallow-header': ['X-Drop:yes'],
  'http-basic-auth-filter': ['.*'],
  'http-header-limiter': ['X-Id:90%'],
  'http-param-limiter': ['id:90%'],
  'http-rewrite-url': ['^/(\\w*)(.*)$:/r/$1${2}x', '(?i)A:b'],
  'http-rewrite-header': ['Host: (.*),$1.staging', 'X-Set: (\\d),${1}$1'],
};

const token = fc.constantFrom('GET', 'POST', 'PUT', 'get', 'PROPFIND', '', 'G ET');
const text = fc.string({ unit: fc.constantFrom('a', '/', '?', '&', '=', ' ', ':', '\r', '\n', 'é', '%', '1', 'A') });
const headerLine = fc
  .tuple(fc.constantFrom('Host', 'X-Id', 'x-drop', 'Authorization', 'Transfer-Encoding', 'Content-Encoding'), text)
  .map(([n, v]) => `${n}:${v}\r\n`);
/** Payloads close enough to HTTP to get through the request-line check, mixed with raw random bytes. */
const payload = fc.oneof(
  fc
    .tuple(
      token,
      text,
      fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0'),
      fc.array(headerLine, { maxLength: 6 }),
      text,
    )
    .map(([m, t, v, h, body]) => Buffer.from(`${m} /${t} ${v}\r\n${h.join('')}\r\n${body}`)),
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  fc
    .tuple(fc.uint8Array({ maxLength: 60 }), fc.array(headerLine, { maxLength: 4 }))
    .map(([junk, h]) =>
      Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\n${h.join('')}\r\n`), Buffer.from(junk), Buffer.from('\r\n')]),
    ),
);

describe('modifiers never throw (property)', () => {
  it('every modifier at once, then prettify, on arbitrary payloads of every type', () => {
    const chain = buildModifierChain(EVERY_MODIFIER)!;
    const prettifier = new Prettifier();
    fc.assert(
      fc.property(payload, fc.constantFrom('1', '2', '3'), fc.constantFrom('a', 'b'), (data, type, id) => {
        const msg: Message = { meta: makeMeta({ type, id, timestampNs: 1n }), data };
        const out = chain.process(msg);
        if (out !== null) {
          assert.ok(Buffer.isBuffer(out.data));
          prettifier.process(out);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('arbitrary pattern text compiles to a working RegExp or is refused with GoRegexpError', () => {
    const patternChar = fc.constantFrom(
      ...'()[]{}|*+?.^$\\:-,aAzZ09_<>=!#PpLQEbBdDsSwWxAzCUims}é😀 '.split(''),
      '\\p{Greek}',
      '[[:alpha:]]',
      '(?i)',
      '(?P<n>',
      '{2,3}',
      '\\x{41}',
    );
    fc.assert(
      fc.property(
        fc.array(patternChar, { maxLength: 14 }).map((a) => a.join('')),
        text,
        (pattern, input) => {
          let re: GoRegexp;
          try {
            re = new GoRegexp(pattern);
          } catch (err) {
            assert.ok(err instanceof GoRegexpError, `${pattern}: ${String(err)}`);
            return;
          }
          re.matches(Buffer.from(input));
          re.replaceAll(Buffer.from(input), parseTemplate('$1${n}$$x'));
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('templates never throw', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('$', '{', '}', '1', 'a', '_', '-', 'é') }), (t) => {
        parseTemplate(t);
      }),
    );
  });
});
