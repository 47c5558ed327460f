/** Flag declarations for gor's filters and rewrites and for --prettify-http (merged into the CLI's flag table). */
import type { FlagSpec } from '../core/flags.js';

const SECTION = 'Filters and rewrites (--http-*)';

function rule(value: string, help: string, gorNote?: string): FlagSpec {
  return { kind: 'string', multi: true, section: SECTION, value, help, ...(gorNote ? { gorNote } : {}) };
}

const REGEXP_NOTE = 'Go regexp syntax; a pattern JavaScript cannot match identically is refused (docs/modifiers.md)';

/** In gor's fixed order (spec §7.6), which is also the order they run in. */
export const modifierFlags: Readonly<Record<string, FlagSpec>> = {
  'http-allow-method': rule('METHOD', 'Only replay these methods (exact, case-sensitive), e.g. GET.'),
  'http-set-header': rule(
    "'NAME: VALUE'",
    'Set or replace a header; a new one goes right after the request line. Runs before the filters.',
  ),
  'http-set-param': rule('NAME=VALUE', 'Set or replace a query parameter (no encoding). Runs before the filters.'),
  'http-allow-url': rule('REGEXP', 'Only replay requests whose target (path?query) matches one of these.', REGEXP_NOTE),
  'http-disallow-url': rule('REGEXP', 'Drop requests whose target matches any of these.', REGEXP_NOTE),
  'http-allow-header': rule(
    'NAME:REGEXP',
    'Only replay requests that have this header with a matching value (every rule must hold).',
    REGEXP_NOTE,
  ),
  'http-disallow-header': rule(
    'NAME:REGEXP',
    'Drop requests that have this header with a matching value.',
    REGEXP_NOTE,
  ),
  'http-basic-auth-filter': rule(
    'REGEXP',
    'Only replay requests whose Basic credentials (decoded user:pass) match; other requests pass.',
    REGEXP_NOTE,
  ),
  'http-header-limiter': rule(
    'NAME:N%',
    'Keep N% of requests, chosen consistently by this header value (FNV-1a hash); requests without it pass.',
    'gor reads a malformed percentage as 0% (drops everything); tapline refuses it',
  ),
  'http-param-limiter': rule(
    'NAME:N%',
    'Keep N% of requests, chosen consistently by this query parameter value; requests without it pass.',
    'gor reads a malformed percentage as 0% (drops everything); tapline refuses it',
  ),
  'http-rewrite-url': rule(
    'REGEXP:REPLACEMENT',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Go's replacement syntax, shown to users
    'Rewrite the request target: the first matching rule replaces every match ($1, ${name}).',
    REGEXP_NOTE,
  ),
  'http-rewrite-header': rule(
    "'NAME: REGEXP,REPLACEMENT'",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Go's replacement syntax, shown to users
    'Rewrite a header value ($1, ${name}). A rule whose header is missing stops the later ones, as in gor.',
    REGEXP_NOTE,
  ),
  'prettify-http': {
    kind: 'bool',
    section: 'General',
    help: 'Decode chunked and gzip bodies of every message and fix Content-Length (after the filters).',
  },
};
