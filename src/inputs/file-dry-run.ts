/**
 * The `--input-file-dry-run` report (spec §5.4), byte for byte as gor prints it, with Go's
 * `time.Duration.String()` on exact int64 nanoseconds (`2562047h47m16.854775807s` included).
 */
import { formatGoDurationNs } from '../core/values.js';
import type { GorWaits } from './file-timing.js';

export { formatGoDurationNs };

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
