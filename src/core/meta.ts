/**
 * Meta line parsing. gor's rule (spec §2.1, §3): split on single spaces, at least 3 fields; only type, id and
 * timestamp are interpreted. A non-numeric timestamp reads as 0 (gor does the same) and is flagged.
 */
import { ERROR_CODES, TaplineError } from './errors.js';
import type { Meta } from './message.js';

const DECIMAL = /^-?\d+$/;

/** Parses a meta line (without its LF). Throws BAD_META when it has fewer than 3 fields or an empty type/id. */
export function parseMeta(line: string): Meta {
  const fields = line.split(' ');
  if (fields.length < 3) {
    throw new TaplineError(
      ERROR_CODES.BAD_META,
      `meta line needs at least 3 space-separated fields (type id timestamp), got ${fields.length}: ${preview(line)}`,
    );
  }
  const [type, id, ts, latency, ...extra] = fields as [string, string, string, string | undefined, ...string[]];
  if (type.length === 0 || id.length === 0) {
    throw new TaplineError(ERROR_CODES.BAD_META, `meta line has an empty type or id field: ${preview(line)}`);
  }
  const goodTs = DECIMAL.test(ts);
  const meta: Meta = {
    type,
    id,
    timestampNs: goodTs ? BigInt(ts) : 0n,
    latencyNs:
      latency !== undefined && DECIMAL.test(latency) ? BigInt(latency) : latency === undefined ? undefined : 0n,
    extra,
    line,
  };
  return goodTs ? meta : { ...meta, badTimestamp: true };
}

/** A short printable excerpt of a line for error messages. */
export function preview(text: string, max = 60): string {
  const shown = text.length > max ? `${text.slice(0, max)}…` : text;
  return JSON.stringify(shown);
}
