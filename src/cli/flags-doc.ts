/** docs/flags.md, generated from the same declarations as --help (a test keeps the file in step). */
import { type FlagSpec, rangeText } from '../core/flags.js';

export function renderFlagsMarkdown(specs: ReadonlyMap<string, FlagSpec>, sectionOrder: readonly string[]): string {
  const bySection = new Map<string, [string, FlagSpec][]>();
  for (const [name, spec] of specs) {
    const list = bySection.get(spec.section) ?? [];
    list.push([name, spec]);
    bySection.set(spec.section, list);
  }
  const rank = (s: string) => (sectionOrder.includes(s) ? sectionOrder.indexOf(s) : sectionOrder.length);
  const sections = [...bySection.keys()].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const out = [
    '# Flags',
    '',
    'Generated from the flag declarations by `npm run docs` (the same source as `tapline --help`); do not edit by hand.',
    'Flags take one or two dashes and a value after `=` or a space, as in gor. "not built yet" flags are gor flags',
    'that tapline rejects with exit code 2 rather than ignoring.',
    '',
  ];
  for (const section of sections) {
    out.push(`## ${section}`, '', '| flag | value | default | meaning |', '|---|---|---|---|');
    for (const [name, spec] of bySection.get(section)!) {
      const range = rangeText(spec);
      const value =
        spec.kind === 'bool' ? 'bool' : `${spec.kind}${spec.multi ? ', repeatable' : ''}${range ? `, ${range}` : ''}`;
      const def = spec.default ?? '';
      const notes = [spec.help, spec.gorNote ? `(${spec.gorNote}.)` : '', spec.notBuilt ? `**${spec.notBuilt}**` : '']
        .filter(Boolean)
        .join(' ');
      out.push(`| \`--${name}\` | ${value} | ${def ? `\`${def}\`` : ''} | ${notes.replace(/\|/g, '\\|')} |`);
    }
    out.push('');
  }
  return out.join('\n');
}
