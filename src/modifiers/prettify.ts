/**
 * `--prettify-http` as a processor (spec §9.4): every message, whatever its type, is de-chunked and gunzipped
 * with Content-Length fixed (src/protocol/http1/prettify.ts). A payload whose gzip header is invalid comes back
 * empty and is dropped, as gor does; that is counted.
 */
import type { Message } from '../core/message.js';
import { prettify } from '../protocol/http1/index.js';

export class Prettifier {
  /** Messages whose body was decoded. */
  decoded = 0;
  /** Messages dropped because their gzip header was invalid. */
  dropped = 0;

  readonly process = (msg: Message): Message | null => {
    const data = prettify(msg.data);
    if (data === msg.data) return msg;
    if (data.length === 0) {
      this.dropped++;
      return null;
    }
    this.decoded++;
    return { meta: msg.meta, data };
  };

  stats(): Record<string, number> {
    return { prettified: this.decoded, prettify_bad_gzip_dropped: this.dropped };
  }
}
