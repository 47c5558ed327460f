/**
 * Go's `filepath.Glob` and `filepath.Clean` (Unix rules), which gor uses for `--input-file` patterns and for
 * finding existing `--output-file` chunks (`S*E`). Node 20 has no `fs.glob`, and the exact Go semantics matter
 * for chunk naming, so this is a small re-implementation:
 *
 *  - `*` any run of characters except `/`, `?` one character, `[abc]`, `[a-z]`, `[^a-z]` classes, `\c` escapes;
 *  - a pattern without meta characters matches itself if it exists (lstat), else nothing;
 *  - each directory level is listed once and its names are sorted byte-wise, as Go does;
 *  - a malformed pattern (`[`, `[]`, `[a-]`, a trailing `\`) is an error; unreadable directories match nothing.
 */
import { lstatSync, readdirSync, statSync } from 'node:fs';

export class GlobPatternError extends Error {}

const META = /[*?[\\]/;

export function hasGlobMeta(pattern: string): boolean {
  return META.test(pattern);
}

/** Compiles one path element of a pattern into a RegExp; throws GlobPatternError when malformed. */
export function compileGlobElement(pattern: string): RegExp {
  const chars = [...pattern]; // code points, as Go matches runes
  let re = '^';
  let i = 0;
  const bad = (why: string) => new GlobPatternError(`bad glob pattern ${JSON.stringify(pattern)}: ${why}`);
  /** Go's getEsc: one (possibly escaped) class character; `-` and `]` must be escaped. */
  const classChar = (): string => {
    let c = chars[i];
    if (c === undefined || c === '-' || c === ']') throw bad('malformed character class');
    if (c === '\\') {
      i++;
      c = chars[i];
      if (c === undefined) throw bad('trailing backslash');
    }
    i++;
    return c;
  };
  while (i < chars.length) {
    const c = chars[i]!;
    if (c === '*') {
      re += '[^/]*';
      i++;
    } else if (c === '?') {
      re += '[^/]';
      i++;
    } else if (c === '\\') {
      const next = chars[i + 1];
      if (next === undefined) throw bad('trailing backslash');
      re += escapeChar(next);
      i += 2;
    } else if (c === '[') {
      i++;
      let negated = false;
      if (chars[i] === '^') {
        negated = true;
        i++;
      }
      const ranges: string[] = [];
      let n = 0;
      for (;;) {
        if (chars[i] === ']' && n > 0) {
          i++;
          break;
        }
        const lo = classChar();
        let hi = lo;
        if (chars[i] === '-') {
          i++;
          hi = classChar();
        }
        // Go accepts lo > hi and matches nothing for that range; a JS class would throw.
        if (lo.codePointAt(0)! <= hi.codePointAt(0)!)
          ranges.push(lo === hi ? escapeChar(lo) : `${escapeChar(lo)}-${escapeChar(hi)}`);
        n++;
      }
      if (ranges.length === 0) re += negated ? '[^/]' : '(?!)';
      else re += `[${negated ? '^/' : ''}${ranges.join('')}]`;
    } else {
      re += escapeChar(c);
      i++;
    }
  }
  return new RegExp(`${re}$`, 'su');
}

function escapeChar(c: string): string {
  return `\\u{${c.codePointAt(0)!.toString(16)}}`;
}

/** Go `filepath.Match` for one name (no `/` in it). */
export function globMatch(pattern: string, name: string): boolean {
  return compileGlobElement(pattern).test(name);
}

/** Go `filepath.Clean`: `./a.gor` → `a.gor`, `a//b/../c/` → `a/c`, `` → `.`. */
export function cleanPath(path: string): string {
  if (path === '') return '.';
  const rooted = path.startsWith('/');
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(part);
  }
  const joined = out.join('/');
  if (rooted) return `/${joined}`;
  return joined === '' ? '.' : joined;
}

/** Go `filepath.Split`: everything up to and including the last `/`, and the rest. */
function splitPath(path: string): [string, string] {
  const i = path.lastIndexOf('/');
  return [path.slice(0, i + 1), path.slice(i + 1)];
}

/** Byte-wise comparison of UTF-8 strings (Go's `sort.Strings` order). */
export function compareBytes(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Checks every element of a pattern; throws GlobPatternError for a malformed one. */
export function validateGlob(pattern: string): void {
  for (const part of pattern.split('/')) if (hasGlobMeta(part)) compileGlobElement(part);
}

/** Go `filepath.Glob`: the matching paths, in Go's order. Throws GlobPatternError for a malformed pattern. */
export function globSync(pattern: string, depth = 0): string[] {
  validateGlob(pattern);
  if (!hasGlobMeta(pattern)) {
    try {
      lstatSync(pattern);
      return [pattern];
    } catch {
      return [];
    }
  }
  const [rawDir, file] = splitPath(pattern);
  const dir = rawDir === '' ? '.' : rawDir === '/' ? '/' : rawDir.slice(0, -1);
  if (!hasGlobMeta(dir)) return globDir(dir, file);
  if (dir === pattern || depth > 10_000) throw new GlobPatternError(`bad glob pattern ${JSON.stringify(pattern)}`);
  const out: string[] = [];
  for (const d of globSync(dir, depth + 1)) out.push(...globDir(d, file));
  return out;
}

function globDir(dir: string, pattern: string): string[] {
  try {
    if (!statSync(dir).isDirectory()) return [];
  } catch {
    return [];
  }
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const re = compileGlobElement(pattern);
  return names
    .filter((n) => re.test(n))
    .sort(compareBytes)
    .map((n) => cleanPath(`${dir}/${n}`));
}
