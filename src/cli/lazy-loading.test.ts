/**
 * Start-up cost: a run loads only the code its flags use (src/plugins.ts, runPipelineArgs). A module
 * resolve hook in the child process records every tapline module that is loaded.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tapline-lazy-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const hook = join(dir, 'hook.mjs');
writeFileSync(
  hook,
  `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (result.url.startsWith('file:') && result.url.includes('/src/')) appendFileSync(process.env.LAZY_LOG, result.url + '\\n');
  return result;
}
`,
);
const register = join(dir, 'register.mjs');
writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(`file://${hook}`)});\n`);
const gor = join(dir, 'one.gor');
writeFileSync(gor, '1 a1 1700000000000000000 0\nGET / HTTP/1.1\r\nHost: x\r\n\r\n\n🐵🙈🙉\n');

/** The src/ modules (relative paths) a CLI run loads, and its exit code. */
function modulesLoaded(args: string[]): { modules: Set<string>; status: number | null; stderr: string } {
  const log = join(dir, `loaded-${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(log, '');
  const run = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--import', register, join(root, 'test/support/cli-entry.ts'), ...args],
    { cwd: root, env: { ...process.env, LAZY_LOG: log }, encoding: 'utf8', timeout: 60_000 },
  );
  const modules = new Set(
    readFileSync(log, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((url) => fileURLToPath(url).slice(join(root, 'src/').length)),
  );
  return { modules, status: run.status, stderr: run.stderr };
}

it('a plain file copy loads no other plugin, nor the modifiers, middleware, analytics, dashboard or capture', () => {
  const out = join(dir, 'copy.gor');
  const { modules, status, stderr } = modulesLoaded([
    '--input-file',
    gor,
    '--output-file',
    out,
    '--output-file-append',
  ]);
  assert.equal(status, 0, stderr);
  assert.equal(readFileSync(out, 'utf8'), readFileSync(gor, 'utf8'));
  assert.ok(modules.has('inputs/file.ts') && modules.has('outputs/file.ts'), [...modules].join(' '));
  const unwanted = [...modules].filter(
    (m) =>
      /^(web|analytics|capture|tcp|protocol|modifiers|middleware|kafka|net|storage)\//.test(m) ||
      /^(inputs|outputs)\/(http|tcp|ws|kafka|binary|elasticsearch|s3|raw\/)/.test(m),
  );
  // Flag declarations are loaded on purpose: every flag must parse (and show in --help).
  const declarations = /(^|\/|-)flags\.ts$|^capture\/types\.ts$|^storage\/s3-address\.ts$/;
  assert.deepEqual(
    unwanted.filter((m) => !declarations.test(m)),
    [],
  );
  // 71: core/redact.ts (no imports of its own), which argv's usage errors need to mask secrets in the values they quote.
  assert.ok(modules.size < 71, `${modules.size} modules: ${[...modules].join(' ')}`);
});

it('a flag loads its implementation: --http-allow-url loads the modifiers, --stats the analytics', () => {
  const { modules, status, stderr } = modulesLoaded([
    '--input-file',
    gor,
    '--output-null',
    '--http-allow-url',
    'x',
    '--stats',
  ]);
  assert.equal(status, 0, stderr);
  assert.ok(modules.has('modifiers/index.ts'), [...modules].join(' '));
  assert.ok(modules.has('analytics/live.ts'), [...modules].join(' '));
  assert.ok(!modules.has('outputs/http.ts'));
});
