/**
 * Locates the shared corpus (`../shared/corpus` beside the checkout) and reads its truth files.
 * Tests that need it fail loudly when it is missing: a silent skip would hide a broken CI layout.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CORPUS_DIR = process.env.TAPLINE_CORPUS ?? resolve(REPO_ROOT, '..', 'shared', 'corpus');

export function corpusFiles(suffixes: string[]): string[] {
  if (!existsSync(CORPUS_DIR)) throw new Error(`corpus not found at ${CORPUS_DIR} (set TAPLINE_CORPUS)`);
  return readdirSync(CORPUS_DIR)
    .filter((f) => suffixes.some((s) => f.endsWith(s)))
    .sort()
    .map((f) => join(CORPUS_DIR, f));
}

/** Reads `FILE.truth.json`. Integers too large for a double (ns timestamps) become strings, so
 *  `BigInt(value)` is exact. */
// biome-ignore lint/suspicious/noExplicitAny: truth files are free-form JSON
export function readTruth(file: string): any {
  const text = readFileSync(`${file}.truth.json`, 'utf8');
  return JSON.parse(text.replace(/(:\s*)(-?\d{16,})(?=\s*[,}\]])/g, '$1"$2"'));
}
