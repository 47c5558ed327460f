/**
 * One Elasticsearch document per replayed exchange: gor's fields (spec §9.3), in gor's order, plus tapline's
 * byte sizes and route (the accounting of src/analytics, so a Kibana chart and `--stats` agree).
 *
 *   request (type 1) ─┐
 *                     ├─▶ { Req_URL, Req_Method, Req_User-Agent, Req_…?, Resp_Status, Resp_Status-Code, Resp_…?,
 *   response (type 3) ┘     RTT, Timestamp, route, request_header_bytes, …, total_bytes }
 *
 * Fields marked `?` are left out when the header is absent or empty (Go's omitempty); Req_User-Agent is always
 * there. Headers are looked up in the header block only (gor's lookup also scans the body).
 */
import { pathOf } from '../analytics/routes.js';
import { headerBlockEnd, measureRequest, measureResponse } from '../analytics/sizes.js';
import { headerValue } from '../protocol/http1/index.js';

/** The JSON object sent for one exchange. Values are strings except the numbers named in docs/elasticsearch.md. */
export type EsDocument = Record<string, string | number>;

export interface ExchangeBytes {
  /** The request's header block as routed to the outputs (after modifiers): start line to blank line. */
  readonly requestHead: Buffer;
  /** The size of the request body that followed it (bodies are not kept while waiting for the response). */
  readonly requestBodyBytes: number;
  /** The replayed response (type 3), as kept by --output-http-response-buffer. */
  readonly response: Buffer;
  /** The replay's round trip in ns (the type-3 meta's latency), undefined when unknown. */
  readonly rttNs: bigint | undefined;
}

/** Request headers copied when present, as `Req_<name>` (Cookie becomes Req_Cookies, as in gor). */
const REQUEST_HEADERS: readonly [field: string, header: string][] = [
  ['Req_Accept-Language', 'Accept-Language'],
  ['Req_Accept', 'Accept'],
  ['Req_Accept-Encoding', 'Accept-Encoding'],
  ['Req_If-Modified-Since', 'If-Modified-Since'],
  ['Req_Connection', 'Connection'],
  ['Req_Cookies', 'Cookie'],
];

const RESPONSE_HEADERS: readonly string[] = [
  'Content-Length',
  'Content-Type',
  'Transfer-Encoding',
  'Content-Encoding',
  'Expires',
  'Cache-Control',
  'Vary',
  'Set-Cookie',
];

/**
 * Builds the document, or returns null when the request is not an HTTP/1 request or the response not an
 * HTTP/1 response (counted by the caller as `not_http`).
 *
 * `route` names the request's path (RouteNamer); `now` is the indexing time.
 */
export function buildDocument(exchange: ExchangeBytes, route: (path: string) => string, now: Date): EsDocument | null {
  const req = measureRequest(exchange.requestHead);
  const res = measureResponse(exchange.response);
  if (!req || !res) return null;
  const reqHead = exchange.requestHead;
  const resHead = exchange.response.subarray(0, headerBlockEnd(exchange.response));
  const doc: EsDocument = {
    Req_URL: req.target,
    Req_Method: req.method,
    'Req_User-Agent': text(headerValue(reqHead, 'User-Agent')),
  };
  for (const [field, name] of REQUEST_HEADERS) setIfPresent(doc, field, headerValue(reqHead, name));
  const code = String(res.status).padStart(3, '0');
  doc.Resp_Status = code;
  doc['Resp_Status-Code'] = code;
  const space = resHead.indexOf(0x20);
  if (space > 0) doc.Resp_Proto = resHead.toString('latin1', 0, space);
  for (const name of RESPONSE_HEADERS) setIfPresent(doc, `Resp_${name}`, headerValue(resHead, name));
  // gor computes seconds + (ns remainder × 1e-6), which is milliseconds only below one second; this is the
  // round trip in whole milliseconds at any length (docs/compat.md).
  doc.RTT = exchange.rttNs !== undefined && exchange.rttNs >= 0n ? Number(exchange.rttNs / 1_000_000n) : -1;
  doc.Timestamp = now.toISOString();
  const { path, authority } = pathOf(req.target);
  const requestBytes = req.headerBytes + exchange.requestBodyBytes;
  const responseBytes = res.headerBytes + res.bodyBytes;
  doc.route = route(path);
  doc.host = req.host || authority;
  doc.request_header_bytes = req.headerBytes;
  doc.request_body_bytes = exchange.requestBodyBytes;
  doc.response_header_bytes = res.headerBytes;
  doc.response_body_bytes = res.bodyBytes;
  doc.response_body_decoded_bytes = res.bodyDecodedBytes;
  doc.total_bytes = requestBytes + responseBytes;
  return doc;
}

function setIfPresent(doc: EsDocument, field: string, value: Buffer): void {
  if (value.length > 0) doc[field] = text(value);
}

/** Header bytes as text: UTF-8 when valid (what Go's JSON encoder sends), else Latin-1 byte for byte. */
function text(value: Buffer): string {
  const utf8 = value.toString('utf8');
  return utf8.includes('\uFFFD') ? value.toString('latin1') : utf8;
}
