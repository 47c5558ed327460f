// Golden tests for gor's filters and rewrites (spec §7.5–§7.7, §3 step 5, §9.4, and gor's http_modifier_test.go
// vectors listed in §10): every modifier, byte for byte, in gor's fixed order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import zlib from 'node:zlib';
import { TaplineError } from '../../src/core/errors.js';
import { type Message, makeMeta, type PayloadType } from '../../src/core/message.js';
import { FILTERED_IDS_CAPACITY, ModifierChain } from '../../src/modifiers/chain.js';
import { fnv1a32 } from '../../src/modifiers/fnv.js';
import { goBase64Decode } from '../../src/modifiers/go-base64.js';
import { parseHashLimit } from '../../src/modifiers/hash-limit.js';
import { buildModifierChain, MODIFIER_ORDER, type ModifierValues, Prettifier } from '../../src/modifiers/index.js';

const b = (s: string) => Buffer.from(s, 'latin1');
const msg = (data: string | Buffer, type: PayloadType = '1', id = 'a'.repeat(24)): Message => ({
  meta: makeMeta({ type, id, timestampNs: 1n }),
  data: typeof data === 'string' ? b(data) : data,
});

/** The payload after the modifiers, or null when the request is dropped. */
function run(values: ModifierValues, payload: string): string | null {
  const chain = buildModifierChain(values);
  assert.ok(chain, 'a chain is built');
  const out = chain.process(msg(payload));
  return out === null ? null : out.data.toString('latin1');
}

function usageError(values: ModifierValues, pattern: RegExp): void {
  assert.throws(
    () => buildModifierChain(values),
    (err: unknown) => err instanceof TaplineError && err.code === 'TAPLINE_ERR_USAGE' && pattern.test(err.describe()),
  );
}

const POST = 'POST /post HTTP/1.1\r\nContent-Length: 7\r\nHost: www.w3.org\r\n\r\na=1&b=2';
const GET = (target: string, headers = 'Host: www.w3.org\r\n') => `GET ${target} HTTP/1.1\r\n${headers}\r\n`;

describe('gor order (spec §7.6)', () => {
  it('is pinned', () => {
    assert.deepEqual(
      MODIFIER_ORDER.map(([flag]) => flag),
      [
        'http-allow-method',
        'http-set-header',
        'http-set-param',
        'http-allow-url',
        'http-disallow-url',
        'http-allow-header',
        'http-disallow-header',
        'http-basic-auth-filter',
        'http-header-limiter',
        'http-param-limiter',
        'http-rewrite-url',
        'http-rewrite-header',
      ],
    );
  });
  it('set-param runs before allow-url; rewrite-url runs after it', () => {
    assert.equal(run({ 'http-set-param': ['k=v'], 'http-allow-url': ['k=v'] }, GET('/a')), GET('/a?k=v'));
    // allow-url sees the original target, not the rewritten one
    assert.equal(run({ 'http-rewrite-url': ['/a:/b'], 'http-allow-url': ['^/a$'] }, GET('/a')), GET('/b'));
    assert.equal(run({ 'http-rewrite-url': ['/a:/b'], 'http-allow-url': ['^/b$'] }, GET('/a')), null);
  });
  it('set-header runs before allow-header', () => {
    assert.equal(
      run({ 'http-set-header': ['X: 1'], 'http-allow-header': ['X:^1$'] }, GET('/')),
      `GET / HTTP/1.1\r\nX: 1\r\nHost: www.w3.org\r\n\r\n`,
    );
  });
});

describe('what counts as a request (spec §7.5): anything else passes untouched', () => {
  const drop = { 'http-allow-method': ['NOPE'], 'http-set-header': ['X: 1'] };
  for (const payload of [
    'PROPFIND / HTTP/1.1\r\nHost: x\r\n\r\n',
    'get / HTTP/1.1\r\nHost: x\r\n\r\n',
    'GET / HTTP/2.0\r\nHost: x\r\n\r\n',
    'GET / HTTP/1.1\nHost: x\n\n',
    'GET / HTTP/1.1', // shorter than 16 bytes
    '\x00\x01binary',
  ]) {
    it(JSON.stringify(payload), () => assert.equal(run(drop, payload), payload));
  }
});

