import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeMeta } from '../core/message.js';
import { parseMeta } from '../core/meta.js';
import { goJsonString } from './go-json-string.js';
import { dumpGorJson, encodeGorJson, parseGorJson } from './gor-json.js';
import { decodeValue, encodeValue } from './message-codec.js';

const msg = (meta: string, data: string | Buffer) => ({
  meta: parseMeta(meta),
  data: typeof data === 'string' ? Buffer.from(data, 'latin1') : data,
});

test("gor's test vector: an invalid request line gives no URL and no headers", () => {
  const out = encodeGorJson(msg('1 2 3', 'GET / HTTP1.1\r\nHeader: 1\r\n\r\n'));
  assert.equal(out.toString(), '{"Req_URL":"","Req_Type":"1","Req_ID":"2","Req_Ts":"3","Req_Method":"GET"}');
});

test('a request: URL, canonical sorted headers, repeated values joined, body', () => {
  const out = encodeGorJson(
    msg(
      '1 abc 1700000000000000000 0',
      'POST /a?b=1 HTTP/1.1\r\nx-real-ip: 1.2.3.4\r\nHost: h\r\naccept: a\r\nAccept: b\r\n\r\n{"k":"<v>"}',
    ),
  );
  assert.equal(
    out.toString(),
    '{"Req_URL":"/a?b=1","Req_Type":"1","Req_ID":"abc","Req_Ts":"1700000000000000000","Req_Method":"POST",' +
      '"Req_Body":"{\\"k\\":\\"\\u003cv\\u003e\\"}","Req_Headers":{"Accept":"a, b","Host":"h","X-Real-Ip":"1.2.3.4"}}',
  );
  assert.deepEqual(JSON.parse(out.toString()).Req_Body, '{"k":"<v>"}');
});

