/**
 * A Go regexp for the `--http-*` flags: compiled from Go syntax (see go-regexp-syntax.ts), matched against raw
 * bytes the way Go matches `[]byte`, and replaced with Go's `ReplaceAll` + `Expand` rules:
 *
 *   const re = compileGoRegexp('^/v1/(?P<rest>.*)$');
 *   re.replaceAll(Buffer.from('/v1/users'), parseTemplate('/v2/${rest}'))  → '/v2/users'
 *
 * Two of Go's replacement rules differ from JS's `String.prototype.replace` and are reproduced here: an empty
 * match right after a previous match is not replaced (`a*` on `baaac` gives `XbXcX`, not `XbXXcX`), and `$name`
 * takes the longest run of letters, digits and `_` (`$1x` is the group named `1x`, which expands to nothing).
 */

import { GoRegexpError, type GoTranslation, translateGoRegexp } from './go-regexp-syntax.js';
import { backtrackCost, PikeVm } from './go-regexp-vm.js';
import { decodeGoString, encodeGoString } from './go-string.js';

export { GoRegexpError } from './go-regexp-syntax.js';

/** A parsed replacement template: literal text and group references, resolved against one regexp. */
export type TemplatePart = string | { readonly group: number | string };

export interface Template {
  readonly text: string;
  readonly parts: readonly TemplatePart[];
}

const NAME_CHAR = /[\p{L}\p{Nd}_]/u;

/**
 * Go's `Regexp.Expand` template syntax: `$$` is `$`; `$name` / `${name}` where name is the longest run of
 * letters, digits and `_`; an all-digit name without a leading zero is a group number; anything malformed
 * (`$-`, `${x`, `${}`) leaves the `$` as literal text.
 */
export function parseTemplate(text: string): Template {
  const parts: TemplatePart[] = [];
  let literal = '';
  const chars = [...text];
  let i = 0;
  while (i < chars.length) {
    const c = chars[i]!;
    if (c !== '$') {
      literal += c;
      i++;
      continue;
    }
    if (chars[i + 1] === '$') {
      literal += '$';
      i += 2;
      continue;
    }
    const brace = chars[i + 1] === '{';
    let j = i + (brace ? 2 : 1);
    const nameStart = j;
    while (j < chars.length && NAME_CHAR.test(chars[j]!)) j++;
    const name = chars.slice(nameStart, j).join('');
    const closed = !brace || chars[j] === '}';
    if (name === '' || !closed) {
      literal += '$';
      i++;
      continue;
    }
    if (literal) parts.push(literal);
    literal = '';
    parts.push({ group: groupRef(name) });
    i = j + (brace ? 1 : 0);
  }
  if (literal) parts.push(literal);
  return { text, parts };
}

/** Go's extract(): up to 9 digits without a leading zero are a number (it stops once the number reaches 1e8), anything else a name. */
function groupRef(name: string): number | string {
  if (!/^\d+$/.test(name) || (name.length > 1 && name.startsWith('0')) || name.length > 9) return name;
  return Number(name);
}

/** Either engine, as the rewrites use it: the match at or after `from`, with its groups. */
interface Engine {
  test(s: string): boolean;
  exec(s: string, from: number): { readonly index: number; readonly groups: ArrayLike<string | undefined> } | null;
}

/** V8's own engine: fast, but it backtracks (see go-regexp-vm.ts for the patterns it is not given). */
function v8Engine(source: string, flags: string): Engine {
  const once = new RegExp(source, flags);
  const all = new RegExp(source, `${flags}g`);
  return {
    test: (s) => once.test(s),
    exec(s, from) {
      all.lastIndex = from;
      const m = all.exec(s);
      return m && { index: m.index, groups: m };
    },
  };
}

/**
 * The linear VM walks the pattern's tree recursively: groups nested a few thousand deep overflow the stack, which
 * said only 'Maximum call stack size exceeded'. Go (1.19 on) refuses more than 1000 levels.
 */
function nestingChecked<T>(pattern: string, work: () => T): T {
  try {
    return work();
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    throw new GoRegexpError(
      'expression nests too deeply (Go refuses more than 1000 levels of groups; tapline cannot follow this many)',
      `its ${pattern.length} characters`,
    );
  }
}

/** V8's words when it cannot compile the pattern (it does so on first use: this is that first use), else null. */
function v8Refusal(v8: Engine): string | null {
  try {
    v8.test('');
    v8.exec('', 0);
    return null;
  } catch (err) {
    const message = (err as Error).message;
    return message.slice(message.lastIndexOf(': ') + 2);
  }
}

/**
 * Inputs short enough that V8's worst case stays small (about 2^20 steps) go to V8, which is faster there; longer
 * ones to the linear-time VM. Both give the same matches (go-regexp-vm.test.ts checks it).
 */
const V8_STEP_BUDGET = 2 ** 20;
/** Up to this many combinations of choices (`a?`, `x|y`) outside repetitions, V8 is left to itself. */
const MAX_PLAIN_BRANCHING = 64;

