/**
 * Where `--output-http` sends requests, and how a captured request is adapted to that target (spec §7.2):
 *  - the target must be `http://` or `https://` in gor; tapline also takes a bare `host[:port]` (gor's own
 *    docs use that form, and gor then fails at send time);
 *  - a target with no path and no query keeps each request's own path; a target with any path or query
 *    replaces the request-target entirely (gor does this; it is surprising, so --help says so);
 *  - Host is set to the target's host[:port] exactly as written (an IPv6 zone, `[fe80::1%25eth0]`, left out);
 *  - a request captured with more than one Host line in its head is sent with one, the first (edited as
 *    above, or kept with --http-original-host): gor's Go client writes one Host line from the request's
 *    first Host value and never the header map's Host entries, and strict servers refuse two (400);
 *  - an absolute-form request-target (`GET http://other/x`, from proxy traffic) is sent in origin-form; with
 *    --http-original-host its Host is the absolute URI's authority (Go reads the Host from it), and a request
 *    with no Host value (none, or an empty one) gets the target's (Go's client writes the URL's host then);
 *  - `http://user:pass@host/path` (with a path) adds `Authorization: Basic …` when the request has none;
 *    without a path the credentials are ignored (gor's behaviour).
 * Everything else in the captured bytes is sent unchanged: header order and case, body, framing.
 */
import { ERROR_CODES, TaplineError } from '../core/errors.js';
import { redactUrl } from '../core/redact.js';
import { needsZone } from '../net/address.js';
import { basicAuthorization } from '../net/url-credentials.js';
import { deleteLaterHeaders } from '../protocol/http1/headers.js';
import { addHeader, header, path as requestTarget, setHeader, setPath } from '../protocol/http1/index.js';

export interface HttpTarget {
  readonly url: string;
  readonly secure: boolean;
  readonly host: string;
  readonly port: number;
  /** The Host header value: host[:port] as written in the target. */
  readonly hostHeader: string;
  /** `hostHeader` encoded once (UTF-8, as gor's string bytes), for the per-request Host edit. */
  readonly hostHeaderBytes: Buffer;
  /** Set when the target has a path or query: every request-target is replaced by it. */
  readonly fixedTarget: string | undefined;
  /** `Basic …` from credentials in a target with a path (see above). */
  readonly basicAuth?: string;
  /**
   * The authority ends with ':' and no port (`http://staging:`, what `http://staging:$PORT` gives with the
   * variable unset): the scheme's default port is dialed, as Go does, and the output says so at start.
   */
  readonly emptyPort: boolean;
}

