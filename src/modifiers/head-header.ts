/**
 * The header an edit may change: gor's lookup (first line named so, any case), but only when that line is in the
 * head. gor's scan does not stop at the blank line, so `--http-set-header 'X-Token: 1'` on a request whose body
 * holds a line `X-Token: 12345` rewrote the body: the Content-Length or chunk size no longer fit, and gor's replay
 * dropped the request unread (or sent a cut body). The filters keep gor's scan (matching a body line changes no
 * byte); the edits treat a header found only in the body as absent (docs/compat.md).
 */
import { type HeaderSpan, header, mimeHeadersEnd } from '../protocol/http1/index.js';

export function headHeader(payload: Buffer, name: Buffer): HeaderSpan | null {
  const found = header(payload, name);
  if (found === null) return null;
  const headEnd = mimeHeadersEnd(payload); // -1: no blank line yet, all of it is head
  return headEnd === -1 || found.start < headEnd ? found : null;
}
