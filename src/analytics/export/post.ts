/**
 * One POST of the exporters (--alert-webhook, --output-influxdb) that a redirect cannot lose.
 *
 * fetch() follows redirects by default, and for 301, 302 and 303 it sends the request again as a GET without
 * its body: the receiver's answer to that GET (often 200) then reads as a delivered alert or write while the
 * data went nowhere. So redirects are followed here by hand: 307 and 308 keep the method and body and are
 * followed (a few hops); the others fail the POST with a message that names the new address.
 *
 * fetch() also refuses a URL holding a user and password (`http://bob:secret@hooks:9000/`), and says so with the
 * URL, password included. Those are taken out of the address and sent as HTTP Basic authentication instead (to
 * the same origin only: a redirect elsewhere does not get them), and messages name the URL with the password
 * and its other secrets masked (core/redact.ts).
 */

import { ERROR_CODES, TaplineError } from '../../core/errors.js';
import { redactUrl } from '../../core/redact.js';
import { basicAuthorization } from '../../net/url-credentials.js';
import { printable } from '../printable.js';

const MAX_HOPS = 5;

export interface PostOptions {
  body: string;
  contentType: string;
  signal: AbortSignal;
}

/** The response of the address that finally answered (not a redirect). Throws on a redirect that drops the body. */
export async function postFollowingBody(url: string, options: PostOptions): Promise<Response> {
  const { address, authorization } = splitCredentials(url);
  const origin = new URL(address).origin;
  let at = address;
  for (let hop = 0; ; hop++) {
    const headers: Record<string, string> = { 'content-type': options.contentType };
    if (authorization && new URL(at).origin === origin) headers.authorization = authorization;
    const res = await fetch(at, {
      method: 'POST',
      body: options.body,
      headers,
      signal: options.signal,
      redirect: 'manual',
    });
    if (res.status < 300 || res.status > 399) return res;
    await res.body?.cancel().catch(() => {});
    const location = res.headers.get('location');
    if (location === null) return res; // 304 and other 3xx without an address: the caller judges the status
    const next = redirectTarget(res.status, location, at);
    if (res.status !== 307 && res.status !== 308) {
      throw new Error(
        `answered ${res.status}, a redirect to ${redactUrl(next)} that would resend the POST as a GET without its body; give that address instead`,
      );
    }
    if (hop + 1 >= MAX_HOPS)
      throw new Error(`answered ${res.status} again after ${MAX_HOPS} redirects (last to ${redactUrl(next)})`);
    at = next;
  }
}

/**
 * Where a redirect points, as an http(s) URL. Followed as it came, a Location that is no URL failed the POST with
 * fetch's 'Invalid URL' and one to another scheme (ftp://, file:) with 'fetch failed: unknown scheme': neither
 * said that the receiver had answered with a redirect, nor where to.
 */
function redirectTarget(status: number, location: string, at: string): string {
  let next: URL | undefined;
  try {
    next = new URL(location, at);
  } catch {}
  const shown = oneLine(redactUrl(next ? next.toString() : location));
  if (!next) throw new Error(`answered ${status}, a redirect to ${JSON.stringify(shown)}, which is not an address`);
  if (next.protocol !== 'http:' && next.protocol !== 'https:')
    throw new Error(`answered ${status}, a redirect to ${shown}, which is not an http(s) address: not followed`);
  return next.toString();
}

/**
 * Text from a receiver (an answer's body, a Location) for a message on one line: whitespace runs (line breaks
 * included) as one space, control characters as \xHH, cut after `max` characters.
 */
export function oneLine(text: string, max = 200): string {
  const flat = printable(text.replace(/\s+/g, ' ').trim());
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** How much of an answer's body is read (an error's words): the rest is left unread. */
export const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * The first `max` bytes of an answer's body as text, the rest not read. Read whole (`res.text()`), a receiver
 * that answers 200 and streams without end filled memory (1.7 GiB in 4 s on loopback) until the POST's
 * timeout, and was then said to have given "no answer".
 */
export async function answerText(res: Response, max = MAX_ANSWER_BYTES): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    while (size < max) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return Buffer.concat(chunks).subarray(0, max).toString('utf8');
}

/** The URL without its user and password, and the Basic authorization header they make (if any). */
function splitCredentials(url: string): { address: string; authorization?: string } {
  const u = new URL(url);
  const authorization = basicAuthorization(u, (why) => new Error(why)); // checked at start (checkReceiverUrl)
  if (authorization === undefined) return { address: url };
  u.username = '';
  u.password = '';
  return { address: u.toString(), authorization };
}

/**
 * A usage error naming `flag` when the URL's user or password cannot be decoded (a `%` that starts no escape), or
 * its port is 0.
 */
export function checkReceiverUrl(url: URL, flag: string): void {
  basicAuthorization(url, (why) => new TaplineError(ERROR_CODES.USAGE, why, { where: `--${flag}` }));
  // Accepted, port 0 failed every POST of the run with 'connect ECONNREFUSED 127.0.0.1'.
  if (url.port === '0') {
    throw new TaplineError(ERROR_CODES.USAGE, 'port 0 is not one a receiver listens on: give its port', {
      where: `--${flag}`,
    });
  }
}

/** What the URL parser refused in `text`, when it is a port it cannot hold (it says only 'Invalid URL'). */
export function portProblem(text: string): string | undefined {
  const port = /^[a-z][a-z0-9+.-]*:\/\/(?:[^/@?#]*@)?(?:\[[^\]]*\]|[^/:?#]*):(\d+)(?:[/?#]|$)/i.exec(text)?.[1];
  return port !== undefined && Number(port) > 65535 ? `port ${port} is out of range (1-65535)` : undefined;
}
