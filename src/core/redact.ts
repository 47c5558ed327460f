/**
 * Secrets out of what tapline prints: URLs and middleware command lines as they appear in warnings, errors, the
 * summary, --stats and the plugin names (`output-http(URL)`), which end up in CI logs. One rule, documented in
 * docs/errors.md ("Secrets in messages"):
 *
 * - the password of a URL's user information: `http://bob:***@host/`; the user name stays;
 * - the value of a query parameter whose name says it is a secret: `p` (InfluxDB 1.x), `sig`, `key`, `code`,
 *   `auth`, or any name holding token, secret, passw, pwd, signature, credential, apikey or accesskey, in any
 *   case (`?access_token=***`, `?X-Amz-Signature=***`); the other parameters stay (`db=`, `u=`);
 * - a path segment that looks like a token: 16 characters or more of letters, digits, `-`, `_` and `%`, with
 *   letters and a digit, or both cases (Slack's `/services/T…/B…/XXXX`, Discord's `/api/webhooks/ID/TOKEN`, Mattermost's
 *   `/hooks/KEY`); on hooks.slack.com the last segment, and on Discord the segment after the webhook's id,
 *   whatever they look like.
 *
 * The scheme, host, port and the rest of the path stay, so a message still says where tapline sent what.
 */

const MASK = '***';

/** Query parameter names (lower case) whose value is a secret as they are. */
const SECRET_PARAMS = new Set(['p', 'sig', 'key', 'code', 'auth', 'pass']);
/** Query parameter names (lower case, without - and _) holding one of these are secrets too. */
const SECRET_PARTS = /token|secret|passw|pwd|signature|credential|apikey|accesskey|privatekey/;

/** Whether a query parameter (or a command-line flag) of this name carries a secret. */
export function isSecretName(name: string): boolean {
  const lower = name.toLowerCase();
  return SECRET_PARAMS.has(lower) || SECRET_PARTS.test(lower.replace(/[-_]/g, ''));
}

/** Whether a path segment looks like a generated token rather than a word a person chose. */
function looksLikeToken(segment: string): boolean {
  if (segment.length < 16 || !/^[A-Za-z0-9_%-]+$/.test(segment)) return false;
  const letters = /[a-z]/.test(segment) || /[A-Z]/.test(segment);
  return letters && (/\d/.test(segment) || (/[a-z]/.test(segment) && /[A-Z]/.test(segment)));
}

/** Which segments of `segments` (a path split at '/', the first one empty) are secrets on this host. */
function secretSegments(host: string, segments: string[]): Set<number> {
  const secret = new Set<number>();
  segments.forEach((s, i) => {
    if (i > 1 && looksLikeToken(s)) secret.add(i);
  });
  const last = segments.length - 1;
  if (host === 'hooks.slack.com' && last >= 3 && segments[last] !== '') secret.add(last);
  if (/(^|\.)discord(app)?\.com$/.test(host)) {
    const at = segments.indexOf('webhooks');
    if (at > 0 && at + 2 <= last) secret.add(at + 2);
  }
  return secret;
}

/**
 * The URL as a message may show it (the rule above), otherwise as the user wrote it (not re-serialised: the
 * name `output-http(http://host:8080)` keeps its form). Text that is no URL is masked by pattern (a `user:pass@`
 * after `://`, `name=value` of a secret name), so a usage error that quotes a malformed URL hides them too.
 */
export function redactUrl(url: string): string {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return redactText(url);
  }
  const parts = /^([a-z][a-z0-9+.-]*:(?:\/\/)?)([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/is.exec(url);
  if (!parts) return url;
  const [, scheme = '', authority = '', path = '', query = '', fragment = ''] = parts;
  const at = authority.lastIndexOf('@');
  const colon = at === -1 ? -1 : authority.slice(0, at).indexOf(':');
  const shownAuthority =
    colon === -1 || colon + 1 === at ? authority : `${authority.slice(0, colon + 1)}${MASK}${authority.slice(at)}`;
  const segments = path.split('/');
  const secret = secretSegments(host, segments);
  const shownPath = segments.map((s, i) => (secret.has(i) ? MASK : s)).join('/');
  const shownQuery = query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq === -1) return pair;
      const name = decodeQueryName(pair.slice(0, eq).replace(/^\?/, ''));
      return isSecretName(name) ? `${pair.slice(0, eq)}=${MASK}` : pair;
    })
    .join('&');
  return `${scheme}${shownAuthority}${shownPath}${shownQuery}${fragment}`;
}

