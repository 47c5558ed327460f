/**
 * Meta line parsing. gor's rule (spec §2.1, §3): split on single spaces, at least 3 fields; only type, id and
 * timestamp are interpreted. A non-numeric timestamp reads as 0 (gor does the same) and is flagged.
 *
 * This runs once per record on the hottest path (a million records a second), so it scans with indexOf and
 * char codes instead of split() and regular expressions.
 */
import { ERROR_CODES, TaplineError } from './errors.js';
import type { Meta } from './message.js';

const NO_EXTRA: readonly string[] = Object.freeze([]);

/** Parses a meta line (without its LF). Throws BAD_META when it has fewer than 3 fields or an empty type/id. */
export function parseMeta(line: string): Meta {
  const s1 = line.indexOf(' ');
  const s2 = s1 === -1 ? -1 : line.indexOf(' ', s1 + 1);
  if (s2 === -1) {
    const fields = line.split(' ').length;
    throw new TaplineError(
      ERROR_CODES.BAD_META,
      `meta line needs at least 3 space-separated fields (type id timestamp), got ${fields}: ${preview(line)}`,
    );
  }
  if (s1 === 0 || s2 === s1 + 1) {
    throw new TaplineError(ERROR_CODES.BAD_META, `meta line has an empty type or id field: ${preview(line)}`);
  }
  const s3 = line.indexOf(' ', s2 + 1);
  const ts = s3 === -1 ? line.slice(s2 + 1) : line.slice(s2 + 1, s3);
  let latencyNs: bigint | undefined;
  let extra = NO_EXTRA;
  if (s3 !== -1) {
    const s4 = line.indexOf(' ', s3 + 1);
    const latency = s4 === -1 ? line.slice(s3 + 1) : line.slice(s3 + 1, s4);
    latencyNs = isDecimal(latency) ? BigInt(latency) : 0n;
    if (s4 !== -1) extra = line.slice(s4 + 1).split(' ');
  }
  const goodTs = isDecimal(ts);
  const meta: Meta = {
    type: line.slice(0, s1),
    id: line.slice(s1 + 1, s2),
    timestampNs: goodTs ? BigInt(ts) : 0n,
    latencyNs,
    extra,
    line,
  };
  if (!goodTs) (meta as { badTimestamp?: boolean }).badTimestamp = true;
  return meta;
}

/** `-?[0-9]+`, the integers BigInt() takes here. */
function isDecimal(text: string): boolean {
  const n = text.length;
  let i = n > 0 && text.charCodeAt(0) === 45 ? 1 : 0;
  if (i >= n) return false;
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** A short printable excerpt of a line for error messages. */
export function preview(text: string, max = 60): string {
  const shown = text.length > max ? `${text.slice(0, max)}…` : text;
  return JSON.stringify(shown);
}
