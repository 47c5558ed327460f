/**
 * Routes: the path a request is filed under, so `/users/123` and `/users/456` add up as `/users/:id`.
 *
 *   request-target ─▶ path (scheme://host, ?query and #fragment removed)
 *                  ─▶ first matching --route rule   (`/users/:id/orders`, `/static/*`)
 *                  └▶ else automatic template: each segment that looks like an identifier becomes a placeholder
 *
 * Placeholders (docs/analytics.md): `:id` numbers, `:uuid` UUIDs, `:date` dates, `:hash` hex strings and
 * hashes in file names (`app.3f9a1c2b.js` → `app.:hash.js`), `:token` base64/random tokens, `:long` very long
 * segments. Templating is pure (no state), so hostile URLs cannot grow memory here; the RouteTable that files
 * routes has a size cap and an overflow bucket, and the template cache is bounded.
 */
import { ERROR_CODES, TaplineError } from '../core/errors.js';

/** The route every path beyond the route limit is filed under. */
export const OVERFLOW_ROUTE = '(other)';
/** Responses whose request was never seen. */
export const NO_REQUEST_ROUTE = '(no request)';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DIGITS = /^\d+$/;
const DATE = /^\d{4}-\d{2}-\d{2}(?:[T_ ]\d{2}(?::?\d{2}){0,2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;
const HEX = /^[0-9a-f]+$/i;
const TOKEN_CHARS = /^[A-Za-z0-9_\-+=~%]+$/;
const HAS_DIGIT = /\d/;
const HAS_LETTER = /[A-Za-z]/;

/** A token-like string: long, of token characters, mixing digits and letters (words and slugs are kept). */
function looksLikeToken(s: string): boolean {
  if (s.length < 16 || !TOKEN_CHARS.test(s)) return false;
  if (HAS_DIGIT.test(s) && HAS_LETTER.test(s)) return true;
  // All letters but mixed case and long (base64 of random bytes without a digit is rare but possible).
  return s.length >= 24 && /[a-z]/.test(s) && /[A-Z]/.test(s) && !/[-_]/.test(s);
}

/** Hex that is an identifier, not a word: 8+ chars with a digit, or 16+ chars. */
function looksLikeHex(s: string): boolean {
  return HEX.test(s) && ((s.length >= 8 && HAS_DIGIT.test(s)) || s.length >= 16);
}

/** The placeholder for one whole path segment, or null to keep it. */
function segmentPlaceholder(seg: string): string | null {
  if (DIGITS.test(seg)) return ':id';
  if (seg.length === 36 && UUID.test(seg)) return ':uuid';
  if (seg.length >= 10 && DATE.test(seg)) return ':date';
  if (looksLikeHex(seg)) return ':hash';
  if (looksLikeToken(seg)) return ':token';
  if (seg.length > 64) return ':long';
  return null;
}

/** File names with hashes (`main.5d41402a.js`, `chunk-3f9a1c2b7e.css`): the hash parts become `:hash`. */
function templateFileName(seg: string): string {
  const dot = seg.lastIndexOf('.');
  const stem = seg.slice(0, dot);
  const ext = seg.slice(dot);
  const parts = stem.split('.').map((part) => {
    const whole = segmentPlaceholder(part);
    // `index-BxK3f9Qa` keeps its name: only the hash after the dash is replaced (dates and UUIDs stay whole).
    if (whole && (whole === ':date' || whole === ':uuid' || !part.includes('-')))
      return whole === ':id' ? ':id' : ':hash';
    if (!part.includes('-')) return part;
    return part
      .split('-')
      .map((p) => (looksLikeHex(p) || looksLikeToken(p) || (p.length >= 6 && DIGITS.test(p)) ? ':hash' : p))
      .join('-');
  });
  return parts.join('.') + ext;
}

/** The template of one non-empty segment: a placeholder, a file name with its hashes replaced, or itself. */
function templateSegment(seg: string): string {
  const whole = segmentPlaceholder(seg);
  if (whole) return whole;
  return seg.lastIndexOf('.') > 0 ? templateFileName(seg) : seg;
}

/**
 * The longest route an automatic template makes, in characters. A longer template is cut after its last whole
 * segment that leaves room for `/…`: paths that share that much add up under one route. Without it a path of
 * 100 KB of short segments (`/a/b/c/…`, none a placeholder) was a 100 KB route, held by every table and written
 * whole into every `--stats` line (1,000 such routes: 37 MB a line). A segment is at most 64 characters before
 * it becomes `:long`, so the cut is within 65 characters of the limit. At most the exporters' NAME_CHARS
 * (export/long-names.ts), so they never cut a template again.
 */
export const ROUTE_MAX_CHARS = 1000;

/** `template` cut to ROUTE_MAX_CHARS as said there (most templates are far shorter and come back as they are). */
function cutLongTemplate(template: string): string {
  if (template.length <= ROUTE_MAX_CHARS) return template;
  const slash = template.lastIndexOf('/', ROUTE_MAX_CHARS - 2);
  return `${template.slice(0, slash > 0 ? slash : ROUTE_MAX_CHARS - 2)}/…`;
}

/**
 * The automatic template of a path (`/users/42/avatar.png` → `/users/:id/avatar.png`), cut past
 * ROUTE_MAX_CHARS.
 *
 * One pass over the characters: a segment of digits only is `:id`, a short segment without digits or dots
 * (`users`, `api`) stays as it is — no placeholder rule can match those — and only the rest go through the
 * regular expressions. A path that keeps every segment is returned as it is, without a new string.
 */
export function templatePath(path: string): string {
  if (path === '' || path === '/') return '/';
  let out: string | undefined; // the template so far, once a segment changed
  let copied = 0; // path[0, copied) is in `out`
  let segStart = 0;
  for (let i = 0; i <= path.length; i++) {
    const c = i < path.length ? path.charCodeAt(i) : 0x2f;
    if (c !== 0x2f) continue;
    const length = i - segStart;
    if (length > 0) {
      let digits = 0;
      let dots = 0;
      for (let k = segStart; k < i; k++) {
        const d = path.charCodeAt(k);
        if (d >= 0x30 && d <= 0x39) digits++;
        else if (d === 0x2e) dots++;
      }
      let replacement: string | undefined;
      if (digits === length) replacement = ':id';
      else if (digits > 0 || dots > 0 || length >= 16) {
        const seg = path.slice(segStart, i);
        const t = templateSegment(seg);
        if (t !== seg) replacement = t;
      }
      if (replacement !== undefined) {
        out = (out ?? '') + path.slice(copied, segStart) + replacement;
        copied = i;
      }
    }
    segStart = i + 1;
  }
  return cutLongTemplate(out === undefined ? path : out + path.slice(copied));
}

/** The path of a request-target: absolute-form's scheme and authority, the query and the fragment removed. */
export function pathOf(target: string): { path: string; authority: string } {
  let path = target;
  let authority = '';
  const scheme = path.indexOf('://');
  if (scheme > 0 && scheme < 10) {
    const slash = path.indexOf('/', scheme + 3);
    authority = path.slice(scheme + 3, slash === -1 ? path.length : slash);
    path = slash === -1 ? '/' : path.slice(slash);
  }
  const q = path.indexOf('?');
  if (q !== -1) path = path.slice(0, q);
  const h = path.indexOf('#');
  if (h !== -1) path = path.slice(0, h);
  return { path: path === '' ? '/' : path, authority };
}

/** A `--route` rule: `/users/:id/orders` (`:name` = one segment), `/static/*` (`*` = the rest, last only). */
export class RouteRule {
  private readonly segs: string[];
  private readonly rest: boolean;

  constructor(readonly pattern: string) {
    if (!pattern.startsWith('/')) {
      throw new TaplineError(ERROR_CODES.USAGE, `route ${JSON.stringify(pattern)} must start with /`, {
        where: '--route',
      });
    }
    // Paths are matched without their ?query and #fragment (pathOf): a rule holding one would never match.
    if (/[?#]/.test(pattern)) {
      throw new TaplineError(
        ERROR_CODES.USAGE,
        `route ${JSON.stringify(pattern)}: routes match the path only; leave out the ?query or #fragment`,
        { where: '--route' },
      );
    }
    const segs = pattern.split('/').slice(1);
    const star = segs.indexOf('*');
    if (star !== -1 && star !== segs.length - 1) {
      throw new TaplineError(ERROR_CODES.USAGE, `route ${JSON.stringify(pattern)}: * may only be the last segment`, {
        where: '--route',
      });
    }
    this.rest = star !== -1;
    this.segs = this.rest ? segs.slice(0, -1) : segs;
  }

  matches(path: string): boolean {
    const segs = path.split('/').slice(1);
    if (this.rest ? segs.length < this.segs.length : segs.length !== this.segs.length) return false;
    for (let i = 0; i < this.segs.length; i++) {
      const want = this.segs[i]!;
      const got = segs[i]!;
      if (want.startsWith(':') ? got === '' : want !== got) return false;
    }
    return true;
  }
}

export interface RouterOptions {
  /** `--route` patterns, first match wins. */
  rules?: readonly string[];
  /** Cache of path → route (bounded; default 4096). */
  cacheSize?: number;
}

/** Path → route, with the user's rules first and the automatic template otherwise. Memory is bounded. */
export class RouteNamer {
  private readonly rules: RouteRule[];
  private readonly cache = new Map<string, string>();
  private readonly cacheSize: number;

  constructor(options: RouterOptions = {}) {
    this.rules = (options.rules ?? []).map((r) => new RouteRule(r));
    this.cacheSize = options.cacheSize ?? 4096;
  }

  /** Without `--route` rules, route(path) is templatePath(path) (the native core makes simple ones itself). */
  get hasRules(): boolean {
    return this.rules.length > 0;
  }

  route(path: string): string {
    const hit = this.cache.get(path);
    if (hit !== undefined) return hit;
    let route: string | undefined;
    for (let i = 0; i < this.rules.length; i++) {
      const rule = this.rules[i]!;
      if (rule.matches(path)) {
        route = rule.pattern;
        break;
      }
    }
    route ??= templatePath(path);
    // Bounded: when full, start over (cheaper than LRU bookkeeping on every hit; the hot set refills fast).
    if (this.cache.size >= this.cacheSize) this.cache.clear();
    if (path.length <= 512) this.cache.set(path, route);
    return route;
  }
}
