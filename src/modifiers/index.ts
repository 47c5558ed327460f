/**
 * gor's HTTP filters and rewrites (`--http-*`) and `--prettify-http`, as pipeline processors.
 *
 *   const { processors } = buildModifiers(flags);       // [] when no such flag is given
 *   new Pipeline({ inputs, outputs, processors, log });
 *
 * MODIFIER_ORDER is gor's fixed order (spec §7.6; http_modifier.go's sequence): the order the flags are given in
 * does not matter, only the order of values within one flag. Rewrites listed before the filters run before them,
 * so `--http-allow-url` sees the target after `--http-set-param`. Then `--prettify-http` runs on every message.
 */
import type { FlagSet } from '../core/flags.js';
import type { Logger } from '../core/log.js';
import type { Processor, Transform } from '../core/plugin.js';
import { redactFlagValue } from '../core/redact.js';
import { allowHeader } from './allow-header.js';
import { allowMethod } from './allow-method.js';
import { allowUrl } from './allow-url.js';
import { basicAuthFilter } from './basic-auth-filter.js';
import { ModifierChain } from './chain.js';
import { disallowHeader } from './disallow-header.js';
import { disallowUrl } from './disallow-url.js';
import { headerLimiter } from './header-limiter.js';
import { goTrimSpace, type Modifier } from './modifier.js';
import { paramLimiter } from './param-limiter.js';
import { Prettifier } from './prettify.js';
import { rewriteHeader } from './rewrite-header.js';
import { rewriteUrl } from './rewrite-url.js';
import { setHeaders, setsHostHeader } from './set-header.js';
import { setParams } from './set-param.js';

export { ModifierChain } from './chain.js';
export { modifierFlags } from './flags.js';
export type { Modifier } from './modifier.js';
export { Prettifier } from './prettify.js';

/** gor's order. Each entry builds one modifier from all the values of its flag. */
export const MODIFIER_ORDER: readonly (readonly [flag: string, build: (values: readonly string[]) => Modifier])[] = [
  ['http-allow-method', allowMethod],
  ['http-set-header', setHeaders],
  ['http-set-param', setParams],
  ['http-allow-url', allowUrl],
  ['http-disallow-url', disallowUrl],
  ['http-allow-header', allowHeader],
  ['http-disallow-header', disallowHeader],
  ['http-basic-auth-filter', basicAuthFilter],
  ['http-header-limiter', headerLimiter],
  ['http-param-limiter', paramLimiter],
  ['http-rewrite-url', rewriteUrl],
  ['http-rewrite-header', rewriteHeader],
];

/** Values per flag, in the order given on the command line. */
export type ModifierValues = Readonly<Partial<Record<string, readonly string[]>>>;

/** Builds the modifier chain from flag values; null when no `--http-*` modifier is given. Throws usage errors. */
export function buildModifierChain(values: ModifierValues): ModifierChain | null {
  const modifiers: Modifier[] = [];
  for (const [flag, build] of MODIFIER_ORDER) {
    const list = values[flag] ?? [];
    if (list.length > 0) modifiers.push(build(list));
  }
  return modifiers.length > 0 ? new ModifierChain(modifiers) : null;
}

export interface Modifiers {
  /** For PipelineOptions.processors, in order (empty when nothing is configured). */
  readonly processors: Processor[];
  readonly chain: ModifierChain | null;
  readonly prettifier: Prettifier | null;
  /** With --prettify-http: to run on the stream before a middleware (gor prettifies there too). */
  readonly beforeMiddleware: Transform | undefined;
  /** Counters for the summary and --stats, or undefined when nothing is configured. */
  stats(): Record<string, number> | undefined;
}

/**
 * Reads the `--http-*` and `--prettify-http` flags. Throws a usage error (exit 2) naming the bad flag value;
 * values that are valid but almost surely a mistake (a rewrite naming a group its regexp lacks) are warned of.
 */