describe('--http-allow-method', () => {
  const values = { 'http-allow-method': ['GET', 'POST'] };
  it('keeps listed methods, drops others; exact case', () => {
    assert.equal(run(values, POST), POST);
    assert.equal(run(values, GET('/')), GET('/'));
    assert.equal(run(values, 'OPTIONS / HTTP/1.1\r\nHost: x\r\n\r\n'), null);
    assert.equal(run({ 'http-allow-method': ['get'] }, GET('/')), null);
  });
});

describe('--http-set-header (spec §7.7)', () => {
  it("gor's test: replace Host in place, insert Header1 after the request line", () => {
    assert.equal(
      run({ 'http-set-header': ['Header1:1', 'Host:localhost'] }, POST),
      'POST /post HTTP/1.1\r\nHeader1: 1\r\nContent-Length: 7\r\nHost: localhost\r\n\r\na=1&b=2',
    );
  });
  it('new headers set in sequence appear in reverse order', () => {
    assert.equal(
      run({ 'http-set-header': ['A: 1', 'B: 2'] }, GET('/')),
      'GET / HTTP/1.1\r\nB: 2\r\nA: 1\r\nHost: www.w3.org\r\n\r\n',
    );
  });
  it('names match case-insensitively and keep their captured case and spacing', () => {
    assert.equal(
      run({ 'http-set-header': ['HOST: new'] }, GET('/', 'host:   old  \r\nX: y\r\n')),
      GET('/', 'host:   new  \r\nX: y\r\n'),
    );
  });
  it('an empty value gets the new one right after the colon; both sides of the flag are trimmed', () => {
    assert.equal(
      run({ 'http-set-header': ['  Cookie :  a=1  '] }, GET('/', 'Cookie:\r\n')),
      GET('/', 'Cookie:a=1\r\n'),
    );
  });
  it('a missing colon is a usage error', () =>
    usageError({ 'http-set-header': ['NoColon'] }, /http-set-header.*Name: value/));
});

describe('--http-set-param (spec §7.7)', () => {
  const set = (target: string, ...values: string[]) => run({ 'http-set-param': values }, GET(target));
  it("gor's test: replaces an existing value", () =>
    assert.equal(set('/post?api_key=1234', 'api_key=1'), GET('/post?api_key=1')));
  it('appends ?name= or &name=', () => {
    assert.equal(set('/p', 'x=1'), GET('/p?x=1'));
    assert.equal(set('/p?a=1', 'x=1'), GET('/p?a=1&x=1'));
  });
  it('with duplicates, an &name= occurrence wins over ?name=', () => {
    assert.equal(set('/p?user_id=1&user_id=2', 'user_id=9'), GET('/p?user_id=1&user_id=9'));
  });
  it('several params, no encoding, values and names trimmed', () => {
    assert.equal(set('/p?a=1&b=2', ' a = x%20y ', 'c=3'), GET('/p?a=x%20y&b=2&c=3'));
  });
  it('a missing = is a usage error', () => usageError({ 'http-set-param': ['novalue'] }, /http-set-param/));
});

describe('--http-allow-url / --http-disallow-url', () => {
  it('allow: any regexp matching the request-target keeps it', () => {
    const v = { 'http-allow-url': ['^/api/', 'health'] };
    assert.equal(run(v, GET('/api/x')), GET('/api/x'));
    assert.equal(run(v, GET('/x?check=health')), GET('/x?check=health'));
    assert.equal(run(v, GET('/other')), null);
  });
  it('disallow: any match drops; the target includes the query', () => {
    const v = { 'http-disallow-url': ['\\.js$', 'debug=1'] };
    assert.equal(run(v, GET('/a.js')), null);
    assert.equal(run(v, GET('/a?debug=1')), null);
    assert.equal(run(v, GET('/a.jsx')), GET('/a.jsx'));
  });
  it('a proxy-form target is matched as sent (absolute URI)', () => {
    assert.equal(run({ 'http-allow-url': ['^http://other'] }, GET('http://other/x')), GET('http://other/x'));
  });
});

