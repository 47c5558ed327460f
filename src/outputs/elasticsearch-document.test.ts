import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RouteNamer } from '../analytics/routes.js';
import { buildDocument, type ExchangeBytes } from './elasticsearch-document.js';

const NOW = new Date('2026-01-02T03:04:05.678Z');
const routes = new RouteNamer();
const route = (p: string) => routes.route(p);

function exchange(request: string, response: string, ...rtt: [bigint | undefined] | []): ExchangeBytes {
  const raw = Buffer.from(request, 'latin1');
  const end = raw.indexOf('\r\n\r\n') + 4;
  return {
    requestHead: raw.subarray(0, end),
    requestBodyBytes: raw.length - end,
    response: Buffer.from(response, 'latin1'),
    rttNs: rtt.length === 0 ? 12_345_678n : rtt[0],
  };
}

test("gor's fields in gor's order, then tapline's sizes and route", () => {
  const ex = exchange(
    'POST /users/42/orders?x=1 HTTP/1.1\r\nHost: shop\r\nUser-Agent: curl/8\r\nAccept: */*\r\nAccept-Encoding: gzip\r\n' +
      'Cookie: a=1; b=2\r\nAccept-Language: fr\r\nIf-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT\r\nConnection: close\r\n' +
      'Content-Length: 5\r\n\r\nhello',
    'HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 2\r\nVary: Accept\r\nSet-Cookie: s=1\r\n' +
      'Cache-Control: no-cache\r\nExpires: 0\r\n\r\n{}',
  );
  const doc = buildDocument(ex, route, NOW)!;
  assert.deepEqual(Object.keys(doc), [
    'Req_URL',
    'Req_Method',
    'Req_User-Agent',
    'Req_Accept-Language',
    'Req_Accept',
    'Req_Accept-Encoding',
    'Req_If-Modified-Since',
    'Req_Connection',
    'Req_Cookies',
    'Resp_Status',
    'Resp_Status-Code',
    'Resp_Proto',
    'Resp_Content-Length',
    'Resp_Content-Type',
    'Resp_Expires',
    'Resp_Cache-Control',
    'Resp_Vary',
    'Resp_Set-Cookie',
    'RTT',
    'Timestamp',
    'route',
    'host',
    'request_header_bytes',
    'request_body_bytes',
    'response_header_bytes',
    'response_body_bytes',
    'response_body_decoded_bytes',
    'total_bytes',
  ]);
  assert.equal(doc.Req_URL, '/users/42/orders?x=1');
  assert.equal(doc.Req_Method, 'POST');
  assert.equal(doc['Req_User-Agent'], 'curl/8');
  assert.equal(doc.Req_Cookies, 'a=1; b=2');
  assert.equal(doc.Resp_Status, '201');
  assert.equal(doc['Resp_Status-Code'], '201');
  assert.equal(doc.Resp_Proto, 'HTTP/1.1');
  assert.equal(doc['Resp_Content-Type'], 'application/json');
  assert.equal(doc.RTT, 12);
  assert.equal(doc.Timestamp, '2026-01-02T03:04:05.678Z');
  assert.equal(doc.route, '/users/:id/orders');
  assert.equal(doc.host, 'shop');
  const reqHead = ex.requestHead.length;
  assert.equal(doc.request_header_bytes, reqHead);
  assert.equal(doc.request_body_bytes, 5);
  assert.equal(doc.response_body_bytes, 2);
  assert.equal(doc.response_header_bytes, ex.response.length - 2);
  assert.equal(doc.total_bytes, reqHead + 5 + ex.response.length);
});

test('absent or empty headers are left out, except Req_User-Agent which is always there', () => {
  const doc = buildDocument(
    exchange('GET / HTTP/1.1\r\nHost: a\r\nAccept:\r\n\r\n', 'HTTP/1.0 404 Not Found\r\n\r\n'),
    route,
    NOW,
  )!;
  assert.equal(doc['Req_User-Agent'], '');
  assert.equal('Req_Accept' in doc, false);
  assert.equal('Resp_Content-Type' in doc, false);
  assert.equal(doc.Resp_Proto, 'HTTP/1.0');
  assert.equal(doc.Resp_Status, '404');
});