export function buildModifiers(flags: FlagSet, log?: Logger): Modifiers {
  const values: Record<string, string[]> = {};
  for (const [flag] of MODIFIER_ORDER) values[flag] = flags.list(flag);
  const chain = buildModifierChain(values);
  if (chain && log) chain.notice = (message) => log.warn(message);
  for (const warning of chain?.modifiers.flatMap((m) => m.warnings ?? []) ?? []) log?.warn(warning);
  for (const warning of replacementCharWarnings(values)) log?.warn(warning);
  for (const warning of hostEditsIgnored(flags, values)) log?.warn(warning);
  const prettifier = flags.bool('prettify-http') ? new Prettifier() : null;
  const processors: Processor[] = [];
  if (chain) processors.push(chain.process);
  if (prettifier) processors.push(prettifier.process);
  return {
    processors,
    chain,
    prettifier,
    beforeMiddleware: prettifier?.beforeMiddleware,
    stats() {
      if (!chain && !prettifier) return undefined;
      return { ...chain?.stats(), ...prettifier?.stats() };
    },
  };
}

/**
 * Node reads each command-line argument as UTF-8 and puts U+FFFD in place of bytes that are not: a value typed
 * in Latin-1 (`$'X-Name: Jos\xe9'`) reaches tapline as `Jos\ufffd` and would be written as EF BF BD, where gor
 * writes the byte as given (and refuses such a regexp). The raw bytes are gone by then, so this is said.
 */
export function replacementCharWarnings(values: ModifierValues): string[] {
  return Object.entries(values).flatMap(([flag, list]) =>
    (list ?? [])
      .filter((value) => value.includes('\ufffd'))
      .map(
        (value) =>
          `--${flag} ${JSON.stringify(redactFlagValue(flag, value))}: holds U+FFFD (\ufffd), which is what a byte that is not UTF-8 ` +
          'becomes when a command-line argument is read; it is used as U+FFFD (EF BF BD in a request, and in a ' +
          'regexp it matches any byte that is not UTF-8): a byte that is not UTF-8 cannot be given on the command ' +
          'line (in a URL, percent-encode it: %E9)',
      ),
  );
}

/**
 * `--http-rewrite-header 'Host: …'`, or a `--http-set-header 'host: …'` (any case but `Host`), edits the request,
 * but --output-http sends the target's host as Host unless --http-original-host (or a --http-set-header named
 * exactly Host) keeps the request's own, as in gor: the edit then shows only in the other outputs (a file,
 * stdout), and the replayed requests carry no sign of it.
 */
export function hostEditsIgnored(flags: FlagSet, values: ModifierValues): string[] {
  if (flags.list('output-http').length === 0 || flags.bool('http-original-host')) return [];
  if (setsHostHeader(values['http-set-header'] ?? [])) return [];
  const named = (flag: string) =>
    (values[flag] ?? []).filter((v) => goTrimSpace(v.slice(0, v.indexOf(':'))).toLowerCase() === 'host');
  const rewrite = named('http-rewrite-header')[0];
  const lines = named('http-set-header').map(
    (v) =>
      `--http-set-header ${JSON.stringify(v)}: --output-http sends the target's host as Host, not the request's, ` +
      'unless a --http-set-header is named exactly "Host" (the case counts, as in gor): the replayed requests do ' +
      "not carry this value (other outputs do); write 'Host: …' to send it",
  );
  if (rewrite !== undefined) {
    lines.push(
      `--http-rewrite-header ${JSON.stringify(rewrite)}: --output-http sends the target's host as Host, not the ` +
        "request's, so the replayed requests do not carry this rewrite (other outputs do); add " +
        '--http-original-host to send the rewritten Host, as in gor',
    );
  }
  return lines;
}

/** Why a rewrite drops a request: a filter's drops need no explanation. */
const DROP_REASON: Readonly<Record<string, string>> = {
  'http-rewrite-url': ' (rewritten to an empty target or one not starting with /)',
};

/** One summary line: `filters: http-allow-url dropped 3, responses of dropped requests 3`. */
export function describeModifierStats(stats: Record<string, number>): string {
  const parts = Object.entries(stats)
    .filter(([, n]) => n > 0)
    .map(([key, n]) =>
      key.startsWith('http-') ? `--${key} dropped ${n}${DROP_REASON[key] ?? ''}` : `${key.replace(/_/g, ' ')} ${n}`,
    );
  return `filters: ${parts.length > 0 ? parts.join(', ') : 'nothing dropped'}`;
}
