/**
 * `--output-file` names (spec §6.1–6.2): path template placeholders, and gor's chunk naming rules, which
 * must match byte for byte so that tapline and gor continue each other's recordings.
 *
 *   template ─(placeholders, local time)─▶ P ─(glob S*E, sort, last, index ±1)─▶ S_nE ─(Go Clean)─▶ file
 */
import { createHash, randomInt } from 'node:crypto';
import { lstatSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Message } from '../core/message.js';
import { cleanPath, compareBytes, GlobPatternError, globSync } from '../inputs/file-glob.js';

const TOKENS = /%(?:NS|[YmdHMSrti])/g;
const DATE_TOKENS = /%(?:NS|[YmdHMS])/;

/** 8 random letters `[a-zA-Z]`: gor's `%i`, fixed per process. */
export const INSTANCE_ID = randomLetters(8);

export function randomLetters(n: number): string {
  const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
  let out = '';
  for (let i = 0; i < n; i++) out += letters[randomInt(letters.length)];
  return out;
}

export interface PathTemplate {
  readonly template: string;
  /** True when the name can change between writes (time, id or type placeholders). */
  readonly dynamic: boolean;
  /** The path every message goes to, when the template is not dynamic. */
  readonly fixed?: string;
  /** The path for a message written now. */
  render(msg: Message, now?: Date, nanosecond?: number): string;
}

const pad = (n: number) => (n < 10 ? `0${n}` : String(n));

/**
 * A message's id or type as it goes into a file name (`%r`, `%t`). Ids come from whatever wrote the records (a
 * file, an --input-tcp peer), and gor puts them in the path as they are: an id `../../x` wrote outside the
 * directory, `a/b` named a directory that is not there (the output stopped), a NUL byte could not be opened. A
 * `/` is written `%2F` and a NUL `%00` here, so an id names one file in the template's directory; one longer than
 * LONGEST_NAME_PART bytes is shortened (shortened()).
 */
export function nameSafe(value: string): string {
  const safe = /[/\0]/.test(value) ? value.replaceAll('/', '%2F').replaceAll('\0', '%00') : value;
  // A UTF-16 unit is at most 3 bytes of UTF-8: gor's ids (24-40 ASCII characters) are never measured.
  const long = safe.length * 3 > LONGEST_NAME_PART && Buffer.byteLength(safe) > LONGEST_NAME_PART;
  return long ? shortened(safe) : safe;
}

/**
 * The longest id or type written whole into a name, in bytes. A file name holds at most 255 bytes (NAME_MAX): an
 * id longer than that stopped the output (ENAMETOOLONG) at the first record carrying it. gor's ids are 24-40
 * characters.
 */
const LONGEST_NAME_PART = 128;

/** A long value as its first 96 bytes, `~` and 16 hex digits of its SHA-256: different ids stay apart. */
function shortened(value: string): string {
  let head = value.slice(0, 96);
  while (Buffer.byteLength(head) > 96) head = head.slice(0, -1);
  return `${head}~${createHash('sha256').update(value).digest('hex').slice(0, 16)}`;
}

/** What nameSafe() changed in a value, or that a whole path element `.`/`..` came from an id (the template's words). */
export type UnsafeName = (value: string, written: string) => void;

/**
 * Compiles a path template; `%Y %m %d %H %M %S` use local time, `%NS` the nanosecond of the second. `unsafe` is
 * told each time an id or type had to be written otherwise (nameSafe(); a path element that is only `.` or `..`
 * once `%r`/`%t` are filled in has its dots written `%2E`: it would name the directory itself or its parent).
 */
