/**
 * Flag declarations. Plugins and the CLI declare their flags with `FlagSpec`s; the CLI parser, `--help`
 * and the docs are generated from these declarations, so a flag exists in exactly one place.
 */
import { formatGoDuration, parseDecimalInt, parseGoBool, parseGoDuration, parseGoInt, parseSize } from './values.js';

/**
 * The longest duration a flag takes: Node's timers hold at most 2^31-1 ms (24.8 days) and run anything longer
 * after 1 ms, with a TimeoutOverflowWarning (`--exit-after 1000h` stopped the run at once, `--stats-interval
 * 1000h` printed every millisecond). gor takes up to 292 years; a longer value is refused, not shortened.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;

export type FlagKind = 'bool' | 'string' | 'int' | 'duration' | 'size' | 'float';

export interface FlagSpec {
  readonly kind: FlagKind;
  /** Repeatable: every occurrence is kept, in order (gor's "multi" flags). */
  readonly multi?: boolean;
  /**
   * Not repeatable, and given twice with two values is a usage error whose reason ends with this text (what
   * the flag does with one value). Other flags keep the last value, as gor's (Go's flag package) do; for
   * these the first value was dropped without a word (a second --alert-webhook silenced the first receiver).
   */
  readonly once?: string;
  /** Default as text in the flag's own syntax (`5s`, `32mb`, `100`); parsed like a user value. */
  readonly default?: string;
  readonly help: string;
  /** Name of the value in --help (`ADDR`, `FILE`). */
  readonly value?: string;
  /** Help section. */
  readonly section: string;
  /** Set for gor flags tapline does not do yet: using one is an error (exit 2), never ignored. */
  readonly notBuilt?: string;
  /** A note for users coming from gor, shown in --help. */
  readonly gorNote?: string;
  /**
   * Smallest and largest values accepted (numeric kinds), as text in the flag's own syntax (`0`, `10ms`, `1`).
   * A value outside is a usage error naming the flag, instead of a silent clamp or a negative count or time.
   * Left unset where gor gives out-of-range values a meaning tapline keeps (`--output-http-queue-len 0`).
   */
  readonly min?: string;
  readonly max?: string;
}

export type FlagValue = boolean | string | number;

/** Parses one value of a flag, within its `min` and `max`. Throws a plain Error with the reason. */
export function parseFlagValue(spec: FlagSpec, text: string): FlagValue {
  const value = parseKind(spec, text);
  if (typeof value === 'number') {
    if (spec.min !== undefined && value < (parseKind(spec, spec.min) as number))
      throw new Error(`${JSON.stringify(text)} is below the smallest value accepted, ${spec.min}`);
    if (spec.max !== undefined && value > (parseKind(spec, spec.max) as number))
      throw new Error(`${JSON.stringify(text)} is above the largest value accepted, ${spec.max}`);
    if (spec.kind === 'duration' && value > MAX_DURATION_MS)
      throw new Error(
        `${JSON.stringify(text)} is longer than tapline can time, ${formatGoDuration(MAX_DURATION_MS)} (24.8 days)`,
      );
  }
  return value;
}

/** The range of values a flag takes, for --help and docs/flags.md ("at least 0", "0 to 4095"), if it has one. */
export function rangeText(spec: FlagSpec): string | undefined {
  if (spec.min !== undefined && spec.max !== undefined) return `${spec.min} to ${spec.max}`;
  if (spec.min !== undefined) return `at least ${spec.min}`;
  if (spec.max !== undefined) return `at most ${spec.max}`;
  return undefined;
}

function parseKind(spec: FlagSpec, text: string): FlagValue {
  switch (spec.kind) {
    case 'bool':
      return parseGoBool(text);
    case 'int':
      // gor's repeatable int flags (its MultiIntOption) read base 10 only (strconv.Atoi): 010 is ten there.
      return spec.multi ? parseDecimalInt(text) : parseGoInt(text);
    case 'duration':
      return parseGoDuration(text);
    case 'size':
      return parseSize(text);
    case 'float': {
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n)) throw new Error(`invalid number ${JSON.stringify(text)}`);
      return n;
    }
    default:
      return text;
  }
}

/** The default value of a flag, parsed. */
export function defaultValue(spec: FlagSpec): FlagValue | undefined {
  if (spec.default === undefined) return spec.kind === 'bool' ? false : undefined;
  return parseFlagValue(spec, spec.default);
}

/** Parsed flags: single flags hold a value, multi flags an array; read through typed getters. */
export class FlagSet {
  constructor(
    private readonly specs: ReadonlyMap<string, FlagSpec>,
    private readonly values: ReadonlyMap<string, FlagValue | FlagValue[]>,
  ) {}

  /** Was the flag given on the command line? */
  has(name: string): boolean {
    return this.values.has(name);
  }

  /** Names of every flag given. */
  given(): string[] {
    return [...this.values.keys()];
  }

  private single(name: string): FlagValue | undefined {
    const spec = this.specs.get(name);
    if (!spec) throw new Error(`unknown flag ${name} (a bug: flags must be declared)`);
    const v = this.values.get(name);
    if (v !== undefined) return Array.isArray(v) ? v[v.length - 1] : v;
    return defaultValue(spec);
  }

  bool(name: string): boolean {
    return this.single(name) === true;
  }

  string(name: string): string {
    const v = this.single(name);
    return v === undefined ? '' : String(v);
  }

  number(name: string): number {
    const v = this.single(name);
    return typeof v === 'number' ? v : 0;
  }

  list(name: string): string[] {
    const v = this.values.get(name);
    if (v === undefined) return [];
    return (Array.isArray(v) ? v : [v]).map(String);
  }

  numbers(name: string): number[] {
    const v = this.values.get(name);
    if (v === undefined) return [];
    return (Array.isArray(v) ? v : [v]) as number[];
  }
}