function decodeQueryName(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return raw;
  }
}

/** redactUrl for text that is not a whole URL: every URL-like word in it, and `name=value` pairs of secret names. */
export function redactText(text: string): string {
  return text
    .replace(/[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]*[^\s"'<>:,.;)]/gi, (word) => {
      try {
        new URL(word);
        return redactUrl(word);
      } catch {
        return word.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*):[^/?#@]*@/i, `$1:${MASK}@`);
      }
    })
    .replace(/([?&;\s]|^)([A-Za-z][\w.-]*)=([^&#\s"']*[^&#\s"':,.;)])/g, (all, lead: string, name: string) =>
      isSecretName(name) ? `${lead}${name}=${MASK}` : all,
    );
}

/**
 * A command line (--middleware) as a message may show it: URLs in it as redactUrl, the value of a flag or an
 * environment assignment whose name says it is a secret (`--token X`, `--api-key=X`, `TOKEN=X cmd`) masked.
 */
export function redactCommand(command: string): string {
  const parts = command.split(/(\s+)/);
  const words = parts.filter((_, i) => i % 2 === 0);
  const shown = redactArgs(words);
  return parts.map((part, i) => (i % 2 === 0 ? shown[i / 2]! : part)).join('');
}

/**
 * redactCommand for a command already split into words: each word as it may be shown, in the same places. A
 * masked value keeps the quotes around it (`'***'`), which a message about quoting still needs to show.
 */
export function redactArgs(words: readonly string[]): string[] {
  let maskNext = false;
  return words.map((word) => {
    if (maskNext && word !== '') {
      maskNext = false;
      return maskKeepingQuotes(word);
    }
    const flag = /^(-{1,2}[A-Za-z][\w.-]*|[A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(word);
    if (flag && isSecretName(flag[1]!.replace(/^-+/, ''))) return `${flag[1]}=${maskKeepingQuotes(flag[2]!)}`;
    if (/^--?[A-Za-z][\w.-]*$/.test(word) && word.length > 2 && isSecretName(word.replace(/^-+/, ''))) {
      maskNext = true;
      return word;
    }
    return redactText(word);
  });
}

/** `***` in place of a value, with the quote characters it starts or ends with. */
function maskKeepingQuotes(value: string): string {
  const lead = /^["'`]/.test(value) ? value[0] : '';
  const trail = value.length > 1 && /["'`]$/.test(value) ? value.at(-1) : '';
  return `${lead}${MASK}${trail}`;
}

/** Headers whose value is a credential, besides names isSecretName takes (X-Api-Key, X-Auth-Token). */
const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie']);

/**
 * A modifier flag's value as a message may quote it: a `--http-set-header` of a credential header
 * (`Authorization: ***`, also when its colon is missing) and a `--http-set-param` of a secret name (`token=***`).
 * Any other value (a regexp, mostly) is shown whole: it is what the message is about.
 */
export function redactFlagValue(flag: string, value: string): string {
  if (flag === 'http-set-header') {
    const m = /^(\s*([^:\s]+))(\s*:?\s*)([\s\S]*)$/.exec(value);
    const name = m?.[2]?.toLowerCase() ?? '';
    if (m && m[4] !== '' && (SECRET_HEADERS.has(name) || isSecretName(name))) return `${m[1]}${m[3]}${MASK}`;
    return value;
  }
  if (flag === 'http-set-param') {
    const m = /^(\s*([^=\s]+))(\s*=?\s*)([\s\S]*)$/.exec(value);
    if (m && m[4] !== '' && isSecretName(m[2]!)) return `${m[1]}${m[3]}${MASK}`;
  }
  return value;
}
