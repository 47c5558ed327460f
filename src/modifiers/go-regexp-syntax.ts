/**
 * Go (RE2) regexp syntax → an equivalent JavaScript RegExp source (always compiled with the `u` flag).
 *
 * gor compiles every `--http-*` pattern with Go's `regexp.Compile`. Both engines are leftmost-first, so most
 * patterns mean the same in both once spelled in JS syntax, but many details differ. This translator walks the
 * Go syntax (the rules of Go's regexp/syntax parser in Perl mode) and writes JS that matches exactly what Go
 * matches; where no exact JS spelling exists it throws `GoRegexpError` naming the construct, so a pattern never
 * silently means something else. What it takes care of:
 *
 *   Go                         JS written                   why
 *   \s  \S                     [\t\n\f\r ]  (complement)    JS \s is Unicode and includes \v
 *   \d \w \D \W \b \B          ASCII ranges / \b            Go's are ASCII
 *   .                          [^\n]  or [^] under (?s)     JS . also stops at \r, U+2028, U+2029
 *   ^ $ under (?m)             (?<![^\n]) (?![^\n])         JS multiline also breaks lines at \r, U+2028, U+2029
 *   \A \z                      ^ $                          (JS has no \A \z; no m flag is ever used)
 *   (?P<n>x) (?<n>x)           (x) + a name table           Go allows names JS does not (`1x`)
 *   (?i) at the start          the i flag                   scoped (?i:…) is expanded by hand for ASCII
 *   (?U)                       laziness swapped             JS has no ungreedy flag
 *   [[:alpha:]] \pL \p{Greek}  ranges, \p{L}, \p{Script=…}  Go's \pC excludes unassigned code points
 *   \W [^…] under (?i)         negated classes, (?!…)[^]    Go folds then negates; JS's i flag would let
 *                                                           U+017F/U+212A pull s and k into a complement
 *   \Q…\E, \123, \x{1F600}     \u{…} escapes                octal and \Q do not exist in JS u-mode
 *   \x{FFFD} \pC on a bad byte  (?:[\u{dc80}-\u{dcff}]|…)     Go reads an invalid byte as U+FFFD; here it is a
 *                                                           lone surrogate (go-string.ts), Cs to JS
 *   x{2,1001}, \1, (?=…), \Z   errors, as in Go             RE2 has no back-references or look-around
 *
 * Capture groups nested in a repeated group are reported (`capturesInRepeat`): JS clears them at each repetition
 * and Go keeps the last value, so a replacement must not refer to them (callers check).
 */

export class GoRegexpError extends Error {
  constructor(
    message: string,
    /** The part of the pattern at fault, e.g. `(?=`. */
    readonly construct: string,
  ) {
    super(message);
    this.name = 'GoRegexpError';
  }
}

export interface GoTranslation {
  /** JS RegExp source, to compile with `flags`. */
  readonly source: string;
  /** `u`, or `iu` when the pattern starts with `(?i)`. */
  readonly flags: string;
  /** Number of capture groups (Go's NumSubexp). */
  readonly groups: number;
  /** Group names → group index (Go's SubexpNames). */
  readonly names: ReadonlyMap<string, number>;
  /** Groups nested inside a group repeated more than once: their values differ between Go and JS. */
  readonly capturesInRepeat: ReadonlySet<number>;
  /** The same pattern as a token stream, for the linear-time matcher (go-regexp-vm.ts). */
  readonly tokens: readonly GoToken[];
}

/**
 * What the translator wrote, piece by piece: `source` is these tokens' JS text concatenated. An atom matches one
 * code point (a literal, a class, `.`); an assertion matches none (`^`, `\b`, `(?<![^\n])`…); both are JS
 * source to be compiled with `flags`.
 */