function guardedEngine(v8: Engine, vm: PikeVm, degree: number, branching: number): Engine {
  const budget = V8_STEP_BUDGET / branching;
  const v8Limit = Number.isFinite(degree) && budget >= 1 ? Math.floor(budget ** (1 / Math.max(degree, 1))) : 0;
  return {
    test: (s) => (s.length <= v8Limit ? v8.test(s) : vm.exec(s, 0) !== null),
    exec: (s, from) => (s.length <= v8Limit ? v8.exec(s, from) : vm.exec(s, from)),
  };
}

export class GoRegexp {
  readonly translation: GoTranslation;
  /** `v8`, or `linear` when long inputs go to the linear-time VM (patterns V8 could take minutes on). */
  readonly engine: 'v8' | 'linear';
  private readonly matcher: Engine;

  /** Throws GoRegexpError when Go would reject the pattern or JS cannot match it the same way. */
  constructor(
    readonly pattern: string,
    /** Tests only: run this engine on every input (`linear` still needs a program of reasonable size). */
    force?: 'v8' | 'linear',
  ) {
    this.translation = translateGoRegexp(pattern);
    const { source, flags, tokens, groups } = this.translation;
    const v8 = v8Engine(source, flags);
    const { degree, branching } = nestingChecked(pattern, () =>
      force === 'v8'
        ? { degree: 1, branching: 1 }
        : force === 'linear'
          ? { degree: Number.POSITIVE_INFINITY, branching: 1 }
          : backtrackCost(tokens),
    );
    const refusal = v8Refusal(v8);
    if (refusal !== null) {
      // V8 compiles on first use and refuses a large pattern there ('Regular expression too large', 'Stack
      // overflow': a literal of 35,000 characters, 4,000 groups in a row), which Go takes: the run stopped at its
      // first request with an internal error. The linear VM matches it alone, or the flag is refused at start.
      const vm = nestingChecked(pattern, () => PikeVm.compile(tokens, flags, groups));
      if (vm === null) {
        throw new GoRegexpError(
          `the pattern is too large for JavaScript's regexp engine (${refusal}); Go takes it: split it into ` +
            'several values of the flag where that means the same',
          `its ${pattern.length} characters`,
        );
      }
      this.engine = 'linear';
      this.matcher = { test: (s) => vm.exec(s, 0) !== null, exec: (s, from) => vm.exec(s, from) };
      return;
    }
    // One choice on a short input, or a few of them, cost V8 nothing worth a second engine.
    const risky = degree > 1 || branching > MAX_PLAIN_BRANCHING;
    const vm = risky ? nestingChecked(pattern, () => PikeVm.compile(tokens, flags, groups)) : null;
    this.engine = vm ? 'linear' : 'v8';
    this.matcher = vm ? guardedEngine(v8, vm, degree, branching) : v8;
  }

  /** Group index a template reference points at, or -1 (Go expands unknown names and numbers to nothing). */
  groupIndex(ref: number | string): number {
    if (typeof ref === 'number') return ref <= this.translation.groups ? ref : -1;
    return this.translation.names.get(ref) ?? -1;
  }

  /** Go's `Match`: is there a match anywhere in `bytes`? */
  matches(bytes: Buffer): boolean {
    return this.matcher.test(decodeGoString(bytes));
  }

  /** Go's `ReplaceAll(src, template)`. */
  replaceAll(bytes: Buffer, template: Template): Buffer {
    return this.replaceAllIfMatch(bytes, template) ?? encodeGoString(decodeGoString(bytes));
  }

  /**
   * `matches(bytes) ? replaceAll(bytes, template) : null`, decoding the bytes once (the rewrite modifiers ask
   * both questions of every request).
   */
  replaceAllIfMatch(bytes: Buffer, template: Template): Buffer | null {
    const src = decodeGoString(bytes);
    let out = '';
    let lastMatchEnd = 0;
    let searchPos = 0;
    while (searchPos <= src.length) {
      const m = this.matcher.exec(src, searchPos);
      if (!m) {
        if (searchPos === 0) return null;
        break;
      }
      const start = m.index;
      const end = start + m.groups[0]!.length;
      out += src.slice(lastMatchEnd, start);
      // Go: "insert a copy of the replacement string, but not for a match of the empty string immediately
      // after another match".
      if (end > lastMatchEnd || start === 0) out += this.expand(template, m.groups);
      lastMatchEnd = end;
      // Advance past this match, always by at least one character (one code point, as Go advances one rune).
      const width = searchPos < src.length ? ((src.codePointAt(searchPos) ?? 0) > 0xffff ? 2 : 1) : 1;
      if (searchPos + width > end) searchPos += width;
      else if (searchPos + 1 > end) searchPos++;
      else searchPos = end;
    }
    out += src.slice(lastMatchEnd);
    return encodeGoString(out);
  }

  private expand(template: Template, m: ArrayLike<string | undefined>): string {
    let out = '';
    for (const part of template.parts) {
      if (typeof part === 'string') out += part;
      else {
        const index = this.groupIndex(part.group);
        if (index >= 0) out += m[index] ?? '';
      }
    }
    return out;
  }
}
