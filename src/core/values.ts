/**
 * Value syntaxes shared by flags and library options, as Go and gor define them (spec §1.1):
 * Go integers (base prefixes, `_` separators), Go durations, gor sizes, Go booleans, and the
 * `address|limit` suffix. Each parser throws a plain Error with a short reason; the caller adds the flag.
 */

const GO_BOOL_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const GO_BOOL_FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

export function parseGoBool(text: string): boolean {
  if (GO_BOOL_TRUE.has(text)) return true;
  if (GO_BOOL_FALSE.has(text)) return false;
  throw new Error(`invalid boolean ${JSON.stringify(text)} (use true or false)`);
}

/**
 * Go `strconv.Atoi`: base 10 only, an optional sign, leading zeros allowed (`010` is ten). gor reads its
 * repeatable int flags this way (`--input-raw-vlan-vid`, `--input-raw-vxlan-vni`) and takes anything else as 0
 * without a word; here anything else is refused, naming the number meant when it is one in Go's syntax.
 */
export function parseDecimalInt(text: string): number {
  if (/^[+-]?[0-9]+$/.test(text)) {
    const value = Number(text);
    if (!Number.isSafeInteger(value)) throw new Error(`integer ${JSON.stringify(text)} is out of range`);
    return value === 0 ? 0 : value;
  }
  let meant = '';
  try {
    meant = `; write ${parseGoInt(text)}`;
  } catch {}
  throw new Error(
    `invalid integer ${JSON.stringify(text)}: this flag takes base-10 numbers only (gor reads anything else as 0)${meant}`,
  );
}

/** Go `strconv.ParseInt(s, 0, 64)` rules: optional sign, 0x/0o/0b prefixes, leading-0 octal, `_` between digits. */
export function parseGoInt(text: string): number {
  const m = /^([+-]?)(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|0[0-7_]*|[1-9][0-9_]*)$/.exec(text);
  if (!m) throw new Error(`invalid integer ${JSON.stringify(text)}`);
  const sign = m[1] === '-' ? -1 : 1;
  const body = m[2]!;
  // Go allows '_' only between digits (or after a base prefix), never doubled or trailing.
  if (/__|_$/.test(body)) {
    throw new Error(`invalid integer ${JSON.stringify(text)}`);
  }
  const digits = body.replace(/_/g, '');
  let value: number;
  if (/^0[xX]/.test(digits)) value = Number.parseInt(digits.slice(2), 16);
  else if (/^0[oO]/.test(digits)) value = Number.parseInt(digits.slice(2), 8);
  else if (/^0[bB]/.test(digits)) value = Number.parseInt(digits.slice(2), 2);
  else if (digits.length > 1 && digits.startsWith('0')) value = Number.parseInt(digits.slice(1), 8);
  else value = Number.parseInt(digits, 10);
  if (!Number.isFinite(value) || Number.isNaN(value)) throw new Error(`invalid integer ${JSON.stringify(text)}`);
  if (!Number.isSafeInteger(value)) throw new Error(`integer ${JSON.stringify(text)} is out of range`);
  return sign * value;
}

const DURATION_UNITS_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3, // U+00B5 micro sign
  μs: 1e3, // U+03BC greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Go `time.ParseDuration`: `300ms`, `1h30m`, `2.5s`, `-1.5h`; a bare `0` is allowed. Returns milliseconds. */
export function parseGoDuration(text: string): number {
  const bad = () => new Error(`invalid duration ${JSON.stringify(text)} (examples: 300ms, 2s, 1m30s)`);
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw bad();
  // Go's "missing unit": a bare number other than 0 (`--exit-after 5`) is refused, as gor refuses it.
  if (/^\d*\.?\d*$/.test(s) && /\d/.test(s))
    throw new Error(`invalid duration ${JSON.stringify(text)}: missing unit (write ${s}s or ${s}ms)`);
  let totalNs = 0;
  const part = /^(\d*)(?:\.(\d*))?([a-zµμ]+)/;
  while (s.length > 0) {
    const m = part.exec(s);
    if (!m || (m[1] === '' && (m[2] === undefined || m[2] === ''))) throw bad();
    const unit = DURATION_UNITS_NS[m[3]!];
    if (unit === undefined)
      throw new Error(`invalid duration ${JSON.stringify(text)}: unknown unit ${JSON.stringify(m[3])}`);
    const value = Number(`${m[1] || '0'}.${m[2] || '0'}`);
    totalNs += value * unit;
    s = s.slice(m[0].length);
  }
  return (sign * totalNs) / 1e6;
}

