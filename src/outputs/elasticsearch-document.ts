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
import { wireText } from '../analytics/wire-text.js';

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
  ['Req_Accept-Language', 'accept-language'],
  ['Req_Accept', 'accept'],
  ['Req_Accept-Encoding', 'accept-encoding'],
  ['Req_If-Modified-Since', 'if-modified-since'],
  ['Req_Connection', 'connection'],
  ['Req_Cookies', 'cookie'],
];
const REQUEST_WANTED: ReadonlySet<string> = new Set(['user-agent', ...REQUEST_HEADERS.map(([, h]) => h)]);

/** Response headers copied when present, as `Resp_<name>`. */
const RESPONSE_HEADERS: readonly [field: string, header: string][] = [
  'Content-Length',
  'Content-Type',
  'Transfer-Encoding',
  'Content-Encoding',
  'Expires',
  'Cache-Control',
  'Vary',
  'Set-Cookie',
].map((name) => [`Resp_${name}`, name.toLowerCase()]);
const RESPONSE_WANTED: ReadonlySet<string> = new Set(RESPONSE_HEADERS.map(([, h]) => h));

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
  const reqValues = headerValues(reqHead, REQUEST_WANTED);
  const doc: EsDocument = {
    // The target as text the way header values are (UTF-8 when it is, else byte for byte), not latin1 always.
    Req_URL: textOf(req.target),
    Req_Method: req.method,
    'Req_User-Agent': reqValues.get('user-agent') ?? '',
  };
  for (const [field, name] of REQUEST_HEADERS) setIfPresent(doc, field, reqValues.get(name));
  const code = String(res.status).padStart(3, '0');
  doc.Resp_Status = code;
  doc['Resp_Status-Code'] = code;
  const space = resHead.indexOf(0x20);
  if (space > 0) doc.Resp_Proto = resHead.toString('latin1', 0, space);
  const resValues = headerValues(resHead, RESPONSE_WANTED);
  for (const [field, name] of RESPONSE_HEADERS) setIfPresent(doc, field, resValues.get(name));
  // gor computes seconds + (ns remainder × 1e-6), which is milliseconds only below one second; this is the
  // round trip in whole milliseconds at any length (docs/compat.md).
  doc.RTT = exchange.rttNs !== undefined && exchange.rttNs >= 0n ? Number(exchange.rttNs / 1_000_000n) : -1;
  doc.Timestamp = now.toISOString();
  const { path, authority } = pathOf(req.target);
  const requestBytes = req.headerBytes + exchange.requestBodyBytes;
  const responseBytes = res.headerBytes + res.bodyBytes;
  // route and host as analytics names them (wire-text.ts: UTF-8, other bytes as \xHH), so they match report's.
  doc.route = route(asWireText(path));
  doc.host = asWireText(req.host || authority);
  doc.request_header_bytes = req.headerBytes;
  doc.request_body_bytes = exchange.requestBodyBytes;
  doc.response_header_bytes = res.headerBytes;
  doc.response_body_bytes = res.bodyBytes;
  doc.response_body_decoded_bytes = res.bodyDecodedBytes;
  doc.total_bytes = requestBytes + responseBytes;
  return doc;
}

function setIfPresent(doc: EsDocument, field: string, value: string | undefined): void {
  if (value) doc[field] = value;
}

/**
 * The first value of each wanted header (names lower-case), trimmed, in one pass over the header block (the
 * start line skipped). Values are UTF-8 when valid (what Go's JSON encoder sends), else Latin-1 byte for byte.
 */
function headerValues(head: Buffer, wanted: ReadonlySet<string>): Map<string, string> {
  const found = new Map<string, string>();
  const lines = head.toString('latin1').split('\n');
  for (let i = 1; i < lines.length && found.size < wanted.size; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!wanted.has(name) || found.has(name)) continue;
    found.set(name, textOf(line.slice(colon + 1).trim()));
  }
  return found;
}

/**
 * A latin1 string (one char per byte, as the head is read here) as text: UTF-8 when valid, else byte for byte.
 * Only a byte ≥ 0x80 can make the two differ.
 */
function textOf(latin1: string): string {
  return /[\x80-\xff]/.test(latin1) ? utf8OrLatin1(Buffer.from(latin1, 'latin1')) : latin1;
}

/** A latin1 string as analytics names it (wire-text.ts). */
function asWireText(latin1: string): string {
  if (!/[\x80-\xff]/.test(latin1)) return latin1;
  const bytes = Buffer.from(latin1, 'latin1');
  return wireText(bytes, 0, bytes.length);
}

function utf8OrLatin1(value: Buffer): string {
  const utf8 = value.toString('utf8');
  return utf8.includes('\uFFFD') ? value.toString('latin1') : utf8;
}
