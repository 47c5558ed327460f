/**
 * Go `flag`-package parsing (spec §1.1), so gor command lines work unchanged:
 *  - `-name` and `--name` are the same flag; values attach with `=` or come as the next argument;
 *  - bool flags take no separate value (`--flag` or `--flag=false`);
 *  - repeatable flags keep every occurrence in order; other flags: the last one wins;
 *  - a lone `--` ends the flags.
 * Unlike gor, a stray positional argument is an error: gor stops parsing there and silently ignores the
 * rest of the command line (`--split-output true --output-http X` loses the output). So is a text flag whose
 * next argument is another flag (`--output-file --stats`): gor takes it as the value; `--output-file=--stats`
 * still gives it.
 */
import { ERROR_CODES, TaplineError } from '../core/errors.js';
import { type FlagSet, type FlagSpec, FlagSet as Flags, type FlagValue, parseFlagValue } from '../core/flags.js';
import { redactText } from '../core/redact.js';

export interface ParsedArgs {
  flags: FlagSet;
  help: boolean;
  /** Arguments after a lone `--`. */
  rest: string[];
}

/** What Go's strconv.ParseBool takes. */
export const GO_BOOL_WORD = /^(1|0|t|f|T|F|true|false|TRUE|FALSE|True|False)$/;

export function parseArgv(argv: readonly string[], specs: ReadonlyMap<string, FlagSpec>): ParsedArgs {
  const values = new Map<string, FlagValue | FlagValue[]>();
  let help = false;
  let i = 0;
  // Values are quoted in these messages: a URL's password or a ?token= in one is masked (docs/errors.md).
  const usage = (message: string, where: string) => new TaplineError(ERROR_CODES.USAGE, redactText(message), { where });
  while (i < argv.length) {
    const arg = argv[i]!;
    i++;
    if (arg === '--') return { flags: new Flags(specs, values), help, rest: argv.slice(i) };
    if (!arg.startsWith('-') || arg === '-') {
      if (arg === 'file-server' && i === 1) {
        throw new TaplineError(
          ERROR_CODES.NOT_IMPLEMENTED,
          "gor's file-server subcommand is not built in tapline; any static file server does its job " +
            '(python3 -m http.server 80, npx http-server -p 80)',
          { where: 'file-server' },
        );
      }
      const prev = argv[i - 2];
      const hint =
        // `-flag 0` after a boolean flag is no false in Go either: gor stops reading flags there.
        prev !== undefined && GO_BOOL_WORD.test(arg) && specs.get(prev.replace(/^--?/, ''))?.kind === 'bool'
          ? ` (boolean flags take no separate value: write ${prev}=${arg.toLowerCase()})`
          : arg === 'help' || arg === 'version'
            ? ` (did you mean --${arg}?)`
            : (typographicDash(arg) ?? ' (flags start with - or --; quote values that contain spaces)');
      throw usage(`unexpected argument ${JSON.stringify(arg)}${hint}`, `argument ${i}`);
    }
    const body = arg.startsWith('--') ? arg.slice(2) : arg.slice(1);
    if (body === '' || body.startsWith('-') || body.startsWith('=')) throw usage('bad flag syntax', arg);
    const eq = body.indexOf('=');
    const name = eq === -1 ? body : body.slice(0, eq);
    let text = eq === -1 ? undefined : body.slice(eq + 1);
    if (name === 'h' || name === 'help') {
      help = true;
      continue;
    }
    const spec = specs.get(name);
    // `tapline --version` works alone (main.ts); beside other arguments it is no flag, but no unknown one either.
    if (!spec && name === 'version') throw usage('prints the version on its own: run tapline --version', arg);
    // gor's FAQ sends users to --input-http (for TLS traffic), but gor 2.0 does not register it either; the near
    // miss --input-tcp would mislead: it takes a gor stream from another tapline or gor, not HTTP requests.
    if (!spec && name === 'input-http') {
      throw usage(
        "unknown flag: gor's FAQ names it, but gor 2.0 has no --input-http either; capture the traffic with " +
          '--input-raw :PORT (behind the proxy that ends TLS), or take a gor stream with --input-tcp :PORT',
        eq === -1 ? arg : arg.slice(0, arg.indexOf('=')),
      );
    }
    // A flag and its value in one argument: a quoted "--input-raw :80", or one item of a Docker CMD or Kubernetes
    // args list (["--input-raw :80"]). gor calls it an unknown flag too.
    const joined = /^([^\s=]+)\s+(\S[\s\S]*)$/.exec(body);
    const joinedSpec = !spec && joined ? specs.get(joined[1]!) : undefined;
    if (joined && joinedSpec) {
      const [, flag, value] = joined;
      const fix = joinedSpec.kind === 'bool' ? '' : 'give them as two arguments, or ';
      throw usage(
        `unknown flag: the flag --${flag} and its value are one argument here (quoted together, or one item of a ` +
          `Docker or Kubernetes args list): ${fix}write --${flag}=${value}`,
        arg,
      );
    }
    // Named as typed (`--bogus`, or gor's `-bogus`), without its `=value`.
    if (!spec) throw usage(`unknown flag${suggest(name, specs)}`, eq === -1 ? arg : arg.slice(0, arg.indexOf('=')));
    if (spec.kind === 'bool') {
      text ??= 'true';
    } else if (text === undefined) {
      if (i >= argv.length) throw usage('flag needs a value', `--${name}`);
      text = argv[i]!;
      i++;
      // gor takes it as the value (`--output-file --stats` writes files named --stats_0…, `--http-allow-url
      // --prettify-http` drops every request) and the flag meant goes missing: a value left out, most likely.
      // A number, duration or size cannot be a flag name either: said as the value left out, not as a bad number.
      if (isFlagName(text, specs)) {
        const onPurpose = spec.kind === 'string' ? ` (if that is the value, write --${name}=${text})` : '';
        throw usage(`needs a value, and the next argument is the flag ${text}${onPurpose}`, `--${name}`);
      }
    }
    let value: FlagValue;
    try {
      value = parseFlagValue(spec, text);
    } catch (err) {
      throw usage((err as Error).message, `--${name}`);
    }
    if (spec.multi) {
      const list = values.get(name);
      if (Array.isArray(list)) list.push(value);
      else values.set(name, [value]);
    } else {
      const before = values.get(name);
      if (spec.once && before !== undefined && before !== value) {
        throw usage(
          `given twice (${JSON.stringify(String(before))}, then ${JSON.stringify(text)}): ${spec.once}`,
          `--${name}`,
        );
      }
      values.set(name, value);
    }
  }
  return { flags: new Flags(specs, values), help, rest: [] };
}

