/**
 * Routes and hosts come from the traffic, and a captured path may be tens of kilobytes long. The exporters that
 * repeat them in every series (InfluxDB tags, Prometheus labels) write a long one cut, with a hash of the whole
 * so two long names with the same beginning stay two series:
 *
 *   /ab/ab/…(75,006 characters)  ─▶  first NAME_CHARS characters + '…' + FNV-1a of the whole (8 hex digits)
 *
 * InfluxDB refuses a series key over 64 KiB (the whole write fails); a Prometheus exposition repeats each label
 * in 26 lines a route, and 300 routes of 75 KB made one scrape a string longer than V8 can hold.
 */
import { fnv1a32 } from '../../net/fnv.js';

/** Longest route or host written whole as a tag or label, in characters. */
export const NAME_CHARS = 1000;

export function shortName(value: string): string {
  if (value.length <= NAME_CHARS) return value;
  const high = value.charCodeAt(NAME_CHARS - 1);
  const cut = high >= 0xd800 && high <= 0xdbff ? NAME_CHARS - 1 : NAME_CHARS;
  return `${value.slice(0, cut)}…${fnv1a32(value).toString(16).padStart(8, '0')}`;
}