describe('--http-allow-header / --http-disallow-header', () => {
  const req = GET('/', 'Host: x\r\nuser-agent: Replayed by Gor\r\nX-Empty:\r\n');
  it('allow: header present, non-empty and matching; names case-insensitive', () => {
    assert.equal(run({ 'http-allow-header': ['User-Agent: Replayed by Gor'] }, req), req);
    assert.equal(run({ 'http-allow-header': ['User-Agent:^curl'] }, req), null);
    assert.equal(run({ 'http-allow-header': ['X-Missing:.*'] }, req), null);
    assert.equal(run({ 'http-allow-header': ['X-Empty:^$'] }, req), null); // empty counts as missing
  });
  it('allow: every rule must hold', () => {
    assert.equal(run({ 'http-allow-header': ['User-Agent:Gor', 'Host:^x$'] }, req), req);
    assert.equal(run({ 'http-allow-header': ['User-Agent:Gor', 'Host:^y$'] }, req), null);
  });
  it('disallow: present and matching drops; missing or empty passes', () => {
    assert.equal(run({ 'http-disallow-header': ['User-Agent:Gor'] }, req), null);
    assert.equal(run({ 'http-disallow-header': ['X-Missing:.*'] }, req), req);
    assert.equal(run({ 'http-disallow-header': ['X-Empty:.*'] }, req), req);
  });
  it('the name is not trimmed (as gor), so a name no header has is a usage error, where gor silently never matches', () => {
    // gor: 'User-Agent :Gor' names `User-Agent `: allow-header drops every request, the others do nothing.
    usageError(
      { 'http-disallow-header': ['User-Agent :Gor'] },
      /"User-Agent " contains a space.*never drop.*"User-Agent"/,
    );
    usageError({ 'http-allow-header': ['User-Agent :Gor'] }, /http-allow-header.*drop every request/);
    usageError({ 'http-allow-header': [':Gor'] }, /http-allow-header ":Gor": the header name is empty/);
    usageError({ 'http-allow-header': ['X\u00c4:1'] }, /the character "\u00c4"/);
    usageError(
      { 'http-rewrite-header': ['Host : a,b'] },
      /http-rewrite-header.*"Host " contains a space.*rewrite nothing/,
    );
    usageError({ 'http-header-limiter': [' X:50%'] }, /http-header-limiter.*keep every request/);
    usageError({ 'http-param-limiter': ['id :50%'] }, /http-param-limiter.*"id " contains a space.*keep every request/);
    usageError({ 'http-param-limiter': [':50%'] }, /http-param-limiter.*parameter name is empty/);
    assert.equal(run({ 'http-disallow-header': ['User-Agent:Gor'] }, req), null);
  });
  it("flag values: gor's parsing tests", () => {
    assert.ok(buildModifierChain({ 'http-allow-header': ['Header1:^$', 'Header2:^:$'] }));
    usageError({ 'http-allow-header': ['Header3-^$'] }, /http-allow-header.*colon-delimited/);
    usageError({ 'http-disallow-header': ['X:(?!a)'] }, /look-ahead/);
  });
});

