/**
 * `tapline report FILE...`: where the bytes of a recording went — .gor (also gzipped), pcap or pcapng
 * (`dump.pcap:80` names the server ports; without, every port). Prints a table, or `--json` (the same
 * object as the last --stats line's analytics part) or `--csv`; `--compare baseline.gor` adds per-route
 * change; budgets (`--max-total` …) exit 3 with the routes that broke them; `--parquet FILE` writes one row
 * per exchange (DuckDB, optional).
 *
 *   files ─▶ report-input (feed) ─▶ analytics ─▶ snapshot ─┬─▶ table / JSON / CSV (stdout)
 *                                       └─▶ parquet rows    └─▶ budgets ─▶ breaches (stderr), exit 3
 *
 * `-` is standard input; it and any input that cannot be read by offset (a FIFO, /dev/stdin, `<(zcat x.gor.gz)`)
 * are read as streams, their kind from their first bytes (report-stream.ts).
 *
 * Exit codes: 0 fine, 2 usage, 1 a file could not be read or held nothing readable (see unusableInputs), or
 * budgets were given and no request was found (unless --allow-empty), 3 a budget is broken; 128 + the
 * signal's number (130 SIGINT, 143 SIGTERM, 129 SIGHUP) when a signal stopped the reading: the report of what
 * was read is printed marked partial, the Parquet file written, and budgets are not passed on part of the input.
 *
 *   SIGINT/SIGTERM/SIGHUP ─▶ stop (AbortController) ─▶ feed ends at its next chunk ─▶ partial report, exit 128+n
 *   the same again (signals.ts's rule) ─▶ exit at once, 128+n, nothing more printed
 */