test('a response: method is the version, URL empty, headers after the status line', () => {
  const out = JSON.parse(encodeGorJson(msg('2 abc 5 1', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')).toString());
  assert.deepEqual(out, {
    Req_URL: '',
    Req_Type: '2',
    Req_ID: 'abc',
    Req_Ts: '5',
    Req_Method: 'HTTP/1.1',
    Req_Body: 'ok',
    Req_Headers: { 'Content-Length': '2' },
  });
});

test('a malformed header line (no colon, bad name byte, control byte, no blank line) drops all headers', () => {
  for (const bad of [
    'GET / HTTP/1.1\r\nA: 1\r\nnocolon\r\n\r\n',
    'GET / HTTP/1.1\r\nA(b: 1\r\n\r\n',
    'GET / HTTP/1.1\r\nA: 1\x01\r\n\r\n',
    'GET / HTTP/1.1\r\nA: 1\r\n',
  ]) {
    const out = JSON.parse(encodeGorJson(msg('1 i 1', bad)).toString());
    assert.equal(out.Req_Headers, undefined, JSON.stringify(bad));
  }
  // Go accepts a space before the colon but leaves the name as is; continuation lines are joined.
  const ok = JSON.parse(encodeGorJson(msg('1 i 1', 'GET / HTTP/1.1\r\nx-a : 1\r\nB: 2\r\n  3\r\n\r\n')).toString());
  assert.deepEqual(ok.Req_Headers, { B: '2 3', 'x-a ': '1' });
});

test("Go's string escaping: HTML-safe, control bytes, U+2028, invalid UTF-8 byte by byte", () => {
  const s = (b: Buffer) => goJsonString(b).toString('utf8');
  assert.equal(s(Buffer.from('a<b>&"\\\n\r\t\x01\x7f')), '"a\\u003cb\\u003e\\u0026\\"\\\\\\n\\r\\t\\u0001\x7f"');
  assert.equal(s(Buffer.from('é€😀\u2028')), '"é€😀\\u2028"');
  // A truncated 3-byte sequence is two invalid bytes (Go), not one replacement (WHATWG).
  assert.equal(
    s(Buffer.from([0xe2, 0x82, 0x61, 0xff, 0xc0, 0xaf, 0xed, 0xa0, 0x80])),
    `"${'\\ufffd'.repeat(2)}a${'\\ufffd'.repeat(6)}"`,
  );
});

test("reading: gor's test vector, case-insensitive names, unknown fields ignored", () => {
  const v = Buffer.from(
    '{"Req_URL":"/","Req_Type":"1","Req_ID":"2","Req_Ts":"3","Req_Method":"GET","Req_Headers":{"Header":"1"}}',
  );
  assert.equal(dumpGorJson(parseGorJson(v)).toString(), '1 2 3\nGET / HTTP/1.1\r\nHeader: 1\r\n\r\n');
  const m = decodeValue(
    Buffer.from('{"req_url":"/x","REQ_TYPE":"1","Req_ID":"i","Req_Ts":"9","Req_Method":"PUT","Req_Body":"b","X":1}'),
    'json',
  );
  assert.equal(m.meta.line, '1 i 9');
  assert.equal(m.data.toString(), 'PUT /x HTTP/1.1\r\n\r\nb');
});

test('reading bad values fails with a reason', () => {
  assert.throws(() => decodeValue(Buffer.from('{nope'), 'json'), /not JSON/);
  assert.throws(() => decodeValue(Buffer.from('[1]'), 'json'), /not an object/);
  assert.throws(() => decodeValue(Buffer.from('{"Req_Type":1}'), 'json'), /Req_Type is not a string/);
  // Missing fields are named as the JSON names them (it said 'meta line has an empty type or id field: "  "').
  assert.throws(() => decodeValue(Buffer.from('{"Req_URL":"/x"}'), 'json'), /Req_Type is missing or empty/);
  assert.throws(() => decodeValue(Buffer.from('{"Req_Type":"1","Req_Ts":"5"}'), 'json'), /Req_ID is missing/);
  assert.doesNotThrow(() => decodeValue(Buffer.from('{"Req_Type":"1","Req_ID":"a"}'), 'json'), 'no Req_Ts: as before');
  assert.throws(() => decodeValue(Buffer.from(''), 'raw'), /empty/);
  assert.throws(() => decodeValue(Buffer.from('1 a'), 'raw'), /no meta line/);
  assert.throws(() => decodeValue(Buffer.from('1 a\nGET'), 'raw'), /at least 3/);
});

test('reading: a space or line end in a field the message is rebuilt from is refused, never shifted', () => {
  const json = (fields: Record<string, unknown>) =>
    Buffer.from(
      JSON.stringify({ Req_URL: '/', Req_Type: '1', Req_ID: 'ab', Req_Ts: '3', Req_Method: 'GET', ...fields }),
    );
  // Before: meta line '1 ab cd 3', read as id 'ab' and timestamp 'cd' (gor's reader shifts it so, silently).
  assert.throws(() => decodeValue(json({ Req_ID: 'ab cd' }), 'json'), /Req_ID "ab cd" contains a space: .*"1 ab cd 3"/);
  assert.throws(() => decodeValue(json({ Req_ID: 'ab\ncd' }), 'json'), /Req_ID "ab\\ncd" contains an LF/);
  assert.throws(() => decodeValue(json({ Req_Type: '1 2' }), 'json'), /Req_Type "1 2" contains a space/);
  assert.throws(() => decodeValue(json({ Req_Ts: '3 4' }), 'json'), /Req_Ts "3 4" contains a space/);
  assert.throws(() => decodeValue(json({ Req_URL: '/a b' }), 'json'), /Req_URL "\/a b" contains a space/);
  assert.throws(() => decodeValue(json({ Req_Method: 'GET\r\nX: y' }), 'json'), /Req_Method .* contains a CR/);
  assert.throws(() => decodeValue(json({ Req_Headers: { A: 'x\r\nB: y' } }), 'json'), /header "A": a line end/);
  assert.throws(() => decodeValue(json({ Req_Headers: { 'A:B': 'x' } }), 'json'), /a colon in its name/);
  // What gor writes still reads: ids of any non-space token, spaces inside header values and the body.
  const ok = decodeValue(json({ Req_ID: 'a-b_c', Req_Headers: { A: 'x y' }, Req_Body: 'a b\r\n' }), 'json');
  assert.equal(ok.meta.id, 'a-b_c');
  assert.equal(ok.data.toString(), 'GET / HTTP/1.1\r\nA: x y\r\n\r\na b\r\n');
});

test('raw values round-trip byte for byte, type 3 included', () => {
  for (const type of ['1', '2', '3']) {
    const m = {
      meta: makeMeta({ type, id: 'abc', timestampNs: 12n, latencyNs: 4n }),
      data: Buffer.from([0, 10, 13, 255]),
    };
    const v = encodeValue(m, 'raw');
    assert.deepEqual(v, Buffer.concat([Buffer.from(`${type} abc 12 4\n`), m.data]));
    const back = decodeValue(v, 'raw');
    assert.equal(back.meta.line, m.meta.line);
    assert.deepEqual(back.data, m.data);
  }
});

test('reading: \\b and \\f are taken in both forms Go writes them (\\u0008/\\u000c before Go 1.22, \\b/\\f since)', () => {
  const value = (body: string) =>
    Buffer.from(`{"Req_URL":"/","Req_Type":"1","Req_ID":"i","Req_Ts":"1","Req_Method":"POST","Req_Body":"${body}"}`);
  const old = decodeValue(value('a\\u0008b\\u000cc'), 'json');
  const now = decodeValue(value('a\\bb\\fc'), 'json');
  assert.deepEqual(now.data, old.data);
  assert.equal(now.data.toString('latin1'), 'POST / HTTP/1.1\r\n\r\na\bb\fc');
  // gor's writer (its releases are built with Go before 1.22) escapes them as \u0008/\u000c; so does tapline.
  assert.equal(goJsonString(Buffer.from('\b\f')).toString(), '"\\u0008\\u000c"');
});
