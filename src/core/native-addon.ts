/**
 * Finding and loading tapline's native addons (native/, built by `node scripts/build-native.mjs`). Every
 * addon is optional except where a feature cannot exist without it (live capture); each caller decides what
 * a missing addon means and words it, so this module never throws.
 *
 * Where `tapline_<x>.node` is looked for, first match wins:
 *   1. an explicit file (the caller's own variable, e.g. $TAPLINE_FLOW_ADDON=/path/tapline_flow.node);
 *   2. next to $TAPLINE_NATIVE_ADDON (the capture addon's file: a build kept somewhere else);
 *   3. native/build/Release, then native/build/Debug, under the package root.
 *
 * Loading uses process.dlopen, not createRequire(): the same load without setting up the CommonJS loader,
 * which costs 4-15 ms of a run's start-up (docs/benchmarks.md). Each addon exports `abiVersion`; a file from
 * another tapline version is refused rather than called with the wrong arguments.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The result of `loadAddon`: the module, or why not (`missing`: no file; `abi`: another version; `load`). */
export type AddonLoad<T> =
  | { addon: T; path: string }
  | { addon: null; reason: 'missing' | 'abi' | 'load'; detail: string; where: string[] };

/** Candidate paths for `file` (e.g. 'tapline_flow.node'), in the order they are tried. */
export function addonCandidates(file: string, explicit?: string): string[] {
  if (explicit) return [explicit];
  const next = process.env.TAPLINE_NATIVE_ADDON;
  if (next) return [join(dirname(next), file)];
  // src/core/ and dist/core/ are both two levels below the package root.
  return ['Release', 'Debug'].map((b) => fileURLToPath(new URL(`../../native/build/${b}/${file}`, import.meta.url)));
}

/** Loads the first candidate that exists and checks its `abiVersion`. Never throws. */
export function loadAddon<T extends { abiVersion: number }>(
  file: string,
  abi: number,
  explicit?: string,
): AddonLoad<T> {
  const where = addonCandidates(file, explicit);
  const path = where.find((p) => existsSync(p));
  if (!path) return { addon: null, reason: 'missing', detail: `${file} was not built`, where };
  const mod = { exports: {} as T };
  try {
    process.dlopen(mod, path);
  } catch (err) {
    return { addon: null, reason: 'load', detail: err instanceof Error ? err.message : String(err), where: [path] };
  }
  if (mod.exports.abiVersion !== abi) {
    const detail = `addon ABI ${mod.exports.abiVersion}, expected ${abi}: rebuild it`;
    return { addon: null, reason: 'abi', detail, where: [path] };
  }
  return { addon: mod.exports, path };
}
