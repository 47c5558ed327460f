/** Docs stay in step with the code: the generated flag reference, and links between pages. */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { renderFlagsMarkdown } from '../src/cli/flags-doc.js';
import { SECTION_ORDER } from '../src/cli/help.js';
import { allFlags } from '../src/cli/main.js';
import { REPO_ROOT } from './support/corpus.js';

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
});
