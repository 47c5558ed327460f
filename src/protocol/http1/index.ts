/**
 * HTTP/1 for tapline: a lenient incremental splitter that finds message boundaries in captured or proxied
 * streams, and gor's byte-level helpers (title checks, header/path/param edits, prettify) that modifiers use to
 * edit captured bytes exactly as gor does.
 */

export { type DechunkResult, dechunk } from './dechunk.js';
export { type GunzipResult, gunzip } from './gunzip.js';
export {
  addHeader,
  body,
  deleteHeader,
  type HeaderSpan,
  header,
  headerValue,
  mimeHeadersEnd,
  mimeHeadersStart,
  setHeader,
} from './headers.js';
export { Anomaly, describeAnomalies, Http1Message, type IncompleteReason, type MessageKind } from './message.js';
export { prettify } from './prettify.js';
export { method, path, pathParam, setPath, setPathParam, status } from './request-line.js';
export {
  Http1Splitter,
  type OpaqueReason,
  RequestSplitter,
  ResponseSplitter,
  type SplitterOptions,
  type SplitterStats,
} from './splitter.js';
export { isKnownStatus } from './status-codes.js';
export { GOR_METHODS, hasRequestTitle, hasResponseTitle, hasTitle } from './title.js';
