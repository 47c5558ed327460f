/**
 * The `--input-file-dry-run` report (spec §5.4), byte for byte as gor prints it, with Go's
 * `time.Duration.String()` on exact int64 nanoseconds (`formatGoDuration` in core/values.ts takes float
 * milliseconds, which cannot hold `2562047h47m16.854775807s`).
 */
import type { GorWaits } from './file-timing.js';

export interface DryRunTotals {
  records: number;
  files: number;
  /** Σ len(meta line + LF + payload), as gor counts. */
  bytes: number;
  waits: Pick<GorWaits, 'maxWait' | 'minWait' | 'firstWait' | 'totalWait' | 'negative'>;
}

export function formatDryRunReport(t: DryRunTotals): string {
  const w = t.waits;
  return (
    `Records found: ${t.records}\n` +
    `Files processed: ${t.files}\n` +
    `Bytes processed: ${t.bytes}\n` +
    `Max wait: ${formatGoDurationNs(w.maxWait)}\n` +
    `Min wait: ${formatGoDurationNs(w.minWait)}\n` +
    `First wait: ${formatGoDurationNs(w.firstWait)}\n` +
    `It will take \`${formatGoDurationNs(w.totalWait)}\` to replay at current speed.\n` +
    `Found ${w.negative} records with out of order timestamp\n`
  );
}

/** Go's `time.Duration(ns).String()`: `0s`, `1ns`, `1.5µs`, `150ms`, `1.5s`, `1m0s`, `2562047h47m16.854775807s`. */
export function formatGoDurationNs(ns: bigint): string {
  if (ns === 0n) return '0s';
  const neg = ns < 0n;
  let u = neg ? -ns : ns;
  let out: string;
  if (u < 1_000_000_000n) {
    const [prec, unit] = u < 1_000n ? [0, 'ns'] : u < 1_000_000n ? [3, 'µs'] : [6, 'ms'];
    out = `${fraction(u, prec)}${unit}`;
  } else {
    const frac = fraction(u % 1_000_000_000n, 9, true);
    u /= 1_000_000_000n;
    out = `${u % 60n}${frac}s`;
    u /= 60n;
    if (u > 0n) {
      out = `${u % 60n}m${out}`;
      u /= 60n;
      if (u > 0n) out = `${u}h${out}`;
    }
  }
  return neg ? `-${out}` : out;
}

/** `v / 10^prec` with trailing zeros (and a bare point) removed; `fracOnly` gives just `.xyz` or ``. */
function fraction(v: bigint, prec: number, fracOnly = false): string {
  const scale = 10n ** BigInt(prec);
  const int = v / scale;
  const rest = prec === 0 ? '' : (v % scale).toString().padStart(prec, '0').replace(/0+$/, '');
  const frac = rest === '' ? '' : `.${rest}`;
  return fracOnly ? frac : `${int}${frac}`;
}
