/**
 * `tapline --help`, generated from the flag declarations: every gor flag is listed, grouped by section;
 * flags tapline has not built yet are marked, and a few notes say where tapline differs from gor.
 */
import { type FlagSpec, rangeText } from '../core/flags.js';

export const SECTION_ORDER = [
  'General',
  'Test inputs and outputs',
  'Live capture (--input-raw)',
  'Files',
  'Replay (--output-http)',
  'Middleware',
  'Filters and rewrites (--http-*)',
  'Forwarding (--input-tcp, --output-tcp, --output-ws)',
  'Binary protocols (--output-binary)',
  'Kafka',
  'Profiling',
];

const HEADER = `tapline: capture, save, replay and measure HTTP traffic. A drop-in for GoReplay (gor).

Usage:
  tapline [flags]                 run a pipeline: inputs -> filters -> outputs
  tapline report FILE...          where the bytes go, per route, in .gor/pcap/pcapng files (tapline report --help)
  tapline demo                    record traffic from a local demo site and replay it to a local staging server
  tapline --version               print the version

Examples:
  tapline --input-file requests.gor --output-stdout
  tapline --input-file 'requests_*.gor|200%' --output-http http://staging:8080
  tapline --input-dummy 0 --output-file 'out-%Y%m%d.gor' --exit-after 10s

Flags take one or two dashes (-flag, --flag); a value follows '=' or a space (--flag=value, --flag value).
Boolean flags take no separate value (--flag or --flag=false). Repeatable flags are marked [repeatable].
Sizes: 1024, 64kb, 32mb, 1gb (k/m/g also work). Durations: 300ms, 5s, 1m30s.
Address limits: ADDR|N (at most N requests a second), ADDR|N% (sample N%; a speed factor on --input-file),
--input-file FILE|max (as fast as the outputs take it).
`;

/** What a run's help ends with: signals and exit codes. */
const RUN_FOOTER = [
  'Ctrl-C (SIGINT), SIGTERM and SIGHUP stop reading and flush every output; a second one exits at once.',
  'Exit codes: 0 done, 1 failed (an output or input broke), 2 usage error, 130 exited without flushing.',
];

/** `tapline report --help`: its own usage and exit codes (3 for a broken budget, the signal's for a partial report). */
export const REPORT_HELP = {
  header: `Usage: tapline report [flags] FILE... (FILE: .gor, .gor.gz, pcap or pcapng; dump.pcap:80 names server ports;
  - reads standard input, as a pipe or FIFO is read: front to back, its kind from its first bytes)

Examples:
  tapline report requests_0.gor requests_1.gor
  tapline report replayed.gor --max-total 500mb --max-share 30% --max-latency 300ms
  tapline report new.gor --compare baseline.gor --json
`,
  footer: [
    'Ctrl-C (SIGINT), SIGTERM and SIGHUP stop reading and print the report of what was read, marked partial;',
    'a second one exits at once.',
    'Exit codes: 0 done, 1 a file could not be read (or held nothing readable; or budgets with no request, see',
    '--allow-empty), 2 usage error, 3 a budget is broken, 130/143/129 a signal stopped the reading (SIGINT/',
    'SIGTERM/SIGHUP).',
  ],
};

export function renderHelp(
  specs: ReadonlyMap<string, FlagSpec>,
  page: { header: string; footer: readonly string[] } = { header: HEADER, footer: RUN_FOOTER },
): string {
  const bySection = new Map<string, [string, FlagSpec][]>();
  for (const [name, spec] of specs) {
    const list = bySection.get(spec.section) ?? [];
    list.push([name, spec]);
    bySection.set(spec.section, list);
  }
  const sections = [...bySection.keys()].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const out: string[] = [page.header];
  for (const section of sections) {
    out.push(`${section}:`);
    for (const [name, spec] of bySection.get(section)!) out.push(renderFlag(name, spec));
    out.push('');
  }
  out.push(...page.footer);
  out.push('Docs: README.md and docs/ (one page per concept); differences from gor: docs/compat.md.');
  return `${out.join('\n')}\n`;
}

function rank(section: string): number {
  const i = SECTION_ORDER.indexOf(section);
  return i === -1 ? SECTION_ORDER.length : i;
}

function renderFlag(name: string, spec: FlagSpec): string {
  const value = spec.kind === 'bool' ? '' : ` ${spec.value ?? spec.kind.toUpperCase()}`;
  const tags: string[] = [];
  if (spec.multi) tags.push('repeatable');
  if (spec.default !== undefined && spec.kind !== 'bool') tags.push(`default ${spec.default}`);
  if (spec.kind === 'bool' && spec.default === 'true') tags.push('default true');
  const range = rangeText(spec);
  if (range) tags.push(range);
  if (spec.notBuilt) tags.push(spec.notBuilt);
  const tagText = tags.length > 0 ? ` [${tags.join(', ')}]` : '';
  const note = spec.gorNote ? ` (${spec.gorNote})` : '';
  return `  --${name}${value}\n      ${spec.help}${note}${tagText}`;
}