export type GoToken =
  | { readonly kind: 'atom'; readonly source: string }
  | { readonly kind: 'assertion'; readonly source: string }
  | { readonly kind: 'alternation' }
  | { readonly kind: 'open'; readonly capture: number | undefined }
  | { readonly kind: 'close' }
  | { readonly kind: 'repeat'; readonly min: number; readonly max: number; readonly lazy: boolean };

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  U: boolean;
}

interface Frame {
  saved: Flags;
  /** The group's own capture index, if it captures. */
  own: number | undefined;
  /** Captures nested inside this group, to mark them when the group is repeated. */
  captures: number[];
  /** The largest `need` (see Translator.lastNeed) of the items before the last one in this group. */
  need: number;
}

type Range = [number, number];

const MAX_CODE_POINT = 0x10ffff;
const MAX_REPEAT = 1000;

const DIGIT: Range[] = [[0x30, 0x39]];
const WORD: Range[] = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x5f, 0x5f],
  [0x61, 0x7a],
];
/** Go's \s: tab, newline, form feed, carriage return, space (no \v). */
const SPACE: Range[] = [
  [0x09, 0x0a],
  [0x0c, 0x0d],
  [0x20, 0x20],
];

const PERL_CLASSES: Record<string, Range[]> = { d: DIGIT, w: WORD, s: SPACE };

/** Go's ASCII (POSIX) classes, `[[:name:]]`. */
const POSIX_CLASSES: Record<string, Range[]> = {
  alnum: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  alpha: [
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  ascii: [[0x00, 0x7f]],
  blank: [
    [0x09, 0x09],
    [0x20, 0x20],
  ],
  cntrl: [
    [0x00, 0x1f],
    [0x7f, 0x7f],
  ],
  digit: DIGIT,
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [
    [0x21, 0x2f],
    [0x3a, 0x40],
    [0x5b, 0x60],
    [0x7b, 0x7e],
  ],
  space: [
    [0x09, 0x0d],
    [0x20, 0x20],
  ],
  upper: [[0x41, 0x5a]],
  word: WORD,
  xdigit: [
    [0x30, 0x39],
    [0x41, 0x46],
    [0x61, 0x66],
  ],
};

/** Go's unicode.Categories names. `C` is special: Go's excludes unassigned code points (Cn), JS's does not. */
const CATEGORIES = new Set(
  'L Lu Ll Lt Lm Lo M Mn Mc Me N Nd Nl No P Pc Pd Ps Pe Pi Pf Po S Sm Sc Sk So Z Zs Zl Zp Cc Cf Co Cs'.split(' '),
);
const GO_C = '\\p{Cc}\\p{Cf}\\p{Co}\\p{Cs}';

function complement(ranges: readonly Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of sorted) {
    if (lo > next) out.push([next, lo - 1]);
    next = Math.max(next, hi + 1);
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT]);
  return out;
}

/** Go's simple-fold orbit for ASCII letters: k and s also fold to KELVIN SIGN and LATIN SMALL LETTER LONG S. */
function foldAscii(ranges: readonly Range[]): Range[] {
  const out: Range[] = [...ranges];
  for (const [lo, hi] of ranges) {
    for (let c = Math.max(lo, 0x41); c <= Math.min(hi, 0x7a); c++) {
      const lower = c | 0x20;
      if (lower < 0x61 || lower > 0x7a || (c > 0x5a && c < 0x61)) continue;
      out.push([c ^ 0x20, c ^ 0x20]);
      if (lower === 0x6b) out.push([0x212a, 0x212a]);
      if (lower === 0x73) out.push([0x17f, 0x17f]);
    }
  }
  return out;
}

function hasCase(cp: number): boolean {
  const ch = String.fromCodePoint(cp);
  return ch.toLowerCase() !== ch || ch.toUpperCase() !== ch;
}

function escapeCodePoint(cp: number): string {
  const isWordAscii = (cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a);
  return isWordAscii ? String.fromCharCode(cp) : `\\u{${cp.toString(16)}}`;
}

