// Regenerates docs/flags.md from the flag declarations: `npm run docs`.
import { writeFileSync } from 'node:fs';
import { renderFlagsMarkdown } from '../src/cli/flags-doc.js';
import { SECTION_ORDER } from '../src/cli/help.js';
import { allFlags } from '../src/cli/main.js';

writeFileSync(new URL('../docs/flags.md', import.meta.url), renderFlagsMarkdown(allFlags(), SECTION_ORDER));
console.log('wrote docs/flags.md');