import { existsSync, fstatSync, realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { budgetsFromFlags, evaluateBudgets, hasBudgets } from '../analytics/budgets.js';
import type { ParquetWriter } from '../analytics/export/parquet.js';
import { analyticsFlags } from '../analytics/flags.js';
import { type Analytics, createAnalytics } from '../analytics/index.js';
import type { AnalyticsSnapshot } from '../analytics/types.js';
import { ERROR_CODES, TaplineError } from '../core/errors.js';
import type { FlagSet, FlagSpec } from '../core/flags.js';
import { createLogger } from '../core/log.js';
import { formatBytes, groupDigits, namesOf } from '../core/values.js';
import { canMapFiles } from '../inputs/file-map.js';
import { GO_BOOL_WORD, parseArgv } from './argv.js';
import { EXIT_BUDGET, EXIT_FAILED } from './exit-codes.js';
import { REPORT_HELP, renderHelp } from './help.js';
import { expandChunkNames } from './report-chunks.js';
import { compareSnapshots, formatCompare, formatCompareCsv, formatCsv, formatReport } from './report-format.js';
import {
  type FeedResult,
  feedFiles,
  inputKind,
  mayHoldReplayed,
  portsOf,
  type ReportProgress,
  recordAt,
  splitPorts,
} from './report-input.js';
import { isStreamInput, openStreamInput, STDIN, type StreamInput } from './report-stream.js';
import { createSignalHandler, type SubcommandProcess, signalExitCode } from './signals.js';
import { StatusLine } from './status-line.js';

const SECTION = 'Report';

export const reportFlags: Readonly<Record<string, FlagSpec>> = {
  ...analyticsFlags,
  json: {
    kind: 'bool',
    section: SECTION,
    help: 'Print the analytics snapshot as JSON (the --stats fields) on standard output.',
  },
  csv: {
    kind: 'bool',
    section: SECTION,
    help: "Print one CSV row per route on standard output (a route or host a spreadsheet would run as a formula starts with ').",
  },
  top: {
    kind: 'int',
    min: '1',
    default: '10',
    section: SECTION,
    value: 'N',
    help: 'Rows per table (and top_endpoints), and budget lines per budget.',
  },
  compare: {
    kind: 'string',
    section: SECTION,
    value: 'FILE',
    help: 'A baseline recording: show per-route change in bytes and latency against it.',
  },
  parquet: {
    kind: 'string',
    section: SECTION,
    value: 'FILE',
    help: 'Also write one row per exchange to this Parquet file (not one of the inputs; needs the optional @duckdb/node-api).',
  },
  responses: {
    kind: 'string',
    default: 'auto',
    section: SECTION,
    value: 'WHICH',
    help: "Which responses to account: auto (a replayed response, type 3, wins over the original, type 2; of several replays' answers, the latest), original or replayed.",
  },
  progress: {
    kind: 'bool',
    default: 'true',
    section: SECTION,
    help: 'Show a progress line on a terminal for inputs over 16 MiB.',
  },
  'allow-empty': {
    kind: 'bool',
    section: SECTION,
    help: 'With budgets: exit 0 when the files hold no request at all. Without it that exits 1: a budget check on nothing is most likely a replay or recording that failed.',
  },
};

/**
 * Inputs that held records, none of them readable: a file of another kind (a JSON dump, text), not a
 * recording with a few bad records. Each was warned about record by record; the report names it once more and
 * exits 1, as tcpdump does for a file that is not a capture.
 */
function unusableInputs(inputs: Record<string, Record<string, number | string>>): string[] {
  const out: string[] = [];
  for (const [name, stats] of Object.entries(inputs)) {
    const bad = Number(stats.bad_records ?? 0);
    if (Number(stats.records ?? 0) === 0 && bad > 0)
      out.push(`${name}: no readable .gor record (${bad} bad record(s) skipped, named above): not a .gor recording?`);
  }
  return out;
}

/**
 * Inputs whose reading stopped at an error part way (a gzip file or a capture cut short, a read error): warned with the
 * offset where it happened; the report holds what came before, and the run exits 1 (budgets judged on part of
 * a file could pass a build that would not).
 */
function unreadEnds(inputs: Record<string, Record<string, number | string>>, partial: boolean): string[] {
  // file_cut_short: a capture that ends inside a packet record (tcpdump -r exits 1 on it, tshark -r 2); not said of
  // a report a signal cut, whose stream may end anywhere.
  return Object.entries(inputs)
    .filter(([, stats]) => Number(stats.file_errors ?? 0) > 0 || (!partial && Number(stats.file_cut_short ?? 0) > 0))
    .map(([name]) => name);
}

/** Why a capture's incomplete messages were left out, in the words of the table's note. */
const INCOMPLETE_REASONS: readonly (readonly [string, string])[] = [
  ['incomplete_gap', 'with bytes the capture missed'],
  ['incomplete_eof', 'cut short by the end of the capture or a reset'],
  ['incomplete_expired', 'on a connection that went idle'],
  ['incomplete_malformed', 'whose length could not be trusted'],
];

/**
 * The messages capture inputs left out as incomplete (a lost segment, a snaplen cut, the capture's end): in no
 * route above, so a capture with losses would look whole without this line. Null when there are none.
 */
function leftOutNote(inputs: Record<string, Record<string, number | string>>): string | null {
  const sum = (key: string) => Object.values(inputs).reduce((n, i) => n + Number(i[key] ?? 0), 0);
  const dropped = sum('incomplete_dropped');
  if (dropped === 0) return null;
  const why = INCOMPLETE_REASONS.filter(([key]) => sum(key) > 0).map(([key, words]) => {
    const lost = key === 'incomplete_gap' && sum('bytes_lost') > 0;
    return `${groupDigits(sum(key))} ${words}${lost ? `: ${formatBytes(sum('bytes_lost'))} in ${groupDigits(sum('gaps'))} gap(s)` : ''}`;
  });
  return (
    `\nLeft out as incomplete: ${groupDigits(dropped)} message(s) (${why.join('; ')}); the answer to a request ` +
    'left out is under (no request) (incomplete_dropped and incomplete_* in --json)'
  );
}

const PROGRESS_FROM_BYTES = 16 * 1024 * 1024;

/** Splits positional file names from flags (flags may come before or after the files). */
function splitArgs(argv: readonly string[]): { files: string[]; flagArgs: string[] } {
  const files: string[] = [];
  const flagArgs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      files.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || /^-(:[\d,]+)?$/.test(arg)) {
      files.push(arg);
      continue;
    }
    flagArgs.push(arg);
    const name = arg.replace(/^--?/, '');
    const spec = reportFlags[name];
    if (spec && spec.kind !== 'bool' && i + 1 < argv.length) flagArgs.push(argv[++i]!);
    // '--progress false' (as a value is given to other flags): 'false' would be read as a file, 'cannot read:
    // ENOENT', where the run's flags say how to write it. A file of that name is still read.
    const word = argv[i + 1];
    if (
      spec?.kind === 'bool' &&
      !arg.includes('=') &&
      word !== undefined &&
      GO_BOOL_WORD.test(word) &&
      !existsSync(word)
    ) {
      throw usage(
        `unexpected argument ${JSON.stringify(word)} (boolean flags take no separate value: write ${arg}=${word.toLowerCase()})`,
        'tapline report',
      );
    }
    // '--csv out.csv' (as --parquet takes a file): out.csv would be read as an input, and a CSV left by an
    // earlier run fail as 'not a .gor recording?'.
    const next = argv[i + 1];
    if ((name === 'csv' || name === 'json') && next !== undefined && next.toLowerCase().endsWith(`.${name}`)) {
      throw usage(
        `takes no file name: the ${name.toUpperCase()} goes to standard output ` +
          `(tapline report FILE --${name} > ${next}); ${next} would be read as an input`,
        `--${name}`,
      );
    }
  }
  return { files, flagArgs };
}

/**
 * Each file once: a file named twice (`report replayed_*.gor replayed_0.gor`, overlapping globs) would be
 * read twice and count every byte double, which a budget would then judge. `dump.pcap:80` and `dump.pcap:8080`
 * stay apart (different ports, different exchanges).
 */
