/**
 * Docs stay in step with the code: the generated flag reference, links (and their anchors) between pages,
 * the environment switches the code reads, and the field names of the documented `--stats` example.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { createAnalytics } from '../src/analytics/index.js';
import { renderFlagsMarkdown } from '../src/cli/flags-doc.js';
import { SECTION_ORDER } from '../src/cli/help.js';
import { allFlags } from '../src/cli/main.js';
import { statsObject } from '../src/cli/summary.js';
import type { Message } from '../src/core/message.js';
import type { RunSummary } from '../src/core/pipeline.js';
import { fileInput } from '../src/inputs/file.js';
import { chunkName, compileTemplate, fileExt } from '../src/outputs/file-naming.js';
import { httpOutput } from '../src/outputs/http.js';
import { REPO_ROOT } from './support/corpus.js';

const PAGES = ['README.md', ...readdirSync(join(REPO_ROOT, 'docs')).map((f) => join('docs', f))].filter((p) =>
  p.endsWith('.md'),
);

/** The anchors GitHub makes for a page's headings: lower case, punctuation dropped, spaces to '-', repeats -1, -2. */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let inFence = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) inFence = !inFence;
    const heading = inFence ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const slug = heading[1]!
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

/** Every file under dir (recursively) whose name ends in one of the suffixes, test files left out. */
function sourceFiles(dir: string, suffixes: string[]): string[] {
  return readdirSync(join(REPO_ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => suffixes.some((s) => f.endsWith(s)) && !/\.test\.[cm]?[jt]s$/.test(f))
    .map((f) => join(REPO_ROOT, dir, f));
}

describe('docs', () => {
  it('docs/flags.md matches the flag declarations (run `npm run docs` after changing a flag)', () => {
    const onDisk = readFileSync(join(REPO_ROOT, 'docs', 'flags.md'), 'utf8');
    assert.equal(onDisk, renderFlagsMarkdown(allFlags(), SECTION_ORDER));
  });

  it('every relative link in README.md and docs/ points at a file that exists', () => {
    const pages = ['README.md', ...readdirSync(join(REPO_ROOT, 'docs')).map((f) => join('docs', f))];
    for (const page of pages.filter((p) => p.endsWith('.md'))) {
      const text = readFileSync(join(REPO_ROOT, page), 'utf8');
      for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        const base = page.includes('/') ? join(REPO_ROOT, 'docs') : REPO_ROOT;
        assert.ok(existsSync(join(base, target!)), `${page} links to missing ${target}`);
      }
    }
  });

  it('every link to a heading (#anchor), on the same page or another, names a heading that exists', () => {
    for (const page of PAGES) {
      const text = readFileSync(join(REPO_ROOT, page), 'utf8');
      for (const [, file, anchor] of text.matchAll(/\]\(([^)#\s]*)#([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(file!)) continue;
        const target = file ? join(dirname(join(REPO_ROOT, page)), file) : join(REPO_ROOT, page);
        if (!target.endsWith('.md') || !existsSync(target)) continue; // a missing file is the test above's
        const anchors = headingAnchors(readFileSync(target, 'utf8'));
        assert.ok(anchors.has(anchor!), `${page} links to ${file || page}#${anchor}, a heading that does not exist`);
      }
    }
  });

  it('every TAPLINE_* environment variable the code reads is documented', () => {
    const docs = PAGES.map((p) => readFileSync(join(REPO_ROOT, p), 'utf8')).join('\n');
    const files = [...sourceFiles('src', ['.ts']), ...sourceFiles('scripts', ['.mjs', '.ts'])];
    const read = new Set<string>();
    for (const file of files) {
      for (const [, name] of readFileSync(file, 'utf8').matchAll(/env\.(TAPLINE_[A-Z0-9_]+)/g)) read.add(name!);
    }
    assert.ok(read.size > 5, `found only ${[...read].join(', ')}: the scan is broken`);
    const missing = [...read].filter((name) => !docs.includes(name)).sort();
    assert.deepEqual(missing, [], 'read by the code but named on no page (docs/native.md lists the switches)');
  });

  it('every --output-file example keeps its whole templated name in its chunk names', () => {
    // gor's chunk rule reads a name ending in _ and digits as a chunk number: 'requests_%Y%m%d.gor' is written
    // to requests_0.gor, its date lost. An example a reader copies must not do that.
    const message = { meta: { id: '4e201f907f00000170000001', type: '1' } } as unknown as Message;
    let checked = 0;
    for (const page of PAGES) {
      for (const line of readFileSync(join(REPO_ROOT, page), 'utf8').split('\n')) {
        if (line.includes('--output-file-append')) continue;
        for (const [, quoted, bare] of line.matchAll(/--output-file[ =](?:'([^']+)'|([^\s'`|\\]+))/g)) {
          const template = quoted ?? bare!;
          if (template.startsWith('-')) continue; // a flag's name quoted as the mistake it is
          const name = compileTemplate(template).render(message, new Date(2026, 0, 2, 3, 4, 5), 6);
          const ext = fileExt(name);
          const chunk = chunkName(name, true, () => []);
          assert.equal(
            chunk,
            `${name.slice(0, name.length - ext.length)}_0${ext}`,
            `${page}: --output-file ${template}`,
          );
          checked++;
        }
      }
    }
    assert.ok(checked > 10, `only ${checked} --output-file examples found: the scan is broken`);
  });

  it("observability.md's --stats example uses the field names a run writes", () => {
    const page = readFileSync(join(REPO_ROOT, 'docs', 'observability.md'), 'utf8');
    const block = /```json\n([\s\S]*?)```/.exec(page)?.[1];
    assert.ok(block, 'observability.md has no ```json example');
    const example = JSON.parse(block.replace(/\[…\]/g, '[]').replace(/\{…\}/g, '{}')) as Record<string, unknown>;
    const input = fileInput({ patterns: ['requests.gor'] });
    const output = httpOutput('http://staging:8080');
    const summary = {
      counters: { messages: 0, bytes: 0, filtered: 0, empty: 0, truncated: 0 },
      durationMs: 1,
      inputs: [{ name: 'in', stats: input.stats?.() ?? {} }],
      outputs: [{ name: 'out', stats: output.stats?.() ?? {}, lost: 0 }],
    } as unknown as RunSummary;
    const real = statsObject(summary, createAnalytics().snapshot()) as {
      inputs: Record<string, object>;
      outputs: Record<string, object>;
    };
    // Written only when used or non-zero (docs say so in the table below the example).
    const optional = ['not_passed_on', 'filters', 'middleware', 'exporters'];
    const unknown = (shown: object, actual: object, extra: string[] = []) =>
      Object.keys(shown).filter((k) => !(k in actual) && !extra.includes(k));
    assert.deepEqual(unknown(example, real, optional), [], 'top-level fields the --stats line does not have');
    const [inputName, inputShown] = Object.entries(example.inputs as Record<string, object>)[0]!;
    assert.match(inputName, /^input-file\(/);
    assert.deepEqual(unknown(inputShown, real.inputs.in!), [], `${inputName}: fields --input-file does not count`);
    const [outputName, outputShown] = Object.entries(example.outputs as Record<string, object>)[0]!;
    assert.match(outputName, /^output-http\(/);
    assert.deepEqual(unknown(outputShown, real.outputs.out!), [], `${outputName}: fields --output-http does not count`);
  });
});