/** Formats milliseconds like Go's `time.Duration.String()`: `1.5s`, `150ms`, `1m0s`, `0s`. */
export function formatGoDuration(ms: number): string {
  return formatGoDurationNs(BigInt(Math.round(ms * 1e6)));
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

const SIZE_SUFFIX: Record<string, number> = {
  kb: 2 ** 10,
  mb: 2 ** 20,
  gb: 2 ** 30,
  tb: 2 ** 40,
  // gor's docs promise these; gor itself rejects them. tapline accepts both.
  k: 2 ** 10,
  m: 2 ** 20,
  g: 2 ** 30,
  t: 2 ** 40,
};

/** gor sizes: a Go integer in bytes, optionally followed by kb/mb/gb/tb (or k/m/g/t), powers of 1024. */
export function parseSize(text: string): number {
  const m = /^(.*?)(kb|mb|gb|tb|k|m|g|t)?$/i.exec(text);
  const digits = m?.[1] ?? '';
  const suffix = m?.[2]?.toLowerCase();
  let n: number;
  try {
    n = parseGoInt(digits);
  } catch {
    throw new Error(`invalid size ${JSON.stringify(text)} (examples: 1024, 64kb, 32mb, 1gb)`);
  }
  const value = suffix ? n * SIZE_SUFFIX[suffix]! : n;
  if (!Number.isSafeInteger(value)) throw new Error(`size ${JSON.stringify(text)} is too large`);
  return value;
}

/** Human size for reports: `1.5 MiB`. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[i]}`;
}

/**
 * `1234567` → `1,234,567`, as `toLocaleString('en-US')` writes a whole number, without it: the first
 * toLocaleString of a process loads ICU's locale data, ~25 ms of a one-record run's start-up.
 */
export function groupDigits(n: number): string {
  const digits = String(Math.abs(n));
  if (!/^\d+$/.test(digits)) return n.toLocaleString('en-US'); // fractions, exponents, NaN: the slow, exact path
  const grouped = digits.replace(/\B(?=(\d{3})+$)/g, ',');
  return n < 0 ? `-${grouped}` : grouped;
}

/**
 * The names a message is about: all of them when few, else the first ones and how many more (the chunks of one
 * --output-file, r_0.gor … r_999.gor, would fill a screen).
 */
export function namesOf(names: readonly string[], shown = 3): string {
  if (names.length <= shown + 1) return names.join(', ');
  return `${names.slice(0, shown).join(', ')} and ${groupDigits(names.length - shown)} more`;
}

export type Limit =
  | { kind: 'none' }
  /** `|N%`: a percentage (speed factor on input-file/kafka, random sampling elsewhere). */
  | { kind: 'percent'; percent: number }
  /** `|N`: at most N per second. */
  | { kind: 'rate'; perSecond: number }
  /** `|max`: tapline's "as fast as the outputs take it" for input-file. */
  | { kind: 'max' };

/**
 * Splits `address|limit` (spec §5.1). Part 0 is the address, part 1 the limit. gor ignores anything after a
 * second `|` (`URL|10|50%` is `|10`) and reads the number with strconv.Atoi, taking one it cannot read as 0
 * (drop everything): both are errors here, never a limit read otherwise than it was written.
 */
export function splitLimit(value: string): { address: string; limit: Limit } {
  const parts = value.split('|');
  const address = parts[0]!;
  if (parts.length < 2) return { address, limit: { kind: 'none' } };
  const raw = parts[1]!;
  if (parts.length > 2) {
    const rest = parts.slice(2).join('|');
    throw new Error(
      `invalid limit ${JSON.stringify(parts.slice(1).join('|'))}: an address takes one limit; gor uses ` +
        `${JSON.stringify(`|${raw}`)} and ignores ${JSON.stringify(`|${rest}`)} after it`,
    );
  }
  if (raw.toLowerCase() === 'max') return { address, limit: { kind: 'max' } };
  const pct = raw.indexOf('%');
  if (pct > 0) {
    const n = limitNumber(raw, raw.slice(0, pct), '%');
    if (n < 0) throw new Error(`invalid limit ${JSON.stringify(raw)}: expected N% with N ≥ 0`);
    return { address, limit: { kind: 'percent', percent: n } };
  }
  const n = raw === '' || pct === 0 ? -1 : limitNumber(raw, raw, '');
  if (n < 0) throw new Error(`invalid limit ${JSON.stringify(raw)}: expected N (per second), N% or max`);
  return { address, limit: { kind: 'rate', perSecond: n } };
}

/** The N of `|N` or `|N%` as gor's strconv.Atoi reads it: base 10, an optional sign, digits only. */
function limitNumber(raw: string, text: string, unit: '' | '%'): number {
  if (/^[+-]?\d+$/.test(text)) return Number(text);
  const meant = Number(text.trim());
  const fix = text.trim() !== '' && Number.isSafeInteger(meant) && meant >= 0 ? `; write |${meant}${unit}` : '';
  throw new Error(
    `invalid limit ${JSON.stringify(raw)}: ${JSON.stringify(text)} is not a whole number: gor reads it as 0 ` +
      `(${unit === '%' ? '--input-file: speed 0%; elsewhere: ' : ''}drop everything)${fix}`,
  );
}