describe('--http-basic-auth-filter', () => {
  const auth = (value: string) => GET('/', `Host: x\r\nAuthorization: ${value}\r\n`);
  const v = { 'http-basic-auth-filter': ['^customer[0-9].*'] };
  it("gor's test: customer3:welcome passes, other users are dropped", () => {
    assert.equal(goBase64Decode(b('Y3VzdG9tZXIzOndlbGNvbWU=')).toString(), 'customer3:welcome');
    assert.equal(run(v, auth('Basic Y3VzdG9tZXIzOndlbGNvbWU=')), auth('Basic Y3VzdG9tZXIzOndlbGNvbWU='));
    assert.equal(run(v, auth(`Basic ${Buffer.from('admin:x').toString('base64')}`)), null);
  });
  it('no Authorization header, or another scheme, passes; "basic" in lower case is another scheme', () => {
    assert.equal(run(v, GET('/')), GET('/'));
    assert.equal(run(v, auth('Bearer abc')), auth('Bearer abc'));
    assert.equal(run(v, auth('basic Y3VzdG9tZXIzOndlbGNvbWU=')), auth('basic Y3VzdG9tZXIzOndlbGNvbWU='));
  });
  it("a corrupt credential is matched on what Go's decoder wrote before the error", () => {
    assert.equal(goBase64Decode(b('Y3VzdG9tZXIz!!!!')).toString(), 'customer3');
    assert.equal(goBase64Decode(b('Y3Vz')).toString(), 'cus');
    assert.equal(goBase64Decode(b('Y3VzdA')).toString(), 'cus'); // unpadded tail: an error, not decoded
    assert.equal(goBase64Decode(b('Y3VzdA==')).toString(), 'cust');
    assert.equal(goBase64Decode(b('Y3VzdA==Y3Vz')).toString(), 'cust'); // data after padding: an error
    assert.equal(run(v, auth('Basic Y3VzdG9tZXIz!!!!')), auth('Basic Y3VzdG9tZXIz!!!!'));
    assert.equal(run(v, auth('Basic !!!!')), null);
  });
});

describe('--http-header-limiter / --http-param-limiter (FNV-1a 32)', () => {
  const limit = (flag: string, value: string) => {
    const l = parseHashLimit(flag, value);
    return { name: l.name.toString(), percent: l.percent };
  };
  it('FNV-1a 32 test vectors', () => {
    assert.equal(fnv1a32(b('1')), 873244444);
    assert.equal(fnv1a32(b('3')), 906799682);
    assert.equal(fnv1a32(b('')), 2166136261);
    assert.equal(fnv1a32(b('abc')), 440920331);
  });
  it("gor's test: at 50%, value 3 (hash mod 100 = 82) is dropped and 1 (44) passes", () => {
    const v = { 'http-header-limiter': ['Header2:50%'] };
    assert.equal(run(v, GET('/', 'Header2: 3\r\n')), null);
    assert.equal(run(v, GET('/', 'Header2: 1\r\n')), GET('/', 'Header2: 1\r\n'));
    assert.equal(run(v, GET('/')), GET('/')); // missing passes
    assert.equal(run(v, GET('/', 'Header2:\r\n')), GET('/', 'Header2:\r\n')); // empty passes
  });
  it('the boundary is strict: hash mod 100 = 44 passes at 45% and is dropped at 44%', () => {
    assert.equal(run({ 'http-header-limiter': ['h:45%'] }, GET('/', 'h: 1\r\n')), GET('/', 'h: 1\r\n'));
    assert.equal(run({ 'http-header-limiter': ['h:44%'] }, GET('/', 'h: 1\r\n')), null);
  });
  it('param limiter: same arithmetic; a present empty value counts (hash of "" mod 100 = 61)', () => {
    const v = { 'http-param-limiter': ['user_id:50%'] };
    assert.equal(run(v, GET('/?user_id=3')), null);
    assert.equal(run(v, GET('/?a=b&user_id=1')), GET('/?a=b&user_id=1'));
    assert.equal(run(v, GET('/?user_id=')), null);
    assert.equal(run({ 'http-param-limiter': ['user_id:62%'] }, GET('/?user_id=')), GET('/?user_id='));
    assert.equal(run(v, GET('/?other=3')), GET('/?other=3'));
  });
  it("percentages: gor's parsing (base detection, a/b in float64); malformed values refused", () => {
    assert.deepEqual(limit('f', 'Header1:1/2'), { name: 'Header1', percent: 50 });
    assert.deepEqual(limit('f', 'Header2:10%'), { name: 'Header2', percent: 10 });
    assert.deepEqual(limit('f', 'h: 010%'), { name: 'h', percent: 8 });
    assert.deepEqual(limit('f', 'h:0x10%'), { name: 'h', percent: 16 });
    assert.deepEqual(limit('f', 'h:29/100'), { name: 'h', percent: 28 }); // 0.29 × 100 = 28.999…
    usageError({ 'http-header-limiter': ['Header2:1'] }, /contain '%'/);
    usageError({ 'http-header-limiter': ['Header2:ten%'] }, /not a percentage/);
    usageError({ 'http-param-limiter': ['p:1/0'] }, /not a fraction/);
    usageError({ 'http-param-limiter': ['p:-5%'] }, /negative/);
    assert.deepEqual(limit('f', 'h:4294967295%'), { name: 'h', percent: 4294967295 }); // keeps all, in gor too
    usageError({ 'http-param-limiter': ['p:4294967306%'] }, /"4294967306%" is too large: gor keeps its low 32 bits/);
    usageError({ 'http-header-limiter': ['h:5000000000/1'] }, /too large/);
    usageError({ 'http-param-limiter': ['p50%'] }, /colon-delimited/);
  });
});

