import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TaplineError } from '../core/errors.js';
import { adaptRequest, parseTarget } from './http-target.js';

test('a target port nothing can listen on (0, over 65535) is refused at start, naming the flag and the port', () => {
  for (const [address, port] of [
    ['http://127.0.0.1:0', '0'],
    ['http://staging:70000/path', '70000'],
    ['https://[::1]:0', '0'],
    ['staging:00', '00'],
  ] as const) {
    assert.throws(
      () => parseTarget(address),
      (err: unknown) =>
        err instanceof TaplineError &&
        err.code === 'TAPLINE_ERR_BAD_ADDRESS' &&
        err.message.includes(`port ${port} is not one a target can listen on (1-65535)`) &&
        err.where === '--output-http',
      address,
    );
  }
});

test('a user or password holding a % that starts no escape is refused at start, without printing the password', () => {
  // decodeURIComponent threw: 'unexpected failure: URI malformed (TAPLINE_ERR_INTERNAL…)' and a stack trace.
  for (const [address, what] of [
    ['http://bob:50%off@staging:8080/x', 'password'],
    ['http://b%zz:pw@staging:8080/x', 'user name'],
  ] as const) {
    const err = (() => {
      try {
        parseTarget(address);
      } catch (e) {
        return e as TaplineError;
      }
    })();
    assert.deepEqual(
      [err?.code, err?.where, err?.message],
      [
        'TAPLINE_ERR_BAD_ADDRESS',
        '--output-http',
        `the ${what} in the URL has a % that is not followed by two hex digits (write a % as %25)`,
      ],
    );
  }
  const basic = parseTarget('http://bob:50%25off@staging:8080/x').basicAuth;
  assert.equal(basic, `Basic ${Buffer.from('bob:50%off').toString('base64')}`);
});

test('ports that can be listened on are taken as written', () => {
  assert.equal(parseTarget('http://127.0.0.1:1').port, 1);
  assert.equal(parseTarget('http://user:pw@staging:65535/x').port, 65535);
  assert.equal(parseTarget('https://[::1]:8443').port, 8443);
  assert.equal(parseTarget('staging').port, 80);
});

test("a target with ':' and no port (an unset $PORT) dials the scheme's default, as Go, and is marked", () => {
  for (const [address, port, host] of [
    ['http://127.0.0.1:', 80, '127.0.0.1:'],
    ['https://[::1]:/x', 443, '[::1]:'],
    ['staging:', 80, 'staging:'],
    ['http://u:p@staging:/x', 80, 'staging:'],
  ] as const) {
    const target = parseTarget(address);
    assert.equal(target.port, port, address);
    assert.equal(target.hostHeader, host, address);
    assert.equal(target.emptyPort, true, address);
  }
  for (const address of ['http://staging', 'http://staging:8080', 'http://[::1]', 'http://u:p@staging/x'])
    assert.equal(parseTarget(address).emptyPort, false, address);
});

test('a request with more than one Host line in its head is sent with one: the first, edited or kept (as gor)', () => {
  const target = parseTarget('http://staging:8080');
  const adapt = (text: string, keepHost = false) =>
    adaptRequest(Buffer.from(text, 'utf8'), target, keepHost).toString('utf8');
  const two = 'GET /x HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nhost: b\r\nX-B: 2\r\n\r\n';
  assert.equal(adapt(two), 'GET /x HTTP/1.1\r\nHost: staging:8080\r\nX-A: 1\r\nX-B: 2\r\n\r\n');
  // --http-original-host: Go reads the first value and writes one line.
  assert.equal(adapt(two, true), 'GET /x HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nX-B: 2\r\n\r\n');
  // Every later one, named in any case, also as "Hoſt" (U+017F folds to s, as the Host rule matches it).
  assert.equal(
    adapt('GET /x HTTP/1.1\r\nHOST: a\r\nHo\u017ft: b\r\nHost:\r\nhOsT: c\n\r\nbody'),
    'GET /x HTTP/1.1\r\nHOST: staging:8080\r\n\r\nbody',
  );
  // Proxy form with --http-original-host: the absolute URI's authority, one line.
  assert.equal(
    adapt('GET http://other:81/y HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', true),
    'GET /y HTTP/1.1\r\nHost: other:81\r\n\r\n',
  );
  // Lines after the blank line are body: kept, whatever they look like.
  const inBody = 'POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\nHost: b\r\n';
  assert.equal(adapt(inBody, true), inBody);
  // One Host (nearly every request): the same Buffer back when nothing changes.
  const one = Buffer.from('GET /x HTTP/1.1\r\nHost: staging:8080\r\nHost-Name: b\r\n\r\n');
  assert.equal(adaptRequest(one, target, false), one);
});

