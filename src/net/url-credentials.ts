/**
 * The user and password of a URL (`http://bob:s%40cret@hooks:9000/`) as an HTTP Basic authorization header.
 *
 * They are percent-decoded, as curl and Go do. The URL parser keeps a `%` that starts no escape as it is
 * (`http://bob:50%off@host/`), and decodeURIComponent then throws a bare URIError, 'URI malformed': --alert-webhook
 * and --output-influxdb accepted such a URL and failed every POST with those words, and --output-http stopped with
 * a stack trace. `fail` makes the caller's own error (its flag, its code) from the reason, said before the run.
 */
export function basicAuthorization(url: URL, fail: (why: string) => Error): string | undefined {
  if (url.username === '' && url.password === '') return undefined;
  const decode = (part: string, what: string): string => {
    try {
      return decodeURIComponent(part);
    } catch {
      throw fail(`the ${what} in the URL has a % that is not followed by two hex digits (write a % as %25)`);
    }
  };
  const user = `${decode(url.username, 'user name')}:${decode(url.password, 'password')}`;
  return `Basic ${Buffer.from(user).toString('base64')}`;
}