function readOnce(files: readonly string[], note: (line: string) => void): string[] {
  const seen = new Map<string, string>();
  const out: string[] = [];
  for (const spec of files) {
    const { path, ports } = splitPorts(spec);
    let key: string;
    try {
      key = `${realpathSync(path)}:${ports}`;
    } catch {
      key = resolve(spec); // missing: left for the readability check to name
    }
    const first = seen.get(key);
    if (first !== undefined) {
      note(`tapline: ${spec} is ${first === spec ? 'named' : `the same file as ${first}, named`} again: read once`);
      continue;
    }
    seen.set(key, spec);
    out.push(spec);
  }
  return out;
}

/**
 * `x.gor:80` (or `dump.bin:80`) names no file, but `x.gor` is one: ports are taken after a .pcap, .pcapng or .cap
 * name only, so the whole argument was a file name that does not exist ('cannot read: ENOENT').
 */
function portsOnNoCapture(spec: string): void {
  const m = /^(.+):[\d,]+$/.exec(spec);
  if (!m || splitPorts(spec).ports !== '' || existsSync(spec) || !existsSync(m[1]!)) return;
  const path = m[1]!;
  const holds =
    inputKind(path) === 'pcap'
      ? 'a capture without a .pcap, .pcapng or .cap name (ports are read after those: rename it, or name no port)'
      : 'a .gor recording';
  throw usage(`${spec}: ports name a capture's server ports; ${path} holds ${holds}`, 'tapline report');
}

/**
 * `--parquet` naming a file this report reads (`report rec.gor --parquet rec.gor`, the --compare baseline, a link
 * to either): DuckDB writes the Parquet file once the reading is done, over the recording, without a word.
 */
function parquetNotAnInput(parquetFile: string, files: readonly string[], baseFiles: readonly string[]): void {
  const target = fileIdentity(parquetFile);
  if (target === undefined) return;
  const same = (f: string) => fileIdentity(splitPorts(f).path) === target;
  const input = files.find(same);
  const baseline = input === undefined ? baseFiles.find(same) : undefined;
  const named = input ?? baseline;
  if (named === undefined) return;
  const what = baseline === undefined ? 'an input' : 'the --compare baseline';
  const other = `${parquetFile.replace(/(\.(gor|pcap|pcapng|cap))?(\.gz)?$/i, '')}.parquet`;
  throw usage(
    `${parquetFile} is ${named === parquetFile ? what : `the same file as ${named}, ${what}`} of this report: the ` +
      `Parquet file would be written over it once it is read${other === parquetFile ? '' : ` (name another file, e.g. ${other})`}`,
    '--parquet',
  );
}

/**
 * `--parquet /dev/stdout` (or any name of standard output): the table, or --json / --csv, goes there too, and
 * the Parquet bytes came out mixed into it (a JSON consumer read garbage, exit 0).
 */
function parquetNotStdout(parquetFile: string): void {
  const target = fileIdentity(parquetFile);
  let stdout: string | undefined;
  try {
    const s = fstatSync(1, { bigint: true });
    stdout = `${s.dev}:${s.ino}`;
  } catch {
    return; // no standard output: nothing to mix with
  }
  if (target === undefined || target !== stdout) return;
  throw usage(
    `${parquetFile} is standard output, where the report itself goes (its table, or --json / --csv): the ` +
      'Parquet bytes would be mixed into it; name a file for --parquet (e.g. exchanges.parquet)',
    '--parquet',
  );
}

/** A file's device and inode (the same file under two names, a link), or undefined when there is none. */
function fileIdentity(path: string): string | undefined {
  try {
    const s = statSync(path, { bigint: true });
    return `${s.dev}:${s.ino}`;
  } catch {
    return undefined;
  }
}

function usage(message: string, where: string): TaplineError {
  return new TaplineError(ERROR_CODES.USAGE, message, { where });
}

async function analyticsFor(
  flags: FlagSet,
  files: readonly string[],
  stop: AbortSignal,
  ipv6Clients: ReadonlyMap<string, string>,
  streams: ReadonlyMap<string, StreamInput>,
): Promise<{ analytics: Analytics; preferReplayed: boolean }> {
  const responses = flags.string('responses');
  if (!['auto', 'original', 'replayed'].includes(responses)) {
    throw usage(`${JSON.stringify(responses)} is not one of auto, original, replayed`, '--responses');
  }
  const routeLimit = flags.number('route-limit'); // at least 1 (the flag's min)
  // auto: a replayed response wins, so originals wait for one, but only when the files may hold any.
  const preferReplayed = responses === 'auto' && (await mayHoldReplayed(files, stop, streams));
  const analytics = createAnalytics({
    routes: flags.list('route'),
    routeLimit,
    timeBase: 'input',
    top: flags.number('top'),
    preferReplayed,
    // A replayed .gor replayed again holds each request's answers from both replays: the latest is accounted.
    latestReplayed: preferReplayed || responses === 'replayed',
    // A replay writes an answer when the target gives it, some records after its request: how far is the replay's
    // pace, not the recording's time, so a request waits for it by count (maxPending), not 60 s of recorded time
    // (a recording of requests 90 s apart had each original counted and its replayed answer made a duplicate).
    ...(preferReplayed || responses === 'replayed' ? { pendingTimeoutMs: Number.POSITIVE_INFINITY } : {}),
    responses: responses === 'auto' ? 'any' : responses === 'original' ? 'original' : 'replayed',
    clientFromId: files.some(
      (f) => /\.(pcap|pcapng|cap)(:[\d,]+)?$/i.test(f) || streams.get(splitPorts(f).path)?.kind === 'pcap',
    ),
    ipv6Clients,
  });
  return { analytics, preferReplayed };
}