export function compileTemplate(template: string, instanceId = INSTANCE_ID, unsafe?: UnsafeName): PathTemplate {
  const dynamic = /%(?:NS|[YmdHMSrt])/.test(template);
  const withInstance = template.replaceAll('%i', instanceId);
  if (!dynamic) return { template, dynamic, fixed: withInstance, render: () => withInstance };
  const usesDate = DATE_TOKENS.test(template);
  // The path elements holding an id or a type: only those can become `.` or `..` (the values hold no `/`).
  const elements = template.split('/');
  const fromMessage = elements.flatMap((e, i) => (/%[rt]/.test(e) ? [i] : []));
  const safe = (value: string): string => {
    const written = nameSafe(value);
    if (written !== value) unsafe?.(value, written);
    return written;
  };
  const fill = (msg: Message, now: Date | undefined, nanosecond: number | undefined): string =>
    template.replace(TOKENS, (token) => {
      switch (token) {
        case '%Y':
          return String(now!.getFullYear()).padStart(4, '0');
        case '%m':
          return pad(now!.getMonth() + 1);
        case '%d':
          return pad(now!.getDate());
        case '%H':
          return pad(now!.getHours());
        case '%M':
          return pad(now!.getMinutes());
        case '%S':
          return pad(now!.getSeconds());
        case '%NS':
          return String(
            nanosecond ?? now!.getMilliseconds() * 1_000_000 + Number(process.hrtime.bigint() % 1_000_000n),
          );
        case '%r':
          return safe(msg.meta.id);
        case '%t':
          return safe(msg.meta.type);
        default:
          return instanceId;
      }
    });
  return {
    template,
    dynamic,
    render(msg, now = usesDate ? new Date() : undefined, nanosecond) {
      const path = fill(msg, now, nanosecond);
      if (fromMessage.length === 0 || !path.includes('.')) return path;
      let parts: string[] | undefined;
      for (const i of fromMessage) {
        parts ??= path.split('/');
        const part = parts[i]!;
        if (part !== '.' && part !== '..') continue;
        parts[i] = part.replaceAll('.', '%2E');
        unsafe?.(part, parts[i]!);
      }
      return parts === undefined ? path : parts.join('/');
    },
  };
}

/** Go `filepath.Ext`: from the last `.` of the last element (`x.gor.gz` → `.gz`), or ``. */
export function fileExt(path: string): string {
  for (let i = path.length - 1; i >= 0 && path[i] !== '/'; i--) {
    if (path[i] === '.') return path.slice(i);
  }
  return '';
}

/** Go `strconv.Atoi`: optional sign, decimal digits, int64 range. */
function atoi(s: string): number | undefined {
  if (!/^[+-]?\d+$/.test(s)) return undefined;
  const n = BigInt(s);
  if (n > 9223372036854775807n || n < -9223372036854775808n) return undefined;
  return Number(n);
}

/** gor `getFileIndex`: the `_<n>` before the extension, or -1. */
export function getFileIndex(name: string): number {
  const ext = fileExt(name);
  const stem = name.slice(0, name.length - ext.length);
  const i = stem.lastIndexOf('_');
  if (i !== -1) {
    const n = atoi(stem.slice(i + 1));
    if (n !== undefined) return n;
  }
  return -1;
}

/** gor `setFileIndex`: replaces or adds `_<idx>` before the extension. */
export function setFileIndex(name: string, idx: number): string {
  const ext = fileExt(name);
  let stem = name.slice(0, name.length - ext.length);
  const i = stem.lastIndexOf('_');
  if (i !== -1 && atoi(stem.slice(i + 1)) !== undefined) stem = stem.slice(0, i);
  return `${stem}_${idx}${ext}`;
}

/** gor `withoutIndex`: everything before the last `_` of the whole name. */
function withoutIndex(s: string): string {
  const i = s.lastIndexOf('_');
  return i === -1 ? s : s.slice(0, i);
}

/** gor's chunk order: names equal without their `_<n>` sort by n, others byte-wise. */
export function sortByFileIndex(names: readonly string[]): string[] {
  return [...names].sort((a, b) => (sortsAfter(a, b) ? -1 : sortsAfter(b, a) ? 1 : 0));
}

/**
 * gor `filename()` for non-append mode: the chunk to write `path` (already templated) to. `nextChunk` is set
 * for the first write and when the current chunk is full. `glob` lists existing files (Go `filepath.Glob`).
 */
export function chunkName(path: string, nextChunk: boolean, glob: (pattern: string) => string[] = globSync): string {
  return chunkFrom(path, lastChunk(path, glob), nextChunk);
}

/**
 * The last of `path`'s chunks in gor's order (glob `S*E`, sorted), `undefined` when there is none, or `null`
 * when the pattern is not a valid glob (Go: Glob fails, and the templated path is used as is).
 */
