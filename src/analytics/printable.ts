/**
 * Routes and hosts come from the traffic, so a path can hold any byte. Where they are printed for a person (the
 * report's tables, budget and alert lines on stderr), control characters are written as `\xHH`: a captured
 * `GET /x\x1b[2J` must not clear the reader's screen, retitle the terminal (ESC ] … BEL) or move the cursor
 * (CR), and a TAB would break a table's columns. C0, DEL and C1 (0x80–0x9f, which some terminals obey too).
 * Machine formats (JSON, CSV, Prometheus, InfluxDB) carry the text as it is, escaped by their own rules.
 */
export function printable(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Longest route shown in a budget or alert line (a captured path may be kilobytes long). */
export const LINE_ROUTE_CHARS = 200;

/**
 * A route for a line a person reads (budget lines, `tapline: alert:` on stderr, the dashboard's alert list):
 * printable(), and cut after LINE_ROUTE_CHARS characters with the whole length said, so a 10 KB path does not
 * flood the terminal or the CI log. The webhook's and --json's `route` field keep it whole.
 */
export function printableRoute(route: string): string {
  const text = printable(route);
  if (text.length <= LINE_ROUTE_CHARS) return text;
  const high = text.charCodeAt(LINE_ROUTE_CHARS - 1);
  const cut = high >= 0xd800 && high <= 0xdbff ? LINE_ROUTE_CHARS - 1 : LINE_ROUTE_CHARS;
  return `${text.slice(0, cut)}… (${text.length.toLocaleString('en-US')} characters)`;
}
