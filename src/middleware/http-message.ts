/**
 * A message as middleware sees it: the meta fields and raw payload, plus typed HTTP helpers (method, path,
 * query parameters, headers, status, body, form parameters, cookies) with gor's byte semantics (the helpers
 * of src/protocol/http1). Edits change this object and return it, so they chain:
 *
 *   m.setHeader('Authorization', `Bearer ${token}`).setParam('debug', '1');
 *
 * Every edit rewrites only the bytes it touches; a message that was not edited is handed on as the very
 * object that came in (no copy). Used by in-process modules (--middleware-module) and by the helper library
 * for external middleware written in Node.
 */
import {
  type Message,
  type Meta,
  type MetaFields,
  REPLAYED_RESPONSE,
  REQUEST,
  RESPONSE,
  withMeta,
} from '../core/message.js';
import {
  body as bodyOf,
  deleteHeader,
  header as findHeader,
  hasRequestTitle,
  method as methodOf,
  mimeHeadersEnd,
  mimeHeadersStart,
  path as pathOf,
  pathParam,
  setHeader,
  setPath,
  setPathParam,
  status as statusOf,
} from '../protocol/http1/index.js';

export class HttpMessage implements Message {
  private currentMeta: Meta | undefined;
  private currentData: Buffer | undefined;

  constructor(readonly original: Message) {}

  get meta(): Meta {
    return this.currentMeta ?? this.original.meta;
  }

  get data(): Buffer {
    return this.currentData ?? this.original.data;
  }

  /** True once anything was edited. */
  get changed(): boolean {
    return this.currentMeta !== undefined || this.currentData !== undefined;
  }

  /** The message to hand on: the original object when nothing was edited. */
  toMessage(): Message {
    return this.changed ? { meta: this.meta, data: this.data } : this.original;
  }

  /** '1' request, '2' original response, '3' replayed response. */
  get type(): string {
    return this.meta.type;
  }

  get id(): string {
    return this.meta.id;
  }

  get isRequest(): boolean {
    return this.meta.type === REQUEST;
  }

  get isResponse(): boolean {
    return this.meta.type === RESPONSE;
  }

  get isReplayed(): boolean {
    return this.meta.type === REPLAYED_RESPONSE;
  }

  /** Replace the whole payload. */
  setData(data: Buffer | string): this {
    this.currentData = typeof data === 'string' ? Buffer.from(data) : data;
    return this;
  }

  /**
   * Change meta fields (type, id, timestamp, latency); the meta line is rebuilt. Fields are checked (see
   * checkMetaChange): a space or line break in one would write a record that reads back wrong.
   */
  setMeta(change: Partial<MetaFields>): this {
    this.currentMeta = withMeta(this.meta, checkMetaChange(change));
    return this;
  }

  /** Request method (`GET`), or '' when the payload does not start like a request. */
  get method(): string {
    return this.isRequestBytes() ? methodOf(this.data).toString('latin1') : '';
  }

  /** Request target as sent (`/a?b=1`), or ''. */
  get path(): string {
    return pathOf(this.data).toString('utf8');
  }

  setPath(path: string): this {
    return this.setData(setPath(this.data, path));
  }

  /** Query parameter value as sent (not decoded), or undefined when absent. */
  param(name: string): string | undefined {
    return pathParam(this.data, name)?.toString('utf8');
  }

  /** Replace (or append) a query parameter; the value is used as given (not encoded). */
  setParam(name: string, value: string): this {
    return this.setData(setPathParam(this.data, name, value));
  }

  /** Response status code, or 0 when the payload does not start like a response. */
  get status(): number {
    const s = statusOf(this.data);
    return s.length === 3 ? Number(s.toString('latin1')) : 0;
  }

  /** Replace the status code (and keep the reason phrase). */
  setStatus(code: number): this {
    const s = statusOf(this.data);
    if (s.length !== 3) return this;
    const at = s.byteOffset - this.data.byteOffset;
    const out = Buffer.from(this.data);
    out.write(String(code).padStart(3, '0').slice(0, 3), at, 'latin1');
    return this.setData(out);
  }

  /** First header with this name (any case), trimmed; undefined when absent. */
  header(name: string): string | undefined {
    return findHeader(this.data, name)?.value.toString('utf8');
  }