test('an IPv6 zone (%25, RFC 6874, as Go reads it) is dialed and left out of the Host header', () => {
  const t = parseTarget('http://[fe80::1%25eth0]:8080/x');
  assert.equal(t.host, 'fe80::1%eth0');
  assert.equal(t.port, 8080);
  assert.equal(t.hostHeader, '[fe80::1]:8080');
  assert.equal(t.fixedTarget, '/x');
  assert.equal(parseTarget('[::1%251]').host, '::1%1');
  assert.throws(() => parseTarget('http://[fe80::1%25a/b]:80'), /IPv6 zone "a\/b" is not an interface name or index/);
});

test('a link-local target without a zone is refused at start (every request would fail with EINVAL)', () => {
  assert.throws(() => parseTarget('http://[fe80::1]:8080'), /link-local address needs its interface.*%25eth0/);
  assert.equal(parseTarget('http://[fe80::1%25eth0]:8080').host, 'fe80::1%eth0');
});

test('a target path or query replaces the request-target as Go reads it: a fragment or a lone ? is neither', () => {
  // Each request kept its own path in gor for these; tapline sent every request to '/'.
  for (const address of ['http://staging:8080#top', 'http://staging:8080?', 'http://staging:8080?#x', 'staging#a/b']) {
    assert.equal(parseTarget(address).fixedTarget, undefined, address);
  }
  for (const [address, fixed] of [
    ['http://staging:8080/', '/'],
    ['http://staging:8080/#top', '/'],
    ['http://staging:8080?q=1#top', '/?q=1'],
    ['http://staging:8080/base?z=2#f', '/base?z=2'],
    // Go's ForceQuery: the ? is written (RequestURI '/x?').
    ['http://staging:8080/x?', '/x?'],
    ['http://staging:8080/x?#f', '/x?'],
  ] as const) {
    assert.equal(parseTarget(address).fixedTarget, fixed, address);
  }
  // Credentials count only with a path (gor ignores them otherwise).
  assert.equal(parseTarget('http://u:p@staging:8080#f').basicAuth, undefined);
  assert.equal(parseTarget('http://u:p@staging:8080/#f').basicAuth, `Basic ${Buffer.from('u:p').toString('base64')}`);
});

test("--http-original-host: a request with no Host value (none, or empty) gets the target's, as Go's client writes", () => {
  // It was sent without one ('GET /a HTTP/1.0\r\n\r\n', 'Host:'): gor sends the target's host.
  const target = parseTarget('http://staging:8080');
  const sent = (request: string) => adaptRequest(Buffer.from(request), target, true).toString('latin1');
  assert.equal(sent('GET /a HTTP/1.0\r\n\r\n'), 'GET /a HTTP/1.0\r\nHost: staging:8080\r\n\r\n');
  assert.equal(sent('GET /b HTTP/1.1\r\nX-A: 1\r\n\r\n'), 'GET /b HTTP/1.1\r\nHost: staging:8080\r\nX-A: 1\r\n\r\n');
  assert.match(
    sent('GET /c HTTP/1.1\r\nHost: \r\nX-A: 1\r\n\r\n'),
    /^GET \/c HTTP\/1\.1\r\nHost: ?staging:8080\r\nX-A: 1\r\n\r\n$/,
  );
  // A Host is kept as captured; an absolute URI's authority is used.
  assert.equal(sent('GET /d HTTP/1.1\r\nHost: prod\r\n\r\n'), 'GET /d HTTP/1.1\r\nHost: prod\r\n\r\n');
  assert.equal(sent('GET http://abs:81/e HTTP/1.1\r\n\r\n'), 'GET /e HTTP/1.1\r\nHost: abs:81\r\n\r\n');
});
