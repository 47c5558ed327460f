/**
 * One POST of the exporters (--alert-webhook, --output-influxdb) that a redirect cannot lose.
 *
 * fetch() follows redirects by default, and for 301, 302 and 303 it sends the request again as a GET without
 * its body: the receiver's answer to that GET (often 200) then reads as a delivered alert or write while the
 * data went nowhere. So redirects are followed here by hand: 307 and 308 keep the method and body and are
 * followed (a few hops); the others fail the POST with a message that names the new address.
 */

const MAX_HOPS = 5;

export interface PostOptions {
  body: string;
  contentType: string;
  signal: AbortSignal;
}

/** The response of the address that finally answered (not a redirect). Throws on a redirect that drops the body. */
export async function postFollowingBody(url: string, options: PostOptions): Promise<Response> {
  let at = url;
  for (let hop = 0; ; hop++) {
    const res = await fetch(at, {
      method: 'POST',
      body: options.body,
      headers: { 'content-type': options.contentType },
      signal: options.signal,
      redirect: 'manual',
    });
    if (res.status < 300 || res.status > 399) return res;
    await res.arrayBuffer().catch(() => {});
    const location = res.headers.get('location');
    if (location === null) return res; // 304 and other 3xx without an address: the caller judges the status
    const next = new URL(location, at).toString();
    if (res.status !== 307 && res.status !== 308) {
      throw new Error(
        `answered ${res.status}, a redirect to ${next} that would resend the POST as a GET without its body; give that address instead`,
      );
    }
    if (hop + 1 >= MAX_HOPS)
      throw new Error(`answered ${res.status} again after ${MAX_HOPS} redirects (last to ${next})`);
    at = next;
  }
}