function rangeSource([lo, hi]: Range): string {
  return lo === hi ? escapeCodePoint(lo) : `${escapeCodePoint(lo)}-${escapeCodePoint(hi)}`;
}

function classSource(ranges: readonly Range[], extras: readonly string[], negated: boolean): string {
  return `[${negated ? '^' : ''}${ranges.map(rangeSource).join('')}${extras.join('')}]`;
}

/** The lone surrogates go-string.ts gives invalid UTF-8 bytes (U+DC80 + byte): one per invalid byte. */
const INVALID_BYTES = '[\\u{dc80}-\\u{dcff}]';
/** An atom that is one literal character, written `\u{…}`. */
const LITERAL_ESCAPE = /^\\u\{([0-9a-f]+)\}$/;

/**
 * Go reads an invalid UTF-8 byte as U+FFFD, so a character class matches such a byte exactly when it holds
 * U+FFFD: `\PC`, `\p{So}`, `[^\x{FFFD}]`, `\x{FFFD}` itself. Here the byte is a lone surrogate (go-string.ts),
 * which JS classes sort by the surrogate's own properties (`\pC` would take it: a surrogate is Cs). An atom whose
 * answer for those surrogates is not its answer for U+FFFD is rewritten so that it is; the two alternatives
 * exclude each other, so a repeated atom gives V8 no more ways to backtrack. Most atoms need nothing.
 */
function invalidBytesAsFffd(source: string, flags: string): string {
  if (/^[0-9A-Za-z]$/.test(source)) return source;
  const literal = LITERAL_ESCAPE.exec(source);
  const cp = literal ? Number.parseInt(literal[1]!, 16) : -1;
  if (literal && cp !== 0xfffd && (cp < 0xd800 || cp > 0xdfff)) return source; // most literals: nothing to check
  const one = new RegExp(`^(?:${source})$`, flags);
  const fffd = one.test('\ufffd');
  let same = true;
  for (let u = 0xdc80; u <= 0xdcff && same; u++) same = one.test(String.fromCharCode(u)) === fffd;
  if (same) return source;
  const other = `(?!${INVALID_BYTES})${source}`;
  return fffd ? `(?:${INVALID_BYTES}|${other})` : `(?:${other})`;
}

function isOctal(ch: string | undefined): boolean {
  return ch !== undefined && ch >= '0' && ch <= '7';
}

function isAsciiAlnum(ch: string): boolean {
  return /^[0-9A-Za-z]$/.test(ch);
}

/** Translates one Go pattern. Throws GoRegexpError for syntax Go rejects and for meaning JS cannot reproduce. */
export function translateGoRegexp(pattern: string): GoTranslation {
  return new Translator(pattern).run();
}

class Translator {
  private readonly chars: string[];
  private pos = 0;
  private out = '';
  private flags: Flags = { i: false, m: false, s: false, U: false };
  private globalI = false;
  private readonly stack: Frame[] = [];
  private groups = 0;
  private readonly names = new Map<string, number>();
  private readonly capturesInRepeat = new Set<number>();
  private readonly tokens: GoToken[] = [];
  /**
   * Go's limit on nested repeats (repeatIsValid): how many copies of its innermost part the last item makes, 0
   * when a `*` or `{0}` inside it ends the count, as in Go. Folded into its group's `need` once the next item starts.
   */
  private lastNeed = 0;
  /** Atom sources as written → as emitted (invalidBytesAsFffd). */
  private readonly atomSources = new Map<string, string>();
  /** What a following quantifier would repeat: nothing, a plain atom, a group (with its captures), or a repeat. */
  private last: { kind: 'none' } | { kind: 'atom' } | { kind: 'group'; captures: number[] } | { kind: 'repeat' } = {
    kind: 'none',
  };

  constructor(private readonly pattern: string) {
    this.chars = [...pattern]; // code points, so astral characters are one unit
  }

