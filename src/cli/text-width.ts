/**
 * How many terminal columns text takes, for the report's tables: a route with `日本` or an emoji takes two
 * columns per such character, a combining accent none. Padding by `string.length` instead pushed every later
 * column of that row to the right (and counted an emoji, two UTF-16 units, as two even where it is one).
 *
 * The rule is the usual terminal one (wcwidth): East Asian Wide and Fullwidth characters and emoji are 2,
 * combining marks and zero-width characters 0, everything else 1. The ranges below are the main blocks, not
 * every Unicode assignment: enough for the paths and hosts traffic holds, without loading ICU (Intl.Segmenter
 * costs ~25 ms of start-up on the first call).
 */

/** [first, last] code points taking two columns. */
const WIDE: readonly (readonly [number, number])[] = [
  [0x1100, 0x115f], // Hangul Jamo initials
  [0x2e80, 0x303e], // CJK radicals, punctuation
  [0x3041, 0x33ff], // Hiragana, Katakana, CJK compatibility
  [0x3400, 0x4dbf], // CJK extension A
  [0x4e00, 0x9fff], // CJK unified ideographs
  [0xa000, 0xa4cf], // Yi
  [0xac00, 0xd7a3], // Hangul syllables
  [0xf900, 0xfaff], // CJK compatibility ideographs
  [0xfe30, 0xfe4f], // CJK compatibility forms
  [0xff00, 0xff60], // Fullwidth forms
  [0xffe0, 0xffe6],
  [0x1f300, 0x1f64f], // Pictographs, emoticons
  [0x1f900, 0x1f9ff], // Supplemental symbols and pictographs
  [0x20000, 0x3fffd], // CJK extensions B and later
];

/** [first, last] code points taking no column. */
const ZERO: readonly (readonly [number, number])[] = [
  [0x0300, 0x036f], // combining diacritical marks
  [0x200b, 0x200f], // zero-width space, joiners, direction marks
  [0xfe00, 0xfe0f], // variation selectors
];

function inRanges(cp: number, ranges: readonly (readonly [number, number])[]): boolean {
  for (const [first, last] of ranges) if (cp >= first && cp <= last) return true;
  return false;
}

function columnsOf(cp: number): number {
  if (cp < 0x300) return 1;
  if (inRanges(cp, ZERO)) return 0;
  return inRanges(cp, WIDE) ? 2 : 1;
}

/** Terminal columns `text` takes. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text) width += columnsOf(ch.codePointAt(0)!);
  return width;
}

/** `text` cut to at most `max` columns, ending in `...` when cut; never splits a character. */
export function clipToWidth(text: string, max: number): string {
  if (displayWidth(text) <= max) return text;
  let out = '';
  let width = 0;
  for (const ch of text) {
    const w = columnsOf(ch.codePointAt(0)!);
    if (width + w > max - 3) break;
    out += ch;
    width += w;
  }
  return `${out}...`;
}

/** `text` padded with spaces to `width` columns, on the right (`end`) or the left (`start`). */
export function padToWidth(text: string, width: number, side: 'start' | 'end'): string {
  const fill = ' '.repeat(Math.max(0, width - displayWidth(text)));
  return side === 'end' ? text + fill : fill + text;
}
