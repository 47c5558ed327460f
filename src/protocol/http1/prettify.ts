/**
 * `--prettify-http` (spec §9.4): de-chunk and gunzip a payload so middleware and outputs see a plain body with a
 * correct Content-Length. Both triggers are exact, case-sensitive value matches found with gor's header scan.
 * Three gor bugs are not reproduced (docs/compat.md): gor scans the WHOLE payload for the triggers, so body
 * lines can set them off; we scan the head. When gunzip fails after de-chunking, gor returns the original
 * payload but has already edited its header bytes in place (Go slice aliasing); we return it intact. And gor
 * drops a gzip-encoded message with an empty body; we pass it on unchanged.
 */

import { dechunk } from './dechunk.js';
import { gunzip } from './gunzip.js';
import { deleteHeader, headerValue, mimeHeadersEnd, setHeader } from './headers.js';

const CHUNKED = Buffer.from('chunked', 'latin1');
const GZIP = Buffer.from('gzip', 'latin1');

export function prettify(payload: Buffer): Buffer {
  const headersEnd = mimeHeadersEnd(payload);
  if (headersEnd < 5) return payload;
  // The head only: gor scans the whole payload, so a body line reading `Content-Encoding: gzip` dropped the
  // message and one reading `Transfer-Encoding: chunked` emptied a body that was never chunked.
  const head = payload.subarray(0, headersEnd);
  const chunked = headerValue(head, 'Transfer-Encoding').equals(CHUNKED);
  const gzipped = headerValue(head, 'Content-Encoding').equals(GZIP);
  if (!chunked && !gzipped) return payload;

  // An empty body (a HEAD, 304 or 204 response that names its encoding) has nothing to decode. gor hands it to
  // gunzip, whose missing header drops the message: every such response was lost. It passes as it is.
  if (!chunked && headersEnd >= payload.length) return payload;

  let headers = head;
  let content = payload.subarray(headersEnd);

  if (chunked) {
    content = dechunk(content).data; // errors ignored: the partial result is kept, as gor does
    headers = deleteHeader(headers, 'Transfer-Encoding');
    headers = setHeader(headers, 'Content-Length', String(content.length));
  }

  if (gzipped && content.length > 0) {
    // (a chunked body that de-chunks to nothing is likewise left without a gunzip)
    const result = gunzip(content);
    // gor: a bad gzip header yields an empty payload (the message is dropped); a later failure keeps the original.
    if (!result.ok) return result.stage === 'header' ? Buffer.alloc(0) : payload;
    content = result.data;
    headers = deleteHeader(headers, 'Content-Encoding');
    headers = setHeader(headers, 'Content-Length', String(content.length));
  }

  return Buffer.concat([headers, content]);
}
