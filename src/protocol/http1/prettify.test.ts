// --prettify-http (spec §9.4) and the Go-compatible de-chunk / gunzip it is built on.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import zlib from 'node:zlib';
import { dechunk } from './dechunk.js';
import { gunzip } from './gunzip.js';
import { prettify } from './prettify.js';

const b = (s: string) => Buffer.from(s, 'latin1');
const WIKI = '4\r\nWiki\r\n5\r\npedia\r\ne\r\n in\r\n\r\nchunks.\r\n0\r\n\r\n';

describe('prettify (spec §9.4 vectors)', () => {
  it('gunzips and fixes Content-Length', () => {
    const gz = zlib.gzipSync(b('test'));
    const input = Buffer.concat([
      b(`HTTP/1.1 200 OK\r\nContent-Length: ${gz.length}\r\nContent-Encoding: gzip\r\n\r\n`),
      gz,
    ]);
    assert.equal(prettify(input).toString('latin1'), 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ntest');
  });
  it('de-chunks: Content-Length 23, Transfer-Encoding removed', () => {
    const input = b(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${WIKI}`);
    assert.equal(
      prettify(input).toString('latin1'),
      'HTTP/1.1 200 OK\r\nContent-Length: 23\r\n\r\nWikipedia in\r\n\r\nchunks.',
    );
  });
  it('de-chunks then gunzips', () => {
    const gz = zlib.gzipSync(b('hello world'));
    const chunked = Buffer.concat([b(`${gz.length.toString(16)}\r\n`), gz, b('\r\n0\r\n\r\n')]);
    const input = Buffer.concat([
      b('POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\nHost: h\r\n\r\n'),
      chunked,
    ]);
    assert.equal(
      prettify(input).toString('latin1'),
      'POST /x HTTP/1.1\r\nContent-Length: 11\r\nHost: h\r\n\r\nhello world',
    );
  });
  it('matches values exactly and case-sensitively', () => {
    for (const te of ['Chunked', 'gzip, chunked', 'chunked ;']) {
      const input = b(`HTTP/1.1 200 OK\r\nTransfer-Encoding: ${te}\r\n\r\n${WIKI}`);
      assert.equal(prettify(input), input, te);
    }
  });
  it('leaves payloads without a header block end alone', () => {
    const input = b('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n');
    assert.equal(prettify(input), input);
  });
  it('a bad gzip header drops the message; a later failure keeps the original', () => {
    const bad = b('HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\nnot gzip');
    assert.equal(prettify(bad).length, 0);
    const gz = zlib.gzipSync(b('some longer text to be compressed'));
    const truncated = Buffer.concat([b('HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n'), gz.subarray(0, 20)]);
    assert.equal(prettify(truncated), truncated);
  });
  it('looks for the triggers in the head only (gor also finds them in body lines)', () => {
    for (const line of ['Transfer-Encoding: chunked', 'Content-Encoding: gzip']) {
      const body = `note:\r\n${line}\r\n`;
      const input = b(`POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      assert.equal(prettify(input), input, line);
    }
  });
  it('passes a gzip-encoded message with an empty body unchanged (gor drops it)', () => {
    for (const text of [
      'HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nContent-Encoding: gzip\r\n\r\n', // answer to a HEAD
      'HTTP/1.1 304 Not Modified\r\nContent-Encoding: gzip\r\nETag: "x"\r\n\r\n',
    ]) {
      const input = b(text);
      assert.equal(prettify(input), input, text);
    }
    const chunked = b('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n0\r\n\r\n');
    assert.equal(
      prettify(chunked).toString('latin1'),
      'HTTP/1.1 200 OK\r\nContent-Length: 0\r\nContent-Encoding: gzip\r\n\r\n',
    );
  });
  it('keeps the original intact when gunzip fails after de-chunking (gor corrupts it)', () => {
    const gz = zlib.gzipSync(b('abcdefghijklmnopqrstuvwxyz'));
    const part = gz.subarray(0, 15);
    const input = Buffer.concat([
      b('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n'),
      b(`${part.length.toString(16)}\r\n`),
      part,
      b('\r\n0\r\n\r\n'),
    ]);
    const copy = Buffer.from(input);
    assert.equal(prettify(input), input);
    assert.deepEqual(input, copy);
  });
});

describe('dechunk (Go ChunkedReader semantics)', () => {
  const d = (s: string) => {
    const r = dechunk(b(s));
    return [r.data.toString('latin1'), r.complete];
  };
  it('decodes, with extensions and trailers ignored', () => {
    assert.deepEqual(d(WIKI), ['Wikipedia in\r\n\r\nchunks.', true]);
    assert.deepEqual(d('3;a=b\r\nabc\r\n0\r\nX-T: 1\r\n\r\n'), ['abc', true]);
    assert.deepEqual(d('3\nabc\r\n0\n\n'), ['abc', true]); // LF-only size lines
    assert.deepEqual(d('3  \r\nabc\r\n0\r\n\r\n'), ['abc', true]); // trailing spaces trimmed
  });
  it('keeps the partial result on errors', () => {
    assert.deepEqual(d('3\r\nabc\r\n5\r\nde'), ['abcde', false]); // truncated chunk
    assert.deepEqual(d('3\r\nabcX\r\n0\r\n\r\n'), ['abc', false]); // missing CRLF after data
    assert.deepEqual(d('3\r\nabc\nX'), ['abc', false]); // bare LF after data is malformed for Go
    assert.deepEqual(d('3 ;x\r\nabc\r\n'), ['', false]); // space before ';' is not trimmed
    assert.deepEqual(d('zz\r\n'), ['', false]);
    assert.deepEqual(d(`${'0'.repeat(17)}\r\n`), ['', false]); // > 16 hex digits
    assert.deepEqual(d(`1;${'x'.repeat(5000)}\r\na\r\n0\r\n\r\n`), ['', false]); // line too long
  });
});

describe('gunzip (Go compress/gzip semantics)', () => {
  it('decodes multi-member streams', () => {
    const two = Buffer.concat([zlib.gzipSync(b('ab')), zlib.gzipSync(b('cd'))]);
    assert.deepEqual(gunzip(two), { ok: true, data: b('abcd') });
  });
  it('classifies failures', () => {
    const gz = zlib.gzipSync(b('hello'));
    const stage = (x: Buffer) => {
      const r = gunzip(x);
      return r.ok ? 'ok' : r.stage;
    };
    assert.equal(stage(b('')), 'header');
    assert.equal(stage(gz.subarray(0, 5)), 'header');
    assert.equal(stage(b('xxxxxxxxxxxxxxxx')), 'header');
    assert.equal(stage(gz.subarray(0, gz.length - 1)), 'body');
    assert.equal(stage(Buffer.concat([gz, b('z')])), 'body'); // Go: trailing garbage is a header error mid-stream
    const badCrc = Buffer.from(gz);
    badCrc[badCrc.length - 8]! ^= 0xff;
    assert.equal(stage(badCrc), 'body');
  });
  it('honours header flags (FNAME, FEXTRA, FHCRC)', () => {
    const deflated = zlib.deflateRawSync(b('flags'));
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(zlib.crc32(b('flags')), 0);
    trailer.writeUInt32LE(5, 4);
    const head = Buffer.from([0x1f, 0x8b, 8, 0x04 | 0x08 | 0x02, 0, 0, 0, 0, 0, 3]);
    const extra = Buffer.from([2, 0, 0xaa, 0xbb]);
    const name = b('file.txt\0');
    const crc = Buffer.alloc(2);
    crc.writeUInt16LE(zlib.crc32(Buffer.concat([head, extra, name])) & 0xffff);
    const good = Buffer.concat([head, extra, name, crc, deflated, trailer]);
    assert.deepEqual(gunzip(good), { ok: true, data: b('flags') });
    crc[0]! ^= 1;
    const r = gunzip(Buffer.concat([head, extra, name, crc, deflated, trailer]));
    assert.equal(r.ok, false);
  });
});