describe('--http-rewrite-url', () => {
  const rw = (rules: string[], target: string) => run({ 'http-rewrite-url': rules }, GET(target));
  it('gor-style rewrites with $1 and ${name}; every match is replaced', () => {
    assert.equal(rw(['/v1/([^/]+)/ping:/v2/$1/pong'], '/v1/user/ping'), GET('/v2/user/pong'));
    assert.equal(rw(['^/(?P<ver>v\\d)/(?P<rest>.*)$:/api/${ver}/${rest}'], '/v1/a?b=c'), GET('/api/v1/a?b=c'));
    assert.equal(rw(['a:b'], '/aa/a'), GET('/bb/b'));
  });
  it('only the first matching rule applies', () => {
    assert.equal(rw(['^/x:/never', '^/a:/first', '^/first:/second'], '/a'), GET('/first'));
  });
  it('$1x is the group named "1x" (empty); ${1}x is group 1 then x; $$ is $', () => {
    assert.equal(rw(['^/(\\w+)$:/$1x'], '/abc'), GET('/'));
    assert.equal(rw(['^/(\\w+)$:/${1}x'], '/abc'), GET('/abcx'));
    assert.equal(rw(['^/(\\w+)$:/$$1'], '/abc'), GET('/$1'));
  });
  it('the replacement may contain colons; the regexp cannot', () => {
    assert.equal(rw(['^/a:http://h/b'], '/a'), GET('http://h/b'));
  });
  it('a missing colon, or a replacement naming a group Go and JS disagree on, is a usage error', () => {
    usageError({ 'http-rewrite-url': ['/nocolon'] }, /http-rewrite-url.*colon-delimited/);
    usageError({ 'http-rewrite-url': ['((a)|b)+:$2'] }, /repeated group/);
    assert.ok(buildModifierChain({ 'http-rewrite-url': ['((a)|b)+:$1'] })); // the repeated group itself is fine
  });
  it('a regexp cut at its own colon is a usage error that says so (gor: a compile error, or garbage targets)', () => {
    // gor takes '^http' as the regexp and writes '//a/x:http://b/x://a/x/y' for http://a/x/y.
    usageError(
      { 'http-rewrite-url': ['^http://a/x:http://b/x'] },
      /regexp "\^http" and the replacement "\/\/a\/x:http:\/\/b\/x": a URL in the regexp needs its colon written \\x3a/,
    );
    usageError({ 'http-rewrite-url': ['(?i)^HTTPS://a/(.*):https://b/$1'] }, /\(\?i\)\^HTTPS\\x3a/);
    usageError(
      { 'http-rewrite-url': ['^/(?:v1|v2)/(.*):/v3/$1'] },
      /regexp "\^\/\(\?": .*split at its first ":".*\\x3a.*use \(…\) or a leading \(\?i\)/,
    );
    assert.equal(run({ 'http-rewrite-url': ['^http\\x3a//a/(.*):http://b/$1'] }, GET('http://a/x')), GET('http://b/x'));
    assert.equal(run({ 'http-rewrite-url': ['^/a://b'] }, GET('/a')), GET('//b')); // no scheme: taken as written
    usageError({ 'http-rewrite-url': ['^/x(:/y'] }, /missing closing \)[^.]*$/); // no other colon: no hint
  });
});

