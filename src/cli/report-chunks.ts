/**
 * `tapline report replayed.gor` after `tapline ... --output-file replayed.gor`: without
 * `--output-file-append`, gor's chunking (a new chunk every 256 records or 32 MiB) writes replayed_0.gor,
 * replayed_1.gor, … and never replayed.gor itself. So a named file that does not exist stands for its chunks,
 * read in chunk order, and the report says so on stderr. A name with neither a file nor chunks is left as it
 * is, for the reader to report as missing.
 */
import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { getFileIndex, setFileIndex } from '../outputs/file-naming.js';

/** The chunk files `--output-file PATH` wrote (no append), in chunk order; empty when there are none. */
export function chunksOf(path: string): string[] {
  const dir = dirname(path);
  const name = basename(path);
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries
    .map((entry) => ({ entry, index: getFileIndex(entry) }))
    .filter(({ entry, index }) => index >= 0 && setFileIndex(name, index) === entry)
    .sort((a, b) => a.index - b.index)
    .map(({ entry }) => join(dir, entry));
}

/** Each named file, or the chunks that stand for a name that does not exist (`note` says which). */
export function expandChunkNames(specs: readonly string[], note: (line: string) => void): string[] {
  return specs.flatMap((spec) => {
    if (existsSync(spec) || /:[\d,]+$/.test(spec)) return [spec];
    const chunks = chunksOf(spec);
    if (chunks.length === 0) return [spec];
    const range = chunks.length === 1 ? chunks[0] : `${basename(chunks[0]!)} … ${basename(chunks.at(-1)!)}`;
    note(
      `tapline: ${spec} does not exist; reading the ${chunks.length} chunk(s) --output-file wrote for it: ${range} ` +
        '(--output-file-append writes one file)',
    );
    return chunks;
  });
}
