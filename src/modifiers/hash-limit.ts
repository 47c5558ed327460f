/**
 * The `name:N%` value of `--http-header-limiter` and `--http-param-limiter`, and the consistent-sampling decision
 * (spec §7.6 steps 9–10): a request passes when `FNV-1a-32(value) mod 100 < percent`, so every request with the
 * same value gets the same answer, on every run and on every machine.
 *
 * Parsing as gor: split at the first colon (the name is not trimmed, the rest is); `N%` is read with Go's base
 * detection (`010%` is 8%); the deprecated `a/b` form is `floor(a/b × 100)` in float64 (`1/2` is 50). Where gor
 * silently reads a malformed number as 0% (dropping everything), tapline refuses it.
 */
import { parseGoInt } from '../core/values.js';
import { fnv1a32 } from './fnv.js';
import { flagError, goTrimSpace, splitFirst } from './modifier.js';
import { checkLookedUpName, checkLookedUpParam } from './wire-syntax.js';

export interface HashLimit {
  /** Encoded once: the header and parameter helpers compare bytes. */
  readonly name: Buffer;
  readonly percent: number;
}

export function parseHashLimit(flag: string, value: string): HashLimit {
  const parts = splitFirst(value, ':');
  if (!parts) throw flagError(flag, value, 'need both name and percentage, colon-delimited (e.g. user_id:50%)');
  const text = goTrimSpace(parts[1]);
  let percent: number;
  if (text.includes('%')) {
    const number = text.slice(0, -1);
    try {
      percent = parseGoInt(number);
    } catch {
      throw flagError(flag, value, `${JSON.stringify(text)} is not a percentage (e.g. 25%)`);
    }
  } else if (text.includes('/')) {
    const m = /^(\d+)\/(\d+)$/.exec(text);
    if (!m || Number(m[2]) === 0) throw flagError(flag, value, `${JSON.stringify(text)} is not a fraction (e.g. 1/4)`);
    percent = Math.floor((Number(m[1]) / Number(m[2])) * 100);
  } else {
    throw flagError(flag, value, "the value should be a percentage and contain '%' (e.g. 25%)");
  }
  if (percent < 0) throw flagError(flag, value, 'the percentage cannot be negative');
  // gor stores it in a uint32: 4294967306% is 10% there, where a larger number here would keep everything.
  if (percent >= 2 ** 32) {
    throw flagError(
      flag,
      value,
      `${JSON.stringify(text)} is too large: gor keeps its low 32 bits only; up to 100% means something`,
    );
  }
  if (flag === 'http-param-limiter') checkLookedUpParam(flag, value, parts[0]);
  else checkLookedUpName(flag, value, parts[0]);
  return { name: Buffer.from(parts[0]), percent };
}

/** Does a request with this value pass a `percent`% limiter? */
export function passesHashLimit(value: Uint8Array, percent: number): boolean {
  return fnv1a32(value) % 100 < percent;
}