  run(): GoTranslation {
    // A leading (?i…) flag group makes the whole pattern case-insensitive: JS's i flag does the same job.
    const lead = /^\(\?([imsU]*)\)/.exec(this.pattern);
    if (lead?.[1]?.includes('i')) this.globalI = true;

    while (this.pos < this.chars.length) this.step();
    if (this.stack.length > 0) throw new GoRegexpError('missing closing )', this.pattern);
    return {
      source: this.out,
      flags: this.globalI ? 'iu' : 'u',
      groups: this.groups,
      names: this.names,
      capturesInRepeat: this.capturesInRepeat,
      tokens: this.tokens,
    };
  }

  private peek(offset = 0): string | undefined {
    return this.chars[this.pos + offset];
  }

  private fail(message: string, construct: string): never {
    throw new GoRegexpError(message, construct);
  }

  /** The last item is complete: its group keeps its count (see lastNeed). */
  private fold(): void {
    const frame = this.stack.at(-1);
    if (frame) frame.need = Math.max(frame.need, this.lastNeed);
    this.lastNeed = 0;
  }

  private emitAtom(written: string): void {
    this.fold();
    // A pattern repeats its atoms (\w\w\w…): each distinct one is checked once.
    let source = this.atomSources.get(written);
    if (source === undefined) {
      source = invalidBytesAsFffd(written, this.globalI ? 'iu' : 'u');
      this.atomSources.set(written, source);
    }
    this.out += source;
    this.tokens.push({ kind: 'atom', source });
    this.last = { kind: 'atom' };
  }

  private emitAssertion(source: string): void {
    this.fold();
    // Wrapped so that a quantifier after it (legal in Go: `^*`) stays legal in JS.
    this.out += `(?:${source})`;
    this.tokens.push({ kind: 'assertion', source: `(?:${source})` });
    this.last = { kind: 'atom' };
  }

  private step(): void {
    const c = this.chars[this.pos]!;
    switch (c) {
      case '(':
        this.openGroup();
        return;
      case ')':
        this.closeGroup();
        return;
      case '|':
        this.fold();
        this.pos++;
        this.out += '|';
        this.tokens.push({ kind: 'alternation' });
        this.last = { kind: 'none' };
        return;
      case '*':
      case '+':
      case '?':
        this.pos++;
        this.repeat(c, c === '+' ? 1 : 0, c === '?' ? 1 : Number.POSITIVE_INFINITY);
        return;
      case '{': {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(this.chars.slice(this.pos, this.pos + 24).join(''));
        if (!m) break; // not a repeat: a literal '{', as in Go
        const min = Number(m[1]);
        const max = m[2] === undefined ? min : m[3] === '' ? Number.POSITIVE_INFINITY : Number(m[3]);
        if (min > MAX_REPEAT || (Number.isFinite(max) && max > MAX_REPEAT) || max < min) {
          this.fail(`invalid repeat count ${m[0]} (Go allows at most ${MAX_REPEAT}, and min ≤ max)`, m[0]);
        }
        this.pos += m[0].length;
        this.repeat(m[0], min, max);
        return;
      }
      case '.':
        this.pos++;
        this.emitAtom(this.flags.s ? '[^]' : '[^\\n]');
        return;
      case '^':
        this.pos++;
        this.emitAssertion(this.flags.m ? '(?<![^\\n])' : '^');
        return;
      case '$':
        this.pos++;
        this.emitAssertion(this.flags.m ? '(?![^\\n])' : '$');
        return;
      case '[':
        this.parseClass();
        return;
      case '\\':
        this.topEscape();
        return;
    }
    this.pos++;
    this.literal(c.codePointAt(0)!);
  }

  private literal(cp: number): void {
    this.checkCase();
    if (this.flags.i && !this.globalI && hasCase(cp)) {
      if (cp > 0x7f) {
        this.fail(
          `(?i) in the middle of a pattern on the non-ASCII letter ${String.fromCodePoint(cp)}: put (?i) at the very start instead`,
          String.fromCodePoint(cp),
        );
      }
      this.emitAtom(classSource(foldAscii([[cp, cp]]), [], false));
      return;
    }
    this.emitAtom(escapeCodePoint(cp));
  }