export function parseTarget(address: string, flag = 'output-http'): HttpTarget {
  const bad = (why: string) =>
    new TaplineError(
      ERROR_CODES.BAD_ADDRESS,
      `${why}: ${JSON.stringify(redactUrl(address))} (e.g. http://staging:8080)`,
      {
        where: `--${flag}`,
      },
    );
  let text = address.trim();
  if (text === '') throw bad('empty target');
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(text);
  if (!scheme) text = `http://${text}`;
  else if (!/^https?$/i.test(scheme[1]!)) throw bad(`unsupported scheme ${scheme[1]}`);
  // A port nothing can listen on: every request would be refused (gor too, at send time).
  const port = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/(?:[^@/?#]*@)?(?:\[[^\]]*\]|[^:/?#]*):(\d+)(?:[/?#]|$)/.exec(text)?.[1];
  if (port !== undefined && (Number(port) === 0 || Number(port) > 65535)) {
    throw bad(`port ${port} is not one a target can listen on (1-65535)`);
  }
  // An IPv6 zone (RFC 6874: `http://[fe80::1%25eth0]:80`, as Go's URL parser takes it): WHATWG URLs refuse
  // it, so it is taken out before parsing, dialed with the address (`fe80::1%eth0`), and left out of the
  // Host header (Go's client removes it there too: the zone means nothing to the peer).
  const zoned = /^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/(?:[^@/?#]*@)?\[[^\]%]*)%25([^\]]*)\]/.exec(text);
  const zone = zoned ? zoned[2]! : '';
  if (zoned && !/^[A-Za-z0-9_.-]+$/.test(zone))
    throw bad(`IPv6 zone ${JSON.stringify(zone)} is not an interface name or index`);
  const unzoned = zoned ? `${zoned[1]}]${text.slice(zoned[0].length)}` : text;
  let url: URL;
  try {
    url = new URL(unzoned);
  } catch {
    // `http://::1:8080`: Go's parser takes it and its dial then fails ("too many colons").
    const bare = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/(?:[^@/?#]*@)?([^/?#[\]]*:[^/?#[\]]*:[^/?#[\]]*)(?:[/?#]|$)/.exec(text);
    if (bare) throw bad('not a URL (an IPv6 address goes in brackets: http://[::1]:8080)');
    if (/\[[^\]]*%(?!25)[^\]]*\]/.test(text))
      throw bad("not a URL (an IPv6 zone's % is written %25: http://[fe80::1%25eth0]:80)");
    throw bad('not a URL');
  }
  if (url.hostname === '') throw bad('no host');
  const secure = url.protocol === 'https:';
  // As Go's URL: a path, or a query with something in it (`?` alone and a `#fragment` are neither: gor then keeps
  // each request's own path). A `?` after a path stays (`/x?`, Go's ForceQuery).
  const afterAuthority = unzoned.replace(/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*/, '').replace(/#[\s\S]*$/, '');
  const question = afterAuthority.indexOf('?');
  const hasPath = question !== 0 ? afterAuthority.length > 0 : afterAuthority.length > 1;
  const authority = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/(?:[^@/?#]*@)?([^/?#]*)/.exec(unzoned)![1]!;
  const literal = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (zone === '' && needsZone(literal)) {
    throw bad('an IPv6 link-local address needs its interface, its % written %25: http://[fe80::1%25eth0]:80');
  }
  const host = zone === '' ? literal : `${literal}%${zone}`;
  const target: HttpTarget = {
    url: text,
    secure,
    host,
    port: url.port ? Number(url.port) : secure ? 443 : 80,
    hostHeader: authority,
    hostHeaderBytes: Buffer.from(authority, 'utf8'),
    fixedTarget: hasPath ? `${url.pathname}${url.search || (question >= 0 ? '?' : '')}` : undefined,
    emptyPort: authority.endsWith(':'),
  };
  // Not bad(): its message would print the address, password included.
  const basicAuth = hasPath
    ? basicAuthorization(url, (why) => new TaplineError(ERROR_CODES.BAD_ADDRESS, why, { where: `--${flag}` }))
    : undefined;
  if (basicAuth !== undefined) return { ...target, basicAuth };
  return target;
}

const ABSOLUTE_FORM = /^https?:\/\/[^/?#]*/i;
const HOST = Buffer.from('Host', 'latin1');
const AUTHORIZATION = Buffer.from('Authorization', 'latin1');

/**
 * The captured request, adapted to the target (Host, path rule, origin-form, one Host line). `payload` has a
 * gor request title. native/src/http_sender.cc FindHostEdit makes the same bytes for the Host rule alone.
 */
export function adaptRequest(payload: Buffer, target: HttpTarget, keepHost: boolean): Buffer {
  let out = payload;
  let absoluteHost: string | undefined;
  // Nearly every request-target is origin-form ('/…'): for those no string, no regexp, no view.
  const sp1 = payload.indexOf(0x20);
  if (payload[sp1 + 1] !== 0x2f) {
    const current = requestTarget(out).toString('latin1');
    const abs = ABSOLUTE_FORM.exec(current);
    if (abs) {
      absoluteHost = abs[0].replace(/^https?:\/\/(?:[^@]*@)?/i, '');
      if (target.fixedTarget === undefined) out = setPath(out, current.slice(abs[0].length) || '/');
    }
  }
  if (target.fixedTarget !== undefined) out = setPath(out, target.fixedTarget);
  if (!keepHost) out = setHeader(out, HOST, target.hostHeaderBytes);
  else if (absoluteHost) out = setHeader(out, HOST, absoluteHost);
  // No Host to keep (none, or an empty one: an HTTP/1.0 client's): Go's client then writes the URL's host, the
  // target's, so gor sends the target's Host here too.
  else if (!hasValue(header(out, HOST)?.value)) out = setHeader(out, HOST, target.hostHeaderBytes);
  out = deleteLaterHeaders(out, HOST);
  if (target.basicAuth !== undefined && header(out, AUTHORIZATION) === null) {
    out = addHeader(out, AUTHORIZATION, target.basicAuth);
  }
  return out;
}

/** `value` holds something other than spaces and tabs. */
function hasValue(value: Buffer | undefined): boolean {
  if (value === undefined) return false;
  for (let i = 0; i < value.length; i++) if (value[i] !== 0x20 && value[i] !== 0x09) return true;
  return false;
}