/**
 * A command line pasted from a web page or a word processor: `—input-file`, `–input-file`, `−−output-null`
 * start with a dash that looks like `-` and is not one. Said, with the flag as it must be typed.
 */
function typographicDash(arg: string): string | undefined {
  const m = /^[\u2010-\u2015\u2212\uFE58\uFE63\uFF0D]+/u.exec(arg);
  if (!m) return undefined;
  const code = m[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
  return ` (it starts with "${m[0][0]}" (U+${code}), not "-": type it as --${arg.slice(m[0].length)})`;
}

/** `--stats`, `-output-null=true`, `--help`: an argument that names a flag tapline knows. */
function isFlagName(arg: string, specs: ReadonlyMap<string, FlagSpec>): boolean {
  const m = /^--?([^-=][^=]*)(=|$)/.exec(arg);
  return m !== null && (specs.has(m[1]!) || ['h', 'help', 'version'].includes(m[1]!));
}

/**
 * " (did you mean --output-file?)" for near misses; for a name cut short (`--exit`, `--input-raw-bpf`), the
 * flags it begins, when there are at most three.
 */
function suggest(name: string, specs: ReadonlyMap<string, FlagSpec>): string {
  let best: string | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  for (const candidate of specs.keys()) {
    const d = distance(name, candidate);
    if (d < bestScore) {
      bestScore = d;
      best = candidate;
    }
  }
  if (best !== undefined && bestScore <= Math.max(2, Math.floor(name.length / 4))) return ` (did you mean --${best}?)`;
  const longer = name.length >= 3 ? [...specs.keys()].filter((candidate) => candidate.startsWith(name)) : [];
  if (longer.length === 0 || longer.length > 3) return '';
  return ` (did you mean ${longer.map((c) => `--${c}`).join(' or ')}?)`;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}