  /** Every header up to the blank line: lower-cased name → value (the last one wins). */
  headers(): Record<string, string> {
    const data = this.data;
    const start = mimeHeadersStart(data);
    const end = mimeHeadersEnd(data);
    const out: Record<string, string> = {};
    if (start < 0) return out;
    const text = data.toString('utf8', start, end < 0 ? data.length : end);
    for (const line of text.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) out[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    return out;
  }

  /** Replace the first header with this name, or add it after the start line (gor's SetHeader). */
  setHeader(name: string, value: string): this {
    return this.setData(setHeader(this.data, name, value));
  }

  deleteHeader(name: string): this {
    return this.setData(deleteHeader(this.data, name));
  }

  /** Bytes after the blank line (a view; empty when there are none). Chunked framing is kept. */
  get body(): Buffer {
    return bodyOf(this.data);
  }

  /** The body as UTF-8 text. */
  get text(): string {
    return this.body.toString('utf8');
  }

  /**
   * Replace the body and set Content-Length to its size (a chunked Transfer-Encoding header is removed,
   * since the new body is sent whole).
   */
  setBody(body: Buffer | string): this {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    const data = this.data;
    const end = mimeHeadersEnd(data);
    let head = end < 0 ? Buffer.concat([data, Buffer.from('\r\n\r\n')]) : data.subarray(0, end);
    if (findHeader(head, 'Transfer-Encoding')) head = deleteHeader(head, 'Transfer-Encoding');
    head = setHeader(head, 'Content-Length', String(bytes.length));
    return this.setData(Buffer.concat([head, bytes]));
  }

  /** A form parameter of an `application/x-www-form-urlencoded` body (decoded), or undefined. */
  bodyParam(name: string): string | undefined {
    for (const pair of this.text.split('&')) {
      const eq = pair.indexOf('=');
      const key = eq === -1 ? pair : pair.slice(0, eq);
      if (safeDecode(key) === name) return eq === -1 ? '' : safeDecode(pair.slice(eq + 1));
    }
    return undefined;
  }

  /** Set (or append) a form parameter; the value is URL-encoded. */
  setBodyParam(name: string, value: string): this {
    const pairs = this.text === '' ? [] : this.text.split('&');
    const encoded = `${encodeURIComponent(name)}=${encodeURIComponent(value)}`;
    const i = pairs.findIndex((p) => safeDecode(p.split('=')[0]!) === name);
    if (i === -1) pairs.push(encoded);
    else pairs[i] = encoded;
    return this.setBody(pairs.join('&'));
  }

  /** A cookie from the Cookie header, or undefined. */
  cookie(name: string): string | undefined {
    return this.cookies().get(name);
  }

  setCookie(name: string, value: string): this {
    const jar = this.cookies();
    jar.set(name, value);
    return this.writeCookies(jar);
  }

  deleteCookie(name: string): this {
    const jar = this.cookies();
    if (!jar.delete(name)) return this;
    return this.writeCookies(jar);
  }

  private cookies(): Map<string, string> {
    const jar = new Map<string, string>();
    for (const part of (this.header('Cookie') ?? '').split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0) jar.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
    }
    return jar;
  }

  private writeCookies(jar: Map<string, string>): this {
    if (jar.size === 0) return this.deleteHeader('Cookie');
    return this.setHeader('Cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
  }

  private isRequestBytes(): boolean {
    return hasRequestTitle(this.data);
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/**
 * A meta change as a middleware wrote it, checked and normalised. Fields are written into the meta line
 * separated by spaces and ended by LF: a field with a space, CR or LF (or an empty one) would make `.gor`
 * records and hex lines that read back as other fields or other records, so it is refused, naming the field.
 * JavaScript callers may give numbers: a type becomes its string ('1', so isRequest still holds) and an
 * integer timestamp or latency a bigint.
 */
export function checkMetaChange(change: Partial<MetaFields>): Partial<MetaFields> {
  const out: Partial<MetaFields> = { ...change };
  const token = (name: string, value: unknown): string => {
    const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
    if (typeof text !== 'string' || text === '' || /[ \r\n]/.test(text))
      throw new TypeError(
        `meta ${name} ${describeField(value)} is not usable: it must be a non-empty string without spaces or line breaks`,
      );
    return text;
  };
  const nanoseconds = (name: string, value: unknown): bigint => {
    if (typeof value === 'bigint') return value;
    if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
    throw new TypeError(
      `meta ${name} ${describeField(value)} is not usable: it must be an integer (a bigint, e.g. 5n)`,
    );
  };
  if ('type' in change) out.type = token('type', change.type);
  if ('id' in change) out.id = token('id', change.id);
  if ('timestampNs' in change) out.timestampNs = nanoseconds('timestampNs', change.timestampNs);
  if ('latencyNs' in change && change.latencyNs !== undefined)
    out.latencyNs = nanoseconds('latencyNs', change.latencyNs);
  if ('extra' in change) {
    if (!Array.isArray(change.extra)) throw new TypeError('meta extra must be an array of strings');
    out.extra = change.extra.map((e, i) => token(`extra[${i}]`, e));
  }
  return out;
}

function describeField(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : `${typeof value} ${String(value)}`;
}
