/**
 * `--http-rewrite-url REGEXP:REPLACEMENT` (spec §7.6 step 11, §7.7): the first rule whose regexp matches the
 * request-target replaces every match in it (Go's ReplaceAll, `$1` / `${name}` expansion); later rules are not
 * tried. The value splits at the first colon, so the regexp cannot contain one (the replacement can). A request
 * whose target the rewrite leaves empty, or leaves something Go's request parser refuses (`^/a:api` turns `/a/b`
 * into `api/b`), is dropped (and counted against this flag): it would not be HTTP.
 */
import { path, setPath } from '../protocol/http1/index.js';
import { emptyPatternWarnings, flagError, type Modifier, splitFirst } from './modifier.js';
import { parseReplacement } from './replacement.js';
import { checkTargetText } from './wire-syntax.js';

const FLAG = 'http-rewrite-url';

export function rewriteUrl(values: readonly string[]): Modifier {
  const rules = values.map((value) => {
    const parts = splitFirst(value, ':');
    if (!parts)
      throw flagError(FLAG, value, 'need both regexp and replacement, colon-delimited (e.g. /v1/(.*):/v2/$1)');
    // '^http://a/x:http://b/x' splits into '^http' and '//a/x:http://b/x': a valid regexp, and garbage targets.
    if (/(?:^|[^A-Za-z0-9+.-])(?:https?|wss?|ftp)$/i.test(parts[0]) && parts[1].startsWith('//')) {
      throw flagError(
        FLAG,
        value,
        `the value is split at its first ":" (as gor splits it), so this is the regexp ${JSON.stringify(parts[0])} ` +
          `and the replacement ${JSON.stringify(parts[1])}: a URL in the regexp needs its colon written \\x3a ` +
          `('${parts[0]}\\x3a//…')`,
      );
    }
    return parseReplacement(FLAG, value, parts[0], parts[1], checkTargetText, ':');
  });
  return {
    flag: FLAG,
    description: `rewrite request targets (${values.join(', ')})`,
    dropped: 0,
    warnings: [
      ...emptyPatternWarnings(
        FLAG,
        values,
        'this rule rewrites every request, writing its replacement before each character and at the end ' +
          '(/a becomes x/xax), and no later rule is tried',
        (value) => value.slice(0, value.indexOf(':')),
      ),
      ...rules.flatMap((rule) => rule.warnings),
    ],
    apply(payload) {
      const target = path(payload);
      for (const rule of rules) {
        const rewritten = rule.regexp.replaceAllIfMatch(target, rule.template);
        if (rewritten === null) continue;
        // `GET  HTTP/1.1` and `GET api/b HTTP/1.1` are no requests: gor writes them and its replay drops them
        // unparsed; here such a request is dropped, counted. A target captured that way is left to itself.
        if (!isRequestTarget(payload, rewritten) && isRequestTarget(payload, target)) return null;
        return setPath(payload, rewritten);
      }
      return payload;
    },
  };
}

const SLASH = 0x2f;
const STAR = 0x2a;
const CONNECT = Buffer.from('CONNECT ', 'latin1');
/** A scheme and its colon: what Go's url.ParseRequestURI takes as an absolute or opaque URI. */
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/**
 * Would Go's http.ReadRequest (gor's replay) take `target` as this request's target? A path (`/…`), `*`, a
 * scheme (`http://h/x`), or anything after CONNECT (an authority). Empty, `api/b`, `?x=1`: refused.
 */
function isRequestTarget(payload: Buffer, target: Buffer): boolean {
  if (target.length === 0) return false;
  if (target[0] === SLASH || (target.length === 1 && target[0] === STAR)) return true;
  if (payload.subarray(0, CONNECT.length).equals(CONNECT)) return true;
  return SCHEME.test(target.toString('latin1'));
}