/**
 * Several replays' answers in one file (docs/analytics.md, several replays in one file): a replayed.gor replayed
 * again with --output-file keeps the earlier replay's type-3 records beside its own. Each request's latest
 * answer (by the replay's clock) is accounted and the earlier ones are left out (earlier_replay_responses);
 * answers that still came after their request's exchange was closed are duplicates under (no request).
 */
function replayLines(snapshot: AnalyticsSnapshot, files: readonly string[], preferReplayed: boolean): string[] {
  const { earlier_replay_responses: earlier, duplicate_responses: late } = snapshot.accounting;
  const out: string[] = [];
  if (earlier > 0) {
    out.push(
      `tapline: warning: ${namesOf(files)}: ${groupDigits(earlier)} replayed response(s) answer requests that a ` +
        "later replay answered too (a replayed .gor replayed again with --output-file keeps the earlier replay's " +
        'type-3 records beside its own): each request counts its latest answer, by the replay clock, and the ' +
        'earlier ones are left out of the routes and totals (earlier_replay_responses in --json); the earlier ' +
        "replay's numbers are in the file it wrote (this replay's input): --compare it",
    );
  }
  if (preferReplayed && late > 0) {
    out.push(
      `tapline: warning: ${namesOf(files)}: ${groupDigits(late)} response(s) came for a request whose exchange ` +
        'was already counted (duplicate_responses: its answer came first, or it waited 60 s of recorded time or ' +
        'was pushed out by 100,000 waiting requests); they are under (no request), their bytes in the totals',
    );
  }
  return out;
}

/**
 * `--responses replayed` (or `original`) that found not one response of its kind: every request shows as no
 * response, and a latency budget has nothing to break, so a CI check passed on the wrong file (the recording
 * instead of the replay's file, a replay whose target never answered) without a word.
 */
function noneOfKindLine(snapshot: AnalyticsSnapshot, files: readonly string[], responses: string): string[] {
  const requests = snapshot.total_requests;
  if (responses === 'auto' || requests === 0 || snapshot.totals.responses > 0) return [];
  const [kind, hint] =
    responses === 'replayed'
      ? [
          'replayed response (type 3)',
          'the recording rather than the file a replay with --output-http-track-response wrote, or a replay whose ' +
            'target never answered? --responses auto counts the original responses when there is no replayed one',
        ]
      : ['original response (type 2)', '--responses auto or replayed counts the replayed ones'];
  return [
    `tapline: warning: ${namesOf(files)}: --responses ${responses}: not one ${kind} in ${groupDigits(requests)} ` +
      `request(s): every request shows as no response, and no latency budget can break (${hint})`,
  ];
}

/**
 * Messages the files hold cut (a mark `incomplete=REASON` in their meta line): counted as they are, their bytes
 * fewer than were sent, so a budget could pass on numbers too small. Said, with the --json field.
 */
function cutLines(snapshot: AnalyticsSnapshot, inputs: FeedResult['inputs'], prefix = ''): string[] {
  const { replayed_responses_cut: replayed, marked_incomplete: marked } = snapshot.accounting;
  // The files that hold them (counted per file in --json's inputs).
  const holding = (key: string) =>
    namesOf(
      Object.entries(inputs)
        .filter(([, stats]) => Number(stats[key] ?? 0) > 0)
        .map(([name]) => `${prefix}${name}`),
    );
  const out: string[] = [];
  if (replayed > 0) {
    out.push(
      `tapline: warning: ${holding('replayed_responses_cut')}: ${groupDigits(replayed)} replayed response(s) were cut at record time ` +
        '(incomplete=response-buffer: the replay kept only the first --output-http-response-buffer bytes of each): ' +
        'their body bytes are what the file holds, not what the server sent, so the totals and budgets count ' +
        'fewer bytes (replayed_responses_cut in --json); replay with a larger --output-http-response-buffer to ' +
        'measure them whole',
    );
  }
  if (marked > 0) {
    out.push(
      `tapline: warning: ${holding('marked_incomplete')}: ${groupDigits(marked)} request(s) or original response(s) are marked ` +
        'incomplete (incomplete=REASON in their meta line: recorded with --input-raw-allow-incomplete, or cut at ' +
        '--input-raw-max-size or --input-raw-memory-budget): they are counted as the file holds them, fewer bytes ' +
        'than were sent (marked_incomplete in --json)',
    );
  }
  return out;
}