test('RTT is whole milliseconds at any length (gor reports 501 for 1.5 s); -1 when unknown', () => {
  const req = 'GET / HTTP/1.1\r\nHost: a\r\n\r\n';
  const res = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';
  assert.equal(buildDocument(exchange(req, res, 1_500_000_000n), route, NOW)!.RTT, 1500);
  assert.equal(buildDocument(exchange(req, res, 999_999n), route, NOW)!.RTT, 0);
  assert.equal(buildDocument(exchange(req, res, undefined), route, NOW)!.RTT, -1);
});

test('headers are read from the header block only, never from the body', () => {
  const doc = buildDocument(
    exchange(
      'POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 20\r\n\r\nUser-Agent: sneaky\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\nVary: in-body\r\n\r\n',
    ),
    route,
    NOW,
  )!;
  assert.equal(doc['Req_User-Agent'], '');
  assert.equal('Resp_Vary' in doc, false);
});

test('gzip bodies: wire and decoded sizes both reported', async () => {
  const { gzipSync } = await import('node:zlib');
  const body = gzipSync(Buffer.alloc(1000, 'a'));
  const res = Buffer.concat([
    Buffer.from(`HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: ${body.length}\r\n\r\n`, 'latin1'),
    body,
  ]);
  const ex = exchange('GET /x HTTP/1.1\r\nHost: a\r\n\r\n', '');
  const doc = buildDocument({ ...ex, response: res }, route, NOW)!;
  assert.equal(doc.response_body_bytes, body.length);
  assert.equal(doc.response_body_decoded_bytes, 1000);
  assert.equal(doc['Resp_Content-Encoding'], 'gzip');
});

test('not HTTP/1 on either side: no document', () => {
  assert.equal(buildDocument(exchange('\x00\x01binary\r\n\r\n', 'HTTP/1.1 200 OK\r\n\r\n'), route, NOW), null);
  assert.equal(buildDocument(exchange('GET / HTTP/1.1\r\n\r\n', 'garbage\r\n\r\n'), route, NOW), null);
});

/** The document for a request head (bytes as given) answered by a bare 200. */
function documentFor(requestHead: Buffer) {
  const response = Buffer.from('HTTP/1.1 200 OK\r\n\r\n');
  return buildDocument({ requestHead, requestBodyBytes: 0, response, rttNs: 0n }, route, NOW)!;
}

test('non-UTF-8 header bytes are kept byte for byte (Latin-1), valid UTF-8 decoded', () => {
  const doc = documentFor(
    Buffer.concat([
      Buffer.from('GET / HTTP/1.1\r\nUser-Agent: caf', 'latin1'),
      Buffer.from([0xe9]),
      Buffer.from('\r\nAccept: \u00e9t\u00e9\r\n\r\n', 'utf8'),
    ]),
  );
  assert.equal(doc['Req_User-Agent'], 'caf\u00e9');
  assert.equal(doc.Req_Accept, '\u00e9t\u00e9');
});

test('a UTF-8 path and host: Req_URL as header values are decoded, route and host as report names them', () => {
  const doc = documentFor(
    Buffer.from('GET /uni/\u00e9/\u65e5\u672c?q=\u00e9 HTTP/1.1\r\nHost: b\u00fccher.example\r\n\r\n', 'utf8'),
  );
  assert.equal(doc.Req_URL, '/uni/\u00e9/\u65e5\u672c?q=\u00e9');
  assert.equal(doc.route, '/uni/\u00e9/\u65e5\u672c');
  assert.equal(doc.host, 'b\u00fccher.example');
  // Not UTF-8: Req_URL byte for byte (as header values), route with the byte shown as report shows it.
  const latin = documentFor(
    Buffer.concat([Buffer.from('GET /caf'), Buffer.from([0xe9]), Buffer.from(' HTTP/1.1\r\n\r\n')]),
  );
  assert.equal(latin.Req_URL, '/caf\u00e9');
  assert.equal(latin.route, '/caf\\xe9');
});
