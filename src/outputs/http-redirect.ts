/**
 * `--output-http-redirects N`: the request to send after a 3xx, built the way Go's http.Client does it
 * (gor replays through it, spec §7.3):
 *  - 301, 302, 303: the method becomes GET (HEAD stays HEAD) and the body is dropped, with its
 *    Content-Length / Transfer-Encoding headers and those that describe it (Content-Type, -Encoding,
 *    -Language, -Location);
 *  - 307, 308: method and body are kept;
 *  - the request-target becomes the Location (resolved against the current URL); Host follows it;
 *  - to another host, Authorization and Cookie are not forwarded.
 * Everything else in the captured bytes is kept as it was.
 */
import {
  deleteHeader,
  headerValue,
  mimeHeadersEnd,
  method as requestMethod,
  setHeader,
  setPath,
} from '../protocol/http1/index.js';
import { type HttpTarget, parseTarget } from './http-target.js';

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** What a 301/302/303 drops with the body, besides its framing (as Go's client now does, golang/go#57273). */
const BODY_HEADERS = ['Content-Type', 'Content-Encoding', 'Content-Language', 'Content-Location'];

export interface RedirectStep {
  request: Buffer;
  method: string;
  target: HttpTarget;
  /** The next hop goes to the same scheme, host and port (same connection). */
  sameOrigin: boolean;
}

/**
 * The next request after `response` (status `status`) to `request` sent to `target` at `path`,
 * or undefined when the response is not a redirect that can be followed (no or bad Location).
 */
export function nextRedirect(
  request: Buffer,
  path: string,
  target: HttpTarget,
  status: number,
  response: Buffer,
): RedirectStep | undefined {
  if (!REDIRECTS.has(status)) return undefined;
  const location = headerValue(response, 'Location').toString('latin1').trim();
  if (location === '') return undefined;
  let url: URL;
  try {
    url = new URL(location, `${target.secure ? 'https' : 'http'}://${target.hostHeader}${path}`);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  let next: HttpTarget;
  try {
    next = parseTarget(`${url.protocol}//${url.host}`);
  } catch {
    return undefined;
  }
  const sameOrigin = next.secure === target.secure && next.host === target.host && next.port === target.port;
  let out = setPath(request, `${url.pathname}${url.search}`);
  let method = requestMethod(request).toString('latin1');
  if (status <= 303) {
    if (method !== 'GET' && method !== 'HEAD') {
      out = Buffer.concat([Buffer.from('GET', 'latin1'), out.subarray(method.length)]);
      method = 'GET';
    }
    const end = mimeHeadersEnd(out);
    if (end > 0) out = out.subarray(0, end);
    out = deleteHeader(deleteHeader(out, 'Content-Length'), 'Transfer-Encoding');
    // The headers that describe the body dropped: a GET saying `Content-Type: application/json` with no body
    // confused targets. Go's client now drops these four (golang/go#57273); the older Go gor is built with sent them.
    for (const name of BODY_HEADERS) out = deleteHeader(out, name);
  }
  if (!sameOrigin) {
    out = deleteHeader(deleteHeader(out, 'Authorization'), 'Cookie');
  }
  out = setHeader(out, 'Host', next.hostHeader);
  return { request: out, method, target: next, sameOrigin };
}