  /** Under a global i flag, a part that must be case-sensitive cannot be written in JS. */
  private checkCase(): void {
    if (this.globalI && !this.flags.i) {
      this.fail('(?-i) after a leading (?i) cannot be expressed; use (?i:…) around the insensitive part', '(?-i)');
    }
  }

  private repeat(op: string, min: number, max: number): void {
    if (this.last.kind === 'none') this.fail(`missing argument to repetition operator ${op}`, op);
    if (this.last.kind === 'repeat') this.fail(`invalid nested repetition operator ${op}`, op);
    let lazy = false;
    if (this.peek() === '?') {
      lazy = true;
      this.pos++;
    }
    if (this.flags.U) lazy = !lazy;
    // Go's repeatIsValid: with the repeats inside it, a repeat may make at most 1000 copies of anything.
    const copies = Number.isFinite(max) ? max : min;
    const need = copies === 0 ? 0 : copies * Math.max(1, this.lastNeed);
    if ((min >= 2 || max >= 2) && need > MAX_REPEAT) {
      this.fail(
        `invalid repeat count ${op}: with the repeats inside it, it makes ${need} copies of its innermost part ` +
          `(Go allows at most ${MAX_REPEAT} in all)`,
        op,
      );
    }
    this.lastNeed = need;
    if (this.last.kind === 'group' && max > 1) {
      for (const index of this.last.captures) this.capturesInRepeat.add(index);
    }
    this.out += op + (lazy ? '?' : '');
    this.tokens.push({ kind: 'repeat', min, max, lazy });
    this.last = { kind: 'repeat' };
  }

  private openGroup(): void {
    const rest = this.chars.slice(this.pos, this.pos + 3).join('');
    if (rest.startsWith('(?=') || rest.startsWith('(?!')) {
      this.fail('look-ahead (?= and (?! is not Go regexp syntax', rest);
    }
    if (rest.startsWith('(?<=') || (rest === '(?<' && (this.peek(3) === '=' || this.peek(3) === '!'))) {
      this.fail('look-behind (?<= and (?<! is not Go regexp syntax', `(?<${this.peek(3)}`);
    }
    if (rest === '(?P' || rest === '(?<') {
      this.openNamedGroup();
      return;
    }
    if (rest.startsWith('(?')) {
      this.parseFlags();
      return;
    }
    this.pos++;
    const index = ++this.groups;
    this.pushFrame(index);
    this.out += '(';
    this.tokens.push({ kind: 'open', capture: index });
  }

  private pushFrame(capture?: number): void {
    this.fold();
    this.stack.push({ saved: { ...this.flags }, own: capture, captures: [], need: 0 });
    this.last = { kind: 'none' };
  }

