/**
 * `--prettify-http` as a processor (spec §9.4): every message, whatever its type, is de-chunked and gunzipped
 * with Content-Length fixed (src/protocol/http1/prettify.ts). A payload whose gzip header is invalid comes back
 * empty and is dropped, as gor does; that is counted. A chunked body that breaks off (a bad size line, a cut
 * capture) keeps what decoded before the break, as gor does; the rest of it is lost, so that is counted too, and
 * so is a trailer section (or a pipelined request) after the last chunk, which the decoding leaves out as gor's.
 * With a middleware, messages are prettified on their way into it as well (beforeMiddleware), as gor does.
 */
import type { Message } from '../core/message.js';
import type { Batch, Transform } from '../core/plugin.js';
import { dechunk, headerValue, mimeHeadersEnd, prettify } from '../protocol/http1/index.js';

const CHUNKED = Buffer.from('chunked', 'latin1');
const CRLF = Buffer.from('\r\n', 'latin1');
const LF = Buffer.from('\n', 'latin1');

export class Prettifier {
  /** Messages whose body was decoded. */
  decoded = 0;
  /** Messages dropped because their gzip header was invalid. */
  dropped = 0;
  /** Messages whose chunked body broke off before its last chunk: only the part before the break was kept. */
  cutChunked = 0;
  /**
   * Messages that had something after their last chunk, lost in the decoding (as in gor): trailer fields
   * (`X-Checksum: …` after `0\r\n`) or the bytes of a request pipelined behind it in the same record.
   */
  trailerDropped = 0;

  /** The processor after the filters (and after the middleware, when there is one). */
  readonly process = (msg: Message): Message | null => {
    const out = this.decode(msg);
    if (out === null) this.dropped++;
    return out;
  };

  /**
   * gor also prettifies every message on its way into `--middleware` (spec §4.2), so a middleware sees plain
   * bodies. A message whose gzip header is bad goes in as it was: if the middleware passes it back, the
   * processor drops and counts it then, once.
   */
  readonly beforeMiddleware: Transform = (source) => this.decodeStream(source);

  private async *decodeStream(source: AsyncIterable<Batch>): AsyncGenerator<Batch> {
    for await (const batch of source) yield batch.map((msg) => this.decode(msg) ?? msg);
  }

  /** The message prettified (counted), the same object when there was nothing to do, null for a bad gzip header. */
  private decode(msg: Message): Message | null {
    const data = prettify(msg.data);
    if (data === msg.data) return msg;
    if (data.length === 0) return null;
    this.decoded++;
    const chunks = chunkedEnd(msg.data);
    if (chunks === 'cut') this.cutChunked++;
    else if (chunks === 'more') this.trailerDropped++;
    return { meta: msg.meta, data };
  }

  stats(): Record<string, number> {
    return {
      prettified: this.decoded,
      prettify_bad_gzip_dropped: this.dropped,
      prettify_chunked_body_cut: this.cutChunked,
      prettify_trailer_dropped: this.trailerDropped,
    };
  }
}

/**
 * The same test prettify() makes, then how de-chunking ended: `cut` when it stopped before the 0-size chunk,
 * `more` when something followed the 0-size chunk's line besides the final CRLF (a trailer section, or bytes of
 * another message), `whole` otherwise or when the message is not chunked. An empty body (a 204 or a HEAD
 * response that says chunked) loses nothing.
 */
function chunkedEnd(payload: Buffer): 'whole' | 'cut' | 'more' {
  const end = mimeHeadersEnd(payload);
  if (end < 5 || end >= payload.length) return 'whole';
  if (!headerValue(payload.subarray(0, end), 'Transfer-Encoding').equals(CHUNKED)) return 'whole';
  const body = payload.subarray(end);
  const result = dechunk(body);
  if (!result.complete) return 'cut';
  const rest = body.subarray(result.end);
  return rest.length === 0 || rest.equals(CRLF) || rest.equals(LF) ? 'whole' : 'more';
}