/**
 * The same requests again (repeated_rounds: a request of the input's first ones seen again with its id and
 * timestamp): rounds appended to one file (--output-file-append run twice, a recording copied in twice) add up.
 * Says where each new round starts: the file, the record's number and offset (the file read again up to it).
 */
async function roundsLine(analytics: Analytics, snapshot: AnalyticsSnapshot, fed: FeedResult, what: string) {
  const n = snapshot.accounting.repeated_rounds;
  if (n === 0) return undefined;
  const starts: string[] = [];
  for (const m of analytics.roundStarts()) {
    const input = fed.messages.find((i) => m >= i.from && m < i.to);
    if (!input) continue;
    const index = m - input.from;
    const gz = input.kind === 'gor.gz';
    const at = input.kind === 'pcap' || input.stream ? undefined : await recordAt(input.path, gz, index);
    starts.push(
      at
        ? `${input.spec} record ${groupDigits(at.record)} (byte ${groupDigits(at.offset)}` +
            `${gz ? ' of the decompressed data' : ''})`
        : `${input.spec} record ${groupDigits(index + 1)} (counted as read: ${input.stream ? 'a stream' : 'a capture'} ` +
            'is not read again for its offset)',
    );
  }
  const more = n > starts.length ? ` and ${n - starts.length} more` : '';
  return (
    `tapline: warning: ${what}: the same requests come again (the same ids and timestamps): ` +
    `${n === 1 ? 'a new round starts' : `${groupDigits(n)} new rounds start`} at ${starts.join(', ')}${more}; ` +
    `the report adds the ${groupDigits(n + 1)} rounds up (requests, bytes and latencies of all of them; each ` +
    'request paired within its round; repeated_rounds in --json). A replay appended to one file again ' +
    '(--output-file-append), chunks a second replay wrote under the same name (replayed_N.gor go on from the ' +
    "last run's), or a recording copied in twice do this: remove an earlier replay's files before replaying, or " +
    'write each replay to a file of its own and --compare them'
  );
}

/** What the stderr warning and --json say of a report a signal cut short. */
interface Partial {
  signal: NodeJS.Signals;
  /** The file reading stopped in, its bytes read and size (null: a stream); the files never opened. */
  stopped_in: string;
  file_bytes_read: number;
  file_size: number | null;
  unread: string[];
  records: number;
  bytes_read: number;
  /** null: an input is a stream, whose size is not known. */
  bytes_total: number | null;
}

function partialOf(signal: NodeJS.Signals, fed: FeedResult, progress: ReportProgress): Partial | undefined {
  const at = fed.interrupted;
  if (!at) return undefined;
  return {
    signal,
    stopped_in: at.file,
    file_bytes_read: at.bytesRead,
    file_size: at.stream ? null : at.size,
    unread: at.unread,
    records: progress.records,
    bytes_read: progress.bytesRead,
    bytes_total: fed.streamed ? null : progress.bytesTotal,
  };
}

const share = (part: number, whole: number) => (whole > 0 ? `${Math.floor((100 * part) / whole)}%` : '0%');

/** `part of whole (n%)`, or `part (a stream: its size is not known)` when the whole is not known. */
function outOf(part: number, whole: number | null, format: (n: number) => string): string {
  return whole === null
    ? `${format(part)} (a stream: its size is not known)`
    : `${format(part)} of ${format(whole)} (${share(part, whole)})`;
}

/** The stderr line saying how far a stopped report got. */
function partialLine(p: Partial, what: string): string {
  const unread = p.unread.length > 0 ? `; not read: ${namesOf(p.unread)}` : '';
  return (
    `tapline: warning: ${p.signal}: the ${what} is partial: reading stopped in ${p.stopped_in} at byte ` +
    `${outOf(p.file_bytes_read, p.file_size, groupDigits)}${unread}; ${groupDigits(p.records)} records, ` +
    `${formatBytes(p.bytes_read)}${p.bytes_total === null ? '' : ` of ${formatBytes(p.bytes_total)}`} read in all`
  );
}