  private openNamedGroup(): void {
    const text = this.chars.slice(this.pos).join('');
    const m = /^\(\?P?<([^>]*)>/.exec(text);
    if (!m || (text.startsWith('(?P') && !text.startsWith('(?P<'))) {
      this.fail('invalid named capture (Go has no (?P= or (?P> back-references)', text.slice(0, 4));
    }
    const name = m[1]!;
    if (!/^[A-Za-z0-9_]+$/.test(name)) this.fail(`invalid named capture name ${JSON.stringify(name)}`, m[0]);
    if (this.names.has(name)) this.fail(`duplicate capture group name ${JSON.stringify(name)}`, m[0]);
    this.pos += [...m[0]].length;
    const index = ++this.groups;
    this.names.set(name, index);
    this.pushFrame(index);
    // Named groups become plain groups: replacement templates are expanded by tapline with the name table.
    this.out += '(';
    this.tokens.push({ kind: 'open', capture: index });
  }

  /** `(?flags)` or `(?flags:` — Go's parsePerlFlags. */
  private parseFlags(): void {
    const start = this.pos;
    this.pos += 2;
    const flags = { ...this.flags };
    let negate = false;
    let sawFlag = false;
    while (this.pos < this.chars.length) {
      const c = this.chars[this.pos++]!;
      if (c === 'i' || c === 'm' || c === 's' || c === 'U') {
        flags[c] = !negate;
        sawFlag = true;
        continue;
      }
      if (c === '-' && !negate) {
        negate = true;
        sawFlag = false;
        continue;
      }
      if ((c === ':' || c === ')') && !(negate && !sawFlag)) {
        if (c === ':') {
          this.pushFrame();
          this.out += '(?:';
          this.tokens.push({ kind: 'open', capture: undefined });
        }
        this.flags = flags;
        this.checkCase();
        return;
      }
      break;
    }
    const construct = this.chars.slice(start, this.pos).join('');
    this.fail(`invalid or unsupported Perl operator ${construct} (Go accepts only the flags i, m, s, U)`, construct);
  }

  private closeGroup(): void {
    this.pos++;
    this.fold();
    const frame = this.stack.pop();
    if (!frame) this.fail('unexpected ) without a matching (', ')');
    this.lastNeed = frame.need;
    this.flags = frame.saved;
    const parent = this.stack.at(-1)?.captures;
    if (parent) {
      if (frame.own !== undefined) parent.push(frame.own);
      parent.push(...frame.captures);
    }
    this.out += ')';
    this.tokens.push({ kind: 'close' });
    // A repeated group's own capture keeps its last value in both engines; only the ones nested inside differ.
    this.last = { kind: 'group', captures: frame.captures };
  }

  private topEscape(): void {
    const c = this.peek(1);
    if (c === undefined) this.fail('trailing backslash at end of expression', '\\');
    switch (c) {
      case 'A':
        this.pos += 2;
        this.emitAssertion('^');
        return;
      case 'z':
        this.pos += 2;
        this.emitAssertion('$');
        return;
      case 'b':
      case 'B':
        this.pos += 2;
        this.emitAssertion(`\\${c}`);
        return;
      case 'Q': {
        this.pos += 2;
        let end = this.chars.indexOf('\\', this.pos);
        while (end !== -1 && this.chars[end + 1] !== 'E') end = this.chars.indexOf('\\', end + 1);
        const stop = end === -1 ? this.chars.length : end;
        for (; this.pos < stop; this.pos++) this.literal(this.chars[this.pos]!.codePointAt(0)!);
        if (end !== -1) this.pos += 2;
        return;
      }
      case 'C':
        this.fail('\\C (any byte) is not supported by Go regexp', '\\C');
        break;
      case 'Z':
        this.fail('\\Z is not Go regexp syntax (use \\z)', '\\Z');
        break;
    }
    const klass = this.tryClassEscape();
    if (klass) {
      this.checkCase();
      this.emitAtom(klass.negated ? this.negatedClassAtom(klass) : classSource(klass.ranges, klass.extras, false));
      return;
    }
    this.literal(this.escapedChar());
  }

  private negatedClassAtom(k: ClassItem): string {
    // A negated class, never complement ranges: under JS's i flag a range list containing U+017F or U+212A
    // would also match s and k (they fold together), while Go negates after folding.
    return classSource(k.ranges, k.extras, true);
  }

  /** `\d \D \s \S \w \W \pX \PX \p{…}` at the current position, or null. Advances past it when found. */
  private tryClassEscape(): ClassItem | null {
    const c = this.peek(1);
    if (c !== undefined && 'dDsSwW'.includes(c)) {
      this.pos += 2;
      let ranges = PERL_CLASSES[c.toLowerCase()]!;
      if (this.flags.i && !this.globalI) ranges = foldAscii(ranges);
      return { ranges, extras: [], negated: c !== c.toLowerCase() };
    }
    if (c === 'p' || c === 'P') return this.unicodeClass(c === 'P');
    return null;
  }

  private unicodeClass(negatedByP: boolean): ClassItem {
    const start = this.pos;
    this.pos += 2;
    let name: string;
    if (this.peek() === '{') {
      const close = this.chars.indexOf('}', this.pos);
      if (close === -1) this.fail('invalid character class range: missing }', this.chars.slice(start).join(''));
      name = this.chars.slice(this.pos + 1, close).join('');
      this.pos = close + 1;
    } else {
      const letter = this.peek();
      if (letter === undefined) this.fail('invalid character class range', this.chars.slice(start).join(''));
      name = letter;
      this.pos++;
    }
    const construct = this.chars.slice(start, this.pos).join('');
    let negated = negatedByP;
    if (name.startsWith('^')) {
      negated = !negated;
      name = name.slice(1);
    }
    if (this.flags.i && !this.globalI) {
      this.fail(`${construct} under a (?i) that is not at the start of the pattern cannot be translated`, construct);
    }
    if (name === 'Any') return { ranges: negated ? [] : [[0, MAX_CODE_POINT]], extras: [], negated: false };
    if (name === 'C') return { ranges: [], extras: [GO_C], negated, multi: true };
    let source: string;
    if (CATEGORIES.has(name)) source = `\\p{${name}}`;
    else if (/^[A-Z][A-Za-z_]*$/.test(name)) source = `\\p{Script=${name}}`;
    else this.fail(`invalid character class range ${construct}: unknown Unicode class`, construct);
    try {
      new RegExp(source, 'u');
    } catch {
      this.fail(`invalid character class range ${construct}: unknown Unicode class`, construct);
    }
    return { ranges: [], extras: [source], negated };
  }

  /** One escaped character (Go's parseEscape); `this.pos` is at the backslash. */
  private escapedChar(): number {
    const start = this.pos;
    const c = this.chars[this.pos + 1]!;
    this.pos += 2;
    const simple: Record<string, number> = { a: 7, f: 12, t: 9, n: 10, r: 13, v: 11 };
    if (simple[c] !== undefined) return simple[c]!;
    if (c >= '1' && c <= '7' && !isOctal(this.peek())) {
      this.fail(`invalid escape sequence \\${c}: Go regexp has no back-references`, `\\${c}`);
    }
    if (c >= '0' && c <= '7') {
      let value = Number(c);
      for (let k = 1; k < 3 && isOctal(this.peek()); k++) value = value * 8 + Number(this.chars[this.pos++]);
      return value;
    }
    if (c === 'x') {
      if (this.peek() === '{') {
        const close = this.chars.indexOf('}', this.pos);
        const hex = close === -1 ? '' : this.chars.slice(this.pos + 1, close).join('');
        if (!/^[0-9A-Fa-f]+$/.test(hex) || Number.parseInt(hex, 16) > MAX_CODE_POINT) {
          this.fail('invalid escape sequence \\x{…}', this.chars.slice(start, close + 1).join(''));
        }
        this.pos = close + 1;
        return Number.parseInt(hex, 16);
      }
      const hex = this.chars.slice(this.pos, this.pos + 2).join('');
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) this.fail('invalid escape sequence \\x', `\\x${hex}`);
      this.pos += 2;
      return Number.parseInt(hex, 16);
    }
    const cp = c.codePointAt(0)!;
    if (cp < 0x80 && !isAsciiAlnum(c)) return cp; // escaped punctuation is itself
    this.fail(`invalid escape sequence \\${c}`, `\\${c}`);
  }

