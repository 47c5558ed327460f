/**
 * `--input-raw-realip-header`: the request's head gets the header, set to the client's address. gor uses its
 * SetHeader, whose scan runs on past the blank line and which adds a header after the first CRLF: a body line
 * named so (`X-Real-IP: …` in a form or multipart body) was rewritten, so the body no longer fit its
 * Content-Length, and a head whose lines end in bare LF got the header in its body (after the body's first
 * CRLF), or not at all. Here a header in the head has its value replaced (the modifiers' reading of the head:
 * up to its first empty line, CRLF or bare LF); else a line is added after the request line, ending as that
 * line ends.
 */
import { headHeader } from '../../modifiers/head-header.js';

const LF = 0x0a;
const CR = 0x0d;
const SEPARATOR = Buffer.from(': ', 'latin1');
const CRLF_BYTES = Buffer.from('\r\n', 'latin1');
const LF_BYTES = Buffer.from('\n', 'latin1');

export function setRealIp(request: Buffer, name: Buffer, ip: Buffer): Buffer {
  const found = headHeader(request, name);
  if (found !== null) {
    if (found.value.equals(ip)) return request;
    return Buffer.concat([request.subarray(0, found.valueStart), ip, request.subarray(found.valueEnd)]);
  }
  const lf = request.indexOf(LF);
  if (lf < 0) return request;
  const eol = lf > 0 && request[lf - 1] === CR ? CRLF_BYTES : LF_BYTES;
  return Buffer.concat([request.subarray(0, lf + 1), name, SEPARATOR, ip, eol, request.subarray(lf + 1)]);
}