describe('--http-rewrite-header', () => {
  const req = GET('/', 'Host: www.w3.org\r\nX-Env: prod\r\n');
  it('a regexp cut at its own comma is a usage error that says so (gor: a compile error, or a literal brace)', () => {
    // gor takes 'w{1' (a literal brace) as the regexp and '3}\.w3,x' as the replacement: nothing is rewritten.
    usageError({ 'http-rewrite-header': ['Host: w{1,3}\\.w3,x'] }, /regexp "w\{1" and the replacement "3\}\\\\.w3,x"/);
    usageError({ 'http-rewrite-header': ['Host: (a,b),c'] }, /regexp "\(a": .*split at its first ",".*\\x2c/);
    assert.equal(run({ 'http-rewrite-header': ['Host: (w3),$1,x'] }, req), req.replace('w3.org', 'w3,x.org'));
  });
  it("gor's test: Host: (.*).w3.org,$1.beta.w3.org", () => {
    assert.equal(
      run({ 'http-rewrite-header': ['Host: (.*).w3.org,$1.beta.w3.org'] }, req),
      GET('/', 'Host: www.beta.w3.org\r\nX-Env: prod\r\n'),
    );
  });
  it('rules apply in order; a non-matching rule leaves the header alone', () => {
    assert.equal(
      run({ 'http-rewrite-header': ['X-Env: prod,staging', 'Host: nomatch,x', 'x-env: (\\w+),${1}-2'] }, req),
      GET('/', 'Host: www.w3.org\r\nX-Env: staging-2\r\n'),
    );
  });
  it('gor quirk: a rule whose header is missing stops every later rule', () => {
    assert.equal(run({ 'http-rewrite-header': ['X-Missing: .*,x', 'X-Env: prod,staging'] }, req), req);
  });
  it('parsing: Name: regexp,replacement; the regexp cannot contain a comma', () => {
    usageError({ 'http-rewrite-header': ['X-Env prod'] }, /http-rewrite-header/);
    usageError({ 'http-rewrite-header': ['X-Env: prod'] }, /http-rewrite-header/);
    assert.equal(
      run({ 'http-rewrite-header': ['X-Env: p(r)od,a,b'] }, req),
      GET('/', 'Host: www.w3.org\r\nX-Env: a,b\r\n'),
    );
  });
});

describe('responses of dropped requests (spec §3 step 5)', () => {
  it('every response (type 2 and 3) of a dropped request is dropped; others pass', () => {
    const chain = buildModifierChain({ 'http-allow-url': ['^/keep'] })!;
    const dropId = 'd'.repeat(24);
    const keepId = 'k'.repeat(24);
    assert.equal(chain.process(msg(GET('/drop'), '1', dropId)), null);
    assert.ok(chain.process(msg(GET('/keep'), '1', keepId)));
    assert.equal(chain.process(msg('HTTP/1.1 200 OK\r\n\r\n', '2', dropId)), null);
    assert.equal(chain.process(msg('HTTP/1.1 200 OK\r\n\r\n', '3', dropId)), null);
    assert.ok(chain.process(msg('HTTP/1.1 200 OK\r\n\r\n', '2', keepId)));
    assert.deepEqual(chain.stats(), {
      'http-allow-url': 1,
      responses_of_dropped_requests: 2,
      dropped_ids_forgotten: 0,
    });
  });
  it('a request that later passes under the same id gets its responses back', () => {
    const chain = buildModifierChain({ 'http-allow-url': ['^/keep'] })!;
    assert.equal(chain.process(msg(GET('/drop'), '1')), null);
    assert.ok(chain.process(msg(GET('/keep'), '1')));
    assert.ok(chain.process(msg('HTTP/1.1 200 OK\r\n\r\n', '2')));
  });
  it('memory is bounded: the oldest ids are forgotten, and counted', () => {
    const chain = new ModifierChain(buildModifierChain({ 'http-allow-method': ['GET'] })!.modifiers, 100);
    for (let i = 0; i < 1000; i++) chain.process(msg('PUT / HTTP/1.1\r\nHost: x\r\n\r\n', '1', `id${i}`));
    assert.equal(chain.stats().dropped_ids_forgotten, 900);
    assert.ok(chain.process(msg('HTTP/1.1 200 OK\r\n\r\n', '2', 'id0'))); // forgotten: passes
    assert.equal(chain.process(msg('HTTP/1.1 200 OK\r\n\r\n', '2', 'id999')), null);
    assert.ok(FILTERED_IDS_CAPACITY >= 10_000);
  });
});

