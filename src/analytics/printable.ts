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