export async function runReport(argv: readonly string[], proc?: SubcommandProcess): Promise<number> {
  const specs = new Map(Object.entries(reportFlags));
  const { files: named, flagArgs } = splitArgs(argv);
  const parsed = parseArgv(flagArgs, specs);
  if (parsed.help) {
    process.stdout.write(renderHelp(specs, REPORT_HELP));
    return 0;
  }
  const flags = parsed.flags;
  if (named.length === 0) throw usage('name at least one .gor, pcap or pcapng file', 'tapline report');
  // Usually a shell variable that was empty ('--compare "$BASELINE"'): the comparison or the Parquet file was left
  // out in silence, exit 0, and a file named '' said 'cannot read: ENOENT … open ''', naming nothing.
  if (named.includes('')) throw usage('a file name is empty (an unset shell variable?)', 'tapline report');
  for (const name of ['compare', 'parquet']) {
    if (flags.has(name) && flags.string(name) === '') {
      throw usage('the file name is empty (an unset shell variable?)', `--${name}`);
    }
  }
  // Standard input can be read once: named twice, the second would read nothing (or steal the first's bytes).
  const compareArg = flags.string('compare');
  const fromStdin = [...named, compareArg].filter((f) => splitPorts(f).path === STDIN);
  if (fromStdin.length > 1) {
    throw usage(
      `standard input ("-") is named ${fromStdin.length} times (${fromStdin.join(', ')}): it can be read once`,
      splitPorts(compareArg).path === STDIN ? '--compare' : 'tapline report',
    );
  }
  const note = (line: string) => process.stderr.write(`${line}\n`);
  const files = readOnce(expandChunkNames(named, note), note);
  if (flags.bool('json') && flags.bool('csv')) throw usage('choose one of --json and --csv', '--csv');
  const budgets = budgetsFromFlags(flags);
  const top = flags.number('top');
  const compare = flags.string('compare');
  const baseFiles = compare ? expandChunkNames([compare], note) : [];
  const streamPaths = new Set<string>();
  for (const f of [...files, ...baseFiles]) {
    const { path } = splitPorts(f);
    if (await isStreamInput(path)) streamPaths.add(path);
  }
  // Every file readable and every port list valid first, before any work (a stream is opened below: its
  // first bytes can be read only once).
  for (const f of [...files, ...baseFiles]) {
    portsOnNoCapture(f);
    const { path } = splitPorts(f);
    if (!streamPaths.has(path) && inputKind(path) === 'pcap') portsOf(f);
  }
  const parquetFile = flags.string('parquet');
  if (parquetFile) {
    parquetNotAnInput(parquetFile, files, baseFiles);
    parquetNotStdout(parquetFile);
  }
  // The baseline one of the files compared with it ('report replayed.gor --compare replayed.gor', a link): every
  // change of that file reads +0.0%, a comparison that passes whatever it holds.
  const idOf = (f: string) => fileIdentity(splitPorts(f).path) ?? `none:${f}`; // standard input: none
  const inputIds = new Map(files.map((f) => [idOf(f), f]));
  const sameAsBase = baseFiles.map((b) => inputIds.get(idOf(b))).find((f) => f !== undefined);
  if (compare && sameAsBase !== undefined) {
    process.stderr.write(
      `tapline: warning: --compare ${compare}: the baseline is also read as an input (${sameAsBase}): the change ` +
        'compares it with itself; the baseline is meant to be an earlier recording or replay\n',
    );
  }

  const progress: ReportProgress = { records: 0, bytesRead: 0, bytesTotal: 0 };
  // IPv6 clients of capture files, by id prefix: the ids alone carry 4 bytes of an address (client column).
  const ipv6Clients = new Map<string, string>();
  let status: StatusLine | undefined;
  const log = createLogger({ write: (line) => (status ? status.write(line) : process.stderr.write(`${line}\n`)) });
  // SIGINT/SIGTERM/SIGHUP stop the reading; the report of what was read is printed (the rule of signals.ts).
  const stop = new AbortController();
  let signalled: NodeJS.Signals | undefined;
  const handler = createSignalHandler({
    isStopping: () => stop.signal.aborted,
    stop: () => stop.abort(),
    exitNow: () => {
      status?.stop(); // the terminal's next line starts clean
      proc?.exit(signalExitCode(signalled ?? 'SIGINT'));
    },
    log,
    stopping: 'printing the report of what was read',
    abandoning: 'finishing the report and its --parquet file',
  });
  const signals = proc?.onStopSignals((signal) => {
    signalled ??= signal;
    handler(signal);
  }, log);
  const streams = new Map<string, StreamInput>();
  try {
    for (const path of streamPaths) {
      const stream = await openStreamInput(path, stop.signal);
      streams.set(path, stream);
    }
    for (const f of [...files, ...baseFiles]) {
      const { path, ports } = splitPorts(f);
      const kind = streams.get(path)?.kind;
      if (kind === 'pcap') portsOf(f);
      else if (kind !== undefined && ports !== '') {
        throw usage(`${f}: ports name a capture's server ports; ${path} holds a .gor recording`, 'tapline report');
      }
    }
    const { analytics, preferReplayed } = await analyticsFor(flags, files, stop.signal, ipv6Clients, streams);
    const parquet = parquetFile ? await openParquet(parquetFile) : undefined;
    if (parquet) analytics.onExchange((e) => parquet.add(e));
    showProgress(progress);
    return await readAndReport(analytics, parquet, preferReplayed);
  } finally {
    signals?.remove();
    for (const stream of streams.values()) stream.close(); // standard input let go: the process can end
  }

  /** The progress line on a terminal for the reading of `p` (the files, then a --compare baseline). */
  function showProgress(p: ReportProgress): void {
    if (!flags.bool('progress') || process.stderr.isTTY !== true) return;
    status?.stop();
    // A stream has no size: shown once that much has been read, without a percentage (bytesTotal 0).
    const big = () => (streams.size > 0 ? p.bytesRead >= PROGRESS_FROM_BYTES : p.bytesTotal >= PROGRESS_FROM_BYTES);
    status = new StatusLine(process.stderr, () => (big() ? p : undefined));
    status.start();
  }

  async function readAndReport(
    analytics: Analytics,
    parquet: ParquetWriter | undefined,
    preferReplayed: boolean,
  ): Promise<number> {
    let snapshot: AnalyticsSnapshot;
    let inputs: Record<string, Record<string, number | string>>;
    let baseline: AnalyticsSnapshot | undefined;
    let baseInputs: FeedResult['inputs'] = {};
    let partial: Partial | undefined;
    let basePartial: Partial | undefined;
    let basePrefersReplayed = false;
    const rounds: (string | undefined)[] = [];
    try {
      const fed = await feedFiles(files, analytics, log, progress, canMapFiles(), stop.signal, ipv6Clients, streams);
      inputs = fed.inputs;
      partial = partialOf(signalled ?? 'SIGINT', fed, progress);
      snapshot = analytics.snapshot();
      rounds.push(await roundsLine(analytics, snapshot, fed, namesOf(files)));
      if (compare) {
        const baseClients = new Map<string, string>();
        const { analytics: base, preferReplayed: baseReplayed } = await analyticsFor(
          flags,
          baseFiles,
          stop.signal,
          baseClients,
          streams,
        );
        basePrefersReplayed = baseReplayed;
        const baseProgress = { records: 0, bytesRead: 0, bytesTotal: 0 };
        showProgress(baseProgress); // a line of its own: its rate and ETA are the baseline's
        const baseFed = await feedFiles(
          baseFiles,
          base,
          log,
          baseProgress,
          canMapFiles(),
          stop.signal,
          baseClients,
          streams,
        );
        baseInputs = baseFed.inputs;
        baseline = base.snapshot();
        rounds.push(await roundsLine(base, baseline, baseFed, `--compare ${compare}`));
        basePartial = partialOf(signalled ?? 'SIGINT', baseFed, baseProgress);
      }
    } finally {
      status?.stop();
    }
    if (partial) log.write(partialLine(partial, 'report'));
    if (basePartial) log.write(partialLine(basePartial, `--compare baseline ${compare}`));
    // Either side cut short: the report (or its comparison) is of part of the input.
    const cut = partial ?? basePartial;

    // A baseline that is not a recording (every record bad) fails the run below, as the files do; one without a
    // request is said here, or every route would read as "new" with nothing to say why.
    const unusable = unusableInputs({ ...inputs, ...baseInputs });
    if (baseline && !basePartial && unusable.length === 0 && baseline.total_requests === 0) {
      log.write(`tapline: warning: --compare ${compare}: the baseline holds no request; every route shows as new`);
    }
    // Past --route-limit, each side adds its later routes up under (other), and which routes those are depends on
    // the order they came in: a route one side kept and the other folded reads as new (or gone), in silence.
    if (baseline && (baseline.routes_overflowed > 0 || snapshot.routes_overflowed > 0)) {
      log.write(
        `tapline: warning: --compare ${compare}: routes past --route-limit (${groupDigits(flags.number('route-limit'))}) ` +
          `are added up under (other): ${groupDigits(snapshot.routes_overflowed)} exchange(s) here, ` +
          `${groupDigits(baseline.routes_overflowed)} in the baseline; (other) may hold different routes on each side, ` +
          "and a route shown as new or gone may be in the other side's (other): a larger --route-limit (or --route " +
          'rules) tells them apart',
      );
    }
    for (const line of [
      ...replayLines(snapshot, files, preferReplayed),
      ...(baseline
        ? replayLines(
            baseline,
            baseFiles.map((f) => `--compare ${f}`),
            basePrefersReplayed,
          )
        : []),
      ...rounds,
      ...cutLines(snapshot, inputs),
      ...noneOfKindLine(snapshot, files, flags.string('responses')),
      ...(baseline
        ? noneOfKindLine(
            baseline,
            baseFiles.map((f) => `--compare ${f}`),
            flags.string('responses'),
          )
        : []),
      ...(baseline ? cutLines(baseline, baseInputs, '--compare ') : []),
    ]) {
      if (line) log.write(line);
    }
    const changes = baseline ? compareSnapshots(baseline, snapshot) : undefined;
    const out = (text: string) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    if (flags.bool('json')) {
      out(
        JSON.stringify({
          ...snapshot,
          inputs,
          interrupted: cut !== undefined,
          ...(cut ? { partial: cut } : {}),
          ...(changes ? { compare: { baseline: compare, routes: changes } } : {}),
        }),
      );
    } else if (flags.bool('csv')) {
      out(changes ? formatCompareCsv(changes) : formatCsv(snapshot));
    } else {
      const note = partial ? partialNote(partial) : basePartial ? partialNote(basePartial, compare) : undefined;
      out(formatReport(snapshot, top, files, note));
      // Bytes after a 101 or a CONNECT's 200 are another protocol: no route holds them, and the totals above do
      // not count them. Said here so a WebSocket-heavy capture does not look smaller than it is.
      const upgraded = Object.values(inputs).reduce((sum, i) => sum + Number(i.upgraded_bytes ?? 0), 0);
      if (upgraded > 0) {
        out(
          `\nNot in any route: ${formatBytes(upgraded)} sent after a protocol switch (WebSocket, CONNECT tunnels; ` +
            'upgraded_bytes in --json)',
        );
      }
      // Requests whose connection ended before their answer (pcap inputs): in 'no response' above, said why here.
      const unanswered = Object.values(inputs).reduce((sum, i) => sum + Number(i.requests_unanswered_at_close ?? 0), 0);
      if (unanswered > 0) {
        out(
          `\nNo response because the connection ended first: ${groupDigits(unanswered)} request(s) (closed, reset or ` +
            'still open at the end of the capture; requests_unanswered_at_close in --json)',
        );
      }
      const lost = leftOutNote(inputs);
      if (lost) out(lost);
      if (changes) out(formatCompare(changes, compare, top));
    }
    // After the report is printed: a Parquet file that fails to write (disk full) does not take the report with it.
    const rows = parquet ? await parquet.close() : undefined;
    if (rows) log.write(`tapline: ${rows.rows} exchanges written to ${parquetFile}`);

    for (const line of unusable) log.write(`tapline: error: ${line} (${ERROR_CODES.BAD_RECORD})`);
    const cutShort = unreadEnds({ ...inputs, ...baseInputs }, cut !== undefined);
    if (cutShort.length > 0) {
      log.write(
        `tapline: error: ${namesOf(cutShort)} could not be read to the end (see the warning above): the report ` +
          `holds what was read before (${ERROR_CODES.FILE_IO})`,
      );
    }
    if (cut) return judgePartial(cut);
    if (unusable.length > 0 || cutShort.length > 0) {
      // Exit 1 whatever the budgets say, but not in silence about them: a breach in the part read is a finding,
      // as after a signal (judgePartial); none found is no pass.
      if (hasBudgets(budgets) && (cutShort.length === 0 || !writeBreaches(' in the part read'))) {
        const why =
          cutShort.length > 0
            ? `${namesOf(cutShort)} could not be read to the end`
            : 'an input held no readable record (named above)';
        log.write(`tapline: budgets not judged: ${why}`);
      }
      return EXIT_FAILED;
    }
    if (hasBudgets(budgets) && snapshot.total_requests === 0 && !flags.bool('allow-empty')) {
      log.write(
        `tapline: error: no request in ${namesOf(files)}: the budgets have nothing to judge (a replay or recording ` +
          `that failed?); --allow-empty passes such a run (${ERROR_CODES.NOTHING_TO_JUDGE})`,
      );
      return EXIT_FAILED;
    }
    return writeBreaches('') ? EXIT_BUDGET : 0;

    /** Prints the budgets broken (--top lines per budget); true when any is. */
    function writeBreaches(where: string): boolean {
      const breaches = evaluateBudgets(snapshot, budgets);
      if (breaches.length === 0) return false;
      log.write(`tapline: ${breaches.length} budget(s) broken${where}:`);
      // --top lines per budget, worst first: a run over many routes (1,000 slow ones) does not flood a CI log.
      // Each budget's count of the rest follows its own lines (breaches come grouped by budget), not the last one's.
      const more = (budget: string, n: number) => {
        if (n > top)
          log.write(`  … and ${n - top} more route(s) breaking ${budget} (--top ${top} shown; --top raises it)`);
      };
      let n = 0;
      for (const [i, b] of breaches.entries()) {
        n = i > 0 && breaches[i - 1]!.budget === b.budget ? n + 1 : 1;
        if (n <= top) log.write(`  ${b.message}`);
        if (breaches[i + 1]?.budget !== b.budget) more(b.budget, n);
      }
      return true;
    }

    /**
     * A report a signal cut short: a budget broken in the part read is said, but none is passed on part of the
     * input (the rest could break it), and the exit code is the signal's, whatever was found.
     */
    function judgePartial(p: Partial): number {
      if (hasBudgets(budgets) && !writeBreaches(' in the part read')) {
        log.write(`tapline: budgets not judged: the report is partial (${p.signal} stopped the reading)`);
      }
      return signalExitCode(p.signal);
    }
  }
}

/** The table's mark of a partial report (the stderr warning says where reading stopped). */
function partialNote(p: Partial, baseline?: string): string {
  const read = outOf(p.bytes_read, p.bytes_total, formatBytes);
  return baseline
    ? `  PARTIAL: ${p.signal} stopped the reading of the baseline ${baseline}: the change below is against its first ${read}`
    : `  PARTIAL: ${p.signal} stopped the reading; these counts are of the first ${read}`;
}

/** `--parquet`: the writer lives with the exporters (src/analytics/export/parquet.ts), loaded only when asked. */
async function openParquet(file: string) {
  const { openParquetWriter } = await import('../analytics/export/parquet.js');
  return openParquetWriter(file);
}