describe('--prettify-http as a processor (spec §9.4)', () => {
  const prettifyStats = (prettified: number, badGzip: number, cut: number, trailer: number) => ({
    prettified,
    prettify_bad_gzip_dropped: badGzip,
    prettify_chunked_body_cut: cut,
    prettify_trailer_dropped: trailer,
  });
  it('decodes gzip on any message type and fixes Content-Length; a bad gzip header drops and is counted', () => {
    const p = new Prettifier();
    const gz = zlib.gzipSync(b('test'));
    const response = Buffer.concat([
      b(`HTTP/1.1 200 OK\r\nContent-Length: ${gz.length}\r\nContent-Encoding: gzip\r\n\r\n`),
      gz,
    ]);
    assert.equal(
      p.process(msg(response, '2'))!.data.toString('latin1'),
      'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ntest',
    );
    const plain = msg(GET('/'));
    assert.equal(p.process(plain), plain);
    assert.equal(p.process(msg(b('HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\nnot gzip'), '2')), null);
    assert.deepEqual(p.stats(), prettifyStats(1, 1, 0, 0));
  });
  it('a chunked body that breaks off keeps what decoded, as gor, and is counted (the rest is lost)', () => {
    const p = new Prettifier();
    const head = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';
    const out = (body: string) => p.process(msg(b(head + body), '2'))!.data.toString('latin1');
    assert.equal(out('4\r\nWiki\r\n0\r\n\r\n'), 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nWiki');
    assert.equal(p.stats().prettify_chunked_body_cut, 0);
    assert.equal(out('4\r\nWiki\r\n5\r\nped'), 'HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nWikiped'); // cut capture
    assert.equal(out('zz\r\nWiki\r\n0\r\n\r\n'), 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'); // bad size line
    assert.equal(out(''), 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'); // no body (204, HEAD): nothing lost
    assert.deepEqual(p.stats(), prettifyStats(4, 0, 2, 0));
  });
  it('a trailer section or a pipelined request after the last chunk is left out, as gor, and is counted', () => {
    const p = new Prettifier();
    const head = 'POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n';
    const out = (body: string) => p.process(msg(b(head + body)))!.data.toString('latin1');
    const decoded = 'POST /up HTTP/1.1\r\nContent-Length: 5\r\nHost: h\r\n\r\nhello';
    assert.equal(out('5\r\nhello\r\n0\r\nX-Sum: abc\r\n\r\n'), decoded); // trailer fields
    assert.equal(out('5\r\nhello\r\n0\r\n\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n'), decoded); // pipelined
    assert.equal(p.stats().prettify_trailer_dropped, 2);
    // Nothing after the last chunk but its CRLF (or a capture cut before it): nothing lost, nothing counted.
    for (const body of ['5\r\nhello\r\n0\r\n\r\n', '5\r\nhello\r\n0\r\n', '5\r\nhello\r\n0\n\n']) {
      assert.equal(out(body), decoded);
    }
    assert.deepEqual(p.stats(), prettifyStats(5, 0, 0, 2));
  });
});