  /** A bracket class (Go's parseClass). */
  private parseClass(): void {
    this.checkCase();
    const start = this.pos;
    this.pos++;
    let negated = false;
    if (this.peek() === '^') {
      negated = true;
      this.pos++;
    }
    const ranges: Range[] = [];
    const extras: string[] = [];
    /** Negated items (\W, [:^alpha:], \PL) that cannot join `ranges` exactly; they become alternatives. */
    const negatedItems: ClassItem[] = [];
    const addNegated = (k: ClassItem) => {
      // Without the JS i flag a complement is exact. With it, complement ranges that contain U+017F or U+212A
      // would match s and k too, so the item stays a separate negated class.
      if (this.globalI || k.multi) negatedItems.push(k);
      else if (k.extras.length === 0) ranges.push(...complement(k.ranges));
      else extras.push(...k.extras.map((e) => e.replace('\\p', '\\P')));
    };
    let first = true;
    const fold = this.flags.i && !this.globalI;
    while (this.peek() !== ']' || first) {
      if (this.peek() === undefined) this.fail('missing closing ]', this.chars.slice(start).join(''));
      first = false;
      // POSIX class [:name:] / [:^name:]
      if (this.peek() === '[' && this.peek(1) === ':') {
        const text = this.chars.slice(this.pos).join('');
        const m = /^\[:(\^?)([a-z]*):\]/.exec(text);
        if (m) {
          const set = POSIX_CLASSES[m[2]!];
          if (!set) this.fail(`invalid character class range ${m[0]}`, m[0]);
          const folded = fold ? foldAscii(set) : set;
          if (m[1]) addNegated({ ranges: folded, extras: [], negated: true });
          else ranges.push(...folded);
          this.pos += m[0].length;
          continue;
        }
      }
      if (this.peek() === '\\') {
        const k = this.tryClassEscape();
        if (k) {
          if (k.negated) addNegated(k);
          else {
            ranges.push(...k.ranges);
            extras.push(...k.extras);
          }
          continue;
        }
      }
      const lo = this.classChar();
      let hi = lo;
      if (this.peek() === '-' && this.peek(1) !== ']' && this.peek(1) !== undefined) {
        this.pos++;
        hi = this.classChar();
        if (hi < lo) {
          this.fail(
            `invalid character class range ${String.fromCodePoint(lo)}-${String.fromCodePoint(hi)}`,
            this.chars.slice(start, this.pos).join(''),
          );
        }
      }
      if (fold && hi > 0x7f) {
        for (let cp = Math.max(lo, 0x80); cp <= Math.min(hi, 0x2000); cp++) {
          if (hasCase(cp)) {
            this.fail(
              '(?i) in the middle of a pattern on a class with non-ASCII letters: put (?i) at the very start instead',
              this.chars.slice(start, this.pos).join(''),
            );
          }
        }
        if (hi > 0x2000) {
          this.fail(
            '(?i) in the middle of a pattern on a class with non-ASCII letters: put (?i) at the very start instead',
            this.chars.slice(start, this.pos).join(''),
          );
        }
      }
      ranges.push([lo, hi]);
    }
    this.pos++; // ]
    const all = fold ? foldAscii(ranges) : ranges;
    if (negatedItems.length === 0) {
      this.emitAtom(classSource(all, extras, negated));
      return;
    }
    // [a\W] → (?:[a]|[^\w]);  [^a\W] → (?:(?!(?:[a]|[^\w]))[^]): Go folds, unites, then negates.
    const alternatives = negatedItems.map((k) => classSource(k.ranges, k.extras, true));
    if (all.length > 0 || extras.length > 0) alternatives.unshift(classSource(all, extras, false));
    const union = `(?:${alternatives.join('|')})`;
    this.emitAtom(negated ? `(?:(?!${union})[^])` : union);
  }

  private classChar(): number {
    if (this.peek() === '\\') {
      const c = this.peek(1);
      if (c === undefined) this.fail('trailing backslash at end of expression', '\\');
      return this.escapedChar();
    }
    return this.chars[this.pos++]!.codePointAt(0)!;
  }
}

interface ClassItem {
  ranges: Range[];
  /** `\p{…}` sources that cannot be written as ranges. */
  extras: string[];
  negated: boolean;
  /** An extra made of several properties (Go's \pC): it cannot be negated inside a class. */
  multi?: boolean;
}