function lastChunk(path: string, glob: (pattern: string) => string[]): string | undefined | null {
  const ext = fileExt(path);
  const stem = path.slice(0, path.length - ext.length);
  let matches: string[];
  try {
    // gor globs the path as written, so `out[1].gor` (or `a\\b.gor`) never finds its own chunks: every record
    // went to out[1]_0.gor; and `logs[a]/r.gor` took the chunks in `logsa/` for its own. Taken literally here.
    matches = glob(`${escapeGlob(stem)}*${escapeGlob(ext)}`);
  } catch (err) {
    if (err instanceof GlobPatternError) return null;
    throw err;
  }
  // gor lets every name matching S*E take part, so `r.gor` beside an unrelated `rz_5.gor` was written to
  // `rz_6.gor`, and a path ending in `/` to `<some file in the directory>_0<its extension>`. Only this path's own
  // chunks (`S_<n>E`) and the path itself (`SE`) are taken here (docs/compat.md).
  matches = matches.filter((m) => isChunkOf(m, stem, ext));
  if (matches.length === 0) return undefined;
  const sorted = sortByFileIndex(matches);
  return sorted[sorted.length - 1]!;
}

/** `s` matched literally by a glob (Go's `\\` escapes). */
function escapeGlob(s: string): string {
  return s.replace(/[*?[\\]/g, '\\$&');
}

/** The chunk name given the last existing chunk (lastChunk()). */
function chunkFrom(path: string, last: string | undefined | null, nextChunk: boolean): string {
  if (last === null) return path;
  if (last === undefined) return setFileIndex(path, 0);
  const found = getFileIndex(last);
  return setFileIndex(last, found === -1 ? 0 : nextChunk ? found + 1 : found);
}

/** Whether gor's order puts `b` after `a` (sortByFileIndex). */
function sortsAfter(a: string, b: string): boolean {
  return withoutIndex(a) === withoutIndex(b) ? getFileIndex(a) < getFileIndex(b) : compareBytes(a, b) < 0;
}

/** What a directory looked like: it changes when an entry is added, removed or renamed, or the directory replaced. */
function directoryStamp(dir: string): string | undefined {
  try {
    const st = statSync(dir, { bigint: true });
    return `${st.dev}:${st.ino}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch {
    return undefined;
  }
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * chunkName() for one output, without listing the directory for every chunk. gor globs `S*E` at each new chunk;
 * with thousands of chunks in a directory that is O(n) a chunk and O(n²) a run (10,000 chunks: ~4 ms each). This
 * lists once and then remembers the last chunk, which is this run's newest (created()), so the names are gor's:
 *
 *   name(P) ─ directory unchanged since the last look, and the next name not there? ─yes─▶ from the last chunk kept
 *                                      │ no (another process added, removed or renamed a file)
 *                                      ▼
 *                               glob S*E again, as gor
 *
 * The directory's stamp (inode, modification and change time) is taken after each chunk this run opens, so only
 * changes made by others show. The clock behind it ticks every few milliseconds: a file another process adds in
 * the same tick as this run opens a chunk is missed, unless it is the very name this run takes next (checked,
 * one lstat).
 */
export class ChunkNamer {
  /** Templated path → the last chunk and the directory's stamp when it was known; a few, newest last. */
  private readonly known = new Map<string, { last: string | undefined; stamp: string }>();

  constructor(
    private readonly glob: (pattern: string) => string[] = globSync,
    /** The directory's stamp (tests: one that never changes, to check the lstat of the next name alone). */
    private readonly stampOf: (dir: string) => string | undefined = directoryStamp,
    private readonly limit = 64,
  ) {}

  /**
   * Directory → its names by chunk key (chunkKey()), as listed when it had `stamp`: a template that names a new
   * file at nearly every record (`%r`, `%NS`) looks its names up here instead of listing the directory for each,
   * which took a run of n such files O(n²) (10,100 records to r-%NS.gor: 55 s, 5,050: 16 s). Made once a
   * second name is asked for in a directory; kept up to date by created(), listed again when others change it.
   */
  private readonly listings = new Map<string, { stamp: string; byKey: Map<string, string[]> }>();
  /** Directories asked about once (a listing is made at the second name). */
  private readonly askedOnce = new Set<string>();

  /** The chunk to write `path` (templated) to, as chunkName() gives it. */
  name(path: string, nextChunk: boolean): string {
    const dir = dirname(path);
    const stamp = this.stampOf(dir);
    const entry = this.known.get(path);
    if (entry !== undefined && stamp !== undefined && entry.stamp === stamp) {
      const name = chunkFrom(path, entry.last, nextChunk);
      if (name === entry.last || !exists(name)) return name;
    }
    const listed = entry === undefined && stamp !== undefined ? this.fromListing(path, dir, stamp) : undefined;
    if (listed !== undefined) {
      const name = chunkFrom(path, listed.last, nextChunk);
      if (name === listed.last || !exists(name)) {
        this.remember(path, listed.last, stamp!);
        return name;
      }
    }
    const last = lastChunk(path, this.glob);
    if (last === null) return path;
    this.known.delete(path);
    if (stamp !== undefined) this.remember(path, last, stamp);
    return chunkFrom(path, last, nextChunk);
  }

  private remember(path: string, last: string | undefined, stamp: string): void {
    this.known.delete(path);
    this.known.set(path, { last, stamp });
    if (this.known.size > this.limit) this.known.delete(this.known.keys().next().value!);
  }

  /** `path`'s last chunk from the directory's listing (listings), or undefined when there is none to use. */
  private fromListing(path: string, dir: string, stamp: string): { last: string | undefined } | undefined {
    const base = path.slice(path.lastIndexOf('/') + 1);
    if (base.startsWith('.')) return undefined; // a listing's * may leave such names out
    let listing = this.listings.get(dir);
    if (listing === undefined || listing.stamp !== stamp) {
      this.listings.delete(dir);
      if (!this.askedOnce.has(dir)) {
        this.askedOnce.add(dir);
        return undefined;
      }
      let names: string[];
      try {
        names = this.glob(`${escapeGlob(dir)}/*`);
      } catch {
        return undefined;
      }
      if (names.length > LISTING_LIMIT) return undefined;
      listing = { stamp, byKey: new Map() };
      for (const name of names) addToListing(listing.byKey, name);
      this.listings.set(dir, listing);
      if (this.listings.size > 16) this.listings.delete(this.listings.keys().next().value!);
    }
    const ext = fileExt(path);
    const stem = path.slice(0, path.length - ext.length);
    const mine = (listing.byKey.get(base) ?? []).filter((m) => isChunkOf(m, stem, ext));
    if (mine.length === 0) return { last: undefined };
    const sorted = sortByFileIndex(mine);
    return { last: sorted[sorted.length - 1] };
  }

  /** `file`, named by name(path), is open: it takes part in the next names, and the directory's stamp is new. */
  created(path: string, file: string): void {
    const entry = this.known.get(path);
    if (entry === undefined) return;
    const stamp = this.stampOf(dirname(path));
    if (stamp === undefined) {
      this.known.delete(path);
      return;
    }
    entry.stamp = stamp;
    const name = cleanPath(file); // as the glob gives names
    const listing = this.listings.get(dirname(path));
    if (listing !== undefined) {
      listing.stamp = stamp;
      addToListing(listing.byKey, name);
    }
    // A chunk the glob does not find is none of the path's (`requests_20261124.gor` writes `requests_0.gor`).
    const ext = fileExt(path);
    if (!isChunkOf(name, path.slice(0, path.length - ext.length), ext)) return;
    if (entry.last === undefined || sortsAfter(entry.last, name)) entry.last = name;
  }
}

/**
 * gor's README idiom `requests_%Y%m%d.gor` meets its own chunk rule: once templated, `_20261124` is taken for a
 * chunk number and replaced, so every record goes to `requests_0.gor` for good (no date, no new chunk: the glob
 * `requests_20261124*.gor` never finds it). tapline names files as gor does (the two continue each other's
 * recordings), so this only says so. Returns the warning for a chunked (non-append) template whose stem ends
 * in `_` followed by placeholders that always render digits, or undefined.
 */
export function placeholderLostToChunkNumber(template: string): string | undefined {
  const stem = template.slice(0, template.length - fileExt(template).length);
  const tail = stem.slice(stem.lastIndexOf('_') + 1);
  if (!stem.includes('_') || !/^(?:\d|%NS|%[YmdHMSt])*$/.test(tail) || !/%(?:NS|[YmdHMSt])/.test(tail)) return;
  const ext = fileExt(template);
  const base = stem.slice(stem.lastIndexOf('/') + 1);
  const prefix = base.slice(0, base.lastIndexOf('_'));
  return (
    `"${template}": the "_${tail}" before the extension is read as a chunk number (gor's rule) and replaced: ` +
    `every record goes to ${prefix}_0${ext}, with no new file per ${tail.includes('%t') ? 'type' : 'date'} and ` +
    'no new chunk (the queue and size limits cannot start one); gor does the same and empties that file at each ' +
    `start, tapline appends to it. Write ${prefix}-${tail}${ext} to keep ${tail} in the names`
  );
}

/**
 * `--output-file /dev/stdout` (or a FIFO, a socket, a device) without --output-file-append: gor's chunk rule
 * still applies, so the records go to new regular files `/dev/stdout_0`, `/dev/stdout_1`, … beside it and
 * nothing reaches the stream the user named. Names it; `kind` is what stat says the path is (undefined when it
 * does not exist or is a regular file or directory: nothing to say).
 */
export function chunksBesideSpecialFile(template: string, kind: string | undefined): string | undefined {
  if (kind === undefined) return;
  const ext = fileExt(template);
  const stem = template.slice(0, template.length - ext.length);
  return (
    `"${template}" is ${kind}, not a regular file: without --output-file-append the records go, as in gor, to ` +
    `new files ${stem}_0${ext}, ${stem}_1${ext}, … beside it and none to it; add --output-file-append to write ` +
    'into it (or use --output-stdout for standard output)'
  );
}

/**
 * `%` and a letter that is none of gor's placeholders (`%n`, `%y`, `%s`, `%F`: strftime's, or a typo) is kept as
 * written, as gor keeps it, so `r-%n.gor` writes `r-%n_0.gor`. Returns the warning, or undefined.
 */
export function unknownPlaceholders(template: string): string | undefined {
  const unknown = new Set<string>();
  for (const m of template.matchAll(/%(NS|[A-Za-z])/g)) if (!/^(?:NS|[YmdHMSrti])$/.test(m[1]!)) unknown.add(m[0]);
  if (unknown.size === 0) return;
  const list = [...unknown].join(', ');
  return (
    `"${template}": ${list} ${unknown.size === 1 ? 'is no placeholder' : 'are no placeholders'} and ` +
    `${unknown.size === 1 ? 'is kept as written, as gor keeps it' : 'are kept as written, as gor keeps them'} ` +
    '(the placeholders: %Y %m %d %H %M %S %NS %r %t %i)'
  );
}

/** Names in a directory listing kept by ChunkNamer, at most (more: the directory is listed for each name). */
const LISTING_LIMIT = 200_000;

/**
 * Files `name` may be a chunk of, by last path element: itself (`SE`), and without its `_<n>` (`S_nE` → `SE`).
 * Adds it under both keys (once).
 */
function addToListing(byKey: Map<string, string[]>, name: string): void {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const add = (key: string) => {
    const list = byKey.get(key);
    if (list === undefined) byKey.set(key, [name]);
    else if (!list.includes(name)) list.push(name);
  };
  add(base);
  const ext = fileExt(base);
  const stem = base.slice(0, base.length - ext.length);
  const i = stem.lastIndexOf('_');
  if (i !== -1 && atoi(stem.slice(i + 1)) !== undefined) add(stem.slice(0, i) + ext);
}

/** `name` is `stem + ext` or `stem + "_<n>" + ext`; compared by last path element (a glob's results are cleaned). */
function isChunkOf(name: string, stem: string, ext: string): boolean {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const stemBase = stem.slice(stem.lastIndexOf('/') + 1);
  if (!base.startsWith(stemBase) || !base.endsWith(ext)) return false;
  const middle = base.slice(stemBase.length, base.length - ext.length);
  return middle === '' || (middle.startsWith('_') && atoi(middle.slice(1)) !== undefined);
}

export { cleanPath };
