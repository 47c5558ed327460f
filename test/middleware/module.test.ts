/**
 * `--middleware-module` end to end: the same scenarios as the external middleware, with in-process modules
 * (TypeScript through tsx, and plain JavaScript) from test/middleware/fixtures/modules.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fixture, middlewareRuns, request, response, writeGor } from './support.js';

const { dir, messages, run, same } = middlewareRuns('--middleware-module');

describe('--middleware-module features', { concurrency: 2 }, () => {
  it('pass-through', async () => {
    const r = await run(fixture('modules/pass.ts'));
    assert.equal(r.code, 0, r.stderr);
    same(r.got);
    assert.match(r.stderr, /middleware-module\(.*pass\.ts\): 6 in, 6 out \(0 dropped, 0 added\)/);
  });

  it('dropping a request and its response', async () => {
    const r = await run(fixture('modules/drop.ts'));
    assert.equal(r.code, 0, r.stderr);
    same(r.got, [messages[0]!, messages[1]!, messages[4]!, messages[5]!]);
    assert.match(r.stderr, /6 in, 4 out \(2 dropped, 0 added\)/);
  });

  it('adding a header (gor SetHeader: right after the request line)', async () => {
    const r = await run(fixture('modules/add-header.ts'));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.got[0]!.data.toString(), 'GET /a HTTP/1.1\r\nX-Middleware: module\r\nHost: example.test\r\n\r\n');
    assert.equal(r.got[1]!.data.toString(), messages[1]!.data.toString());
  });

  it('editing a body larger than 1 MB, asynchronously, from a plain .mjs module', async () => {
    const body = 'a'.repeat(1_500_000);
    const file = writeGor(join(dir, 'big.gor'), [request(7, '/upload', body), response(7)]);
    const r = await run(fixture('modules/big-body.mjs'), [], file);
    assert.equal(r.code, 0, r.stderr);
    const data = r.got[0]!.data;
    const sep = data.indexOf('\r\n\r\n');
    assert.ok(data.subarray(sep + 4).equals(Buffer.alloc(1_500_000, 'b')));
    assert.match(data.subarray(0, sep).toString(), /\r\nContent-Length: 1500000(\r\n|$)/);
    assert.match(data.subarray(0, sep).toString(), /X-Body-Edited: module/);
  });
});

describe('--middleware-module failures', { concurrency: 2 }, () => {
  it('a module that throws: error names it and the message; outputs flushed; exit 1', async () => {
    const r = await run(fixture('modules/throws.ts'));
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /middleware-module\(.*throws\.ts\) threw on message 000000000000000000000001 \(type 2\): boom: cannot handle this one \(at throws\.ts:4:\d+\); the run stops \(TAPLINE_ERR_MIDDLEWARE\)/,
    );
    same(r.got, [messages[0]!]);
  });

  it('an error nobody caught (a floating rejection, a throw from a timer): said in one line with its place, outputs flushed; exit 1 (was: a stack trace and a 0-byte file)', async () => {
    for (const [file, text] of [
      ['floating-rejection.mjs', 'floating: nobody awaited this'],
      ['throws-later.mjs', 'later: thrown from a timer'],
    ] as const) {
      const r = await run(fixture(`modules/${file}`));
      assert.equal(r.code, 1, r.stderr);
      const escaped = file.replace('.', '\\.');
      assert.match(
        r.stderr,
        new RegExp(`an error nobody caught stopped the run: ${text} \\(at \\S*${escaped}:\\d+:\\d+\\)`),
      );
      assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
      // What went through before the stop is in the output (it was a 0-byte file).
      assert.ok(r.got.length >= 1, r.stderr);
      same(r.got, messages.slice(0, r.got.length));
    }
  });

  it('a module that returns undefined (a forgotten return) is an error, not a silent drop', async () => {
    const r = await run(fixture('modules/forgets-return.ts'));
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /returned undefined \(a missing return\?\) for message 000000000000000000000001 \(type 1\)/);
    assert.equal(r.got.length, 0);
  });

  it('a module without a default export, and a missing module', async () => {
    const r = await run(fixture('modules/no-default.ts'));
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /no-default\.ts has no default export function/);
    const missing = await run(fixture('modules/nope.ts'));
    assert.equal(missing.code, 1, missing.stderr);
    assert.match(missing.stderr, /--middleware-module: cannot load .*nope\.ts: not found \(there is no \/.*nope\.ts\)/);
  });

  it('a module whose import is missing is not called "not found": the message names the missing package', async () => {
    // It said 'cannot load …/missing-dependency.mjs: not found', of a file that is there (exit 1).
    const r = await run(fixture('modules/missing-dependency.mjs'));
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /cannot load .*missing-dependency\.mjs: Cannot find package 'tapline-no-such-package' imported from .*missing-dependency\.mjs/,
    );
    assert.doesNotMatch(r.stderr, /: not found/);
  });

  it("the README's mw.ts outside the checkout: one line saying tapline is not installed there, not a Require stack", async () => {
    // A .ts module where no package.json says "type": "module" (here the test's temporary directory) is compiled to
    // CommonJS; it said 'Cannot find module 'tapline/middleware'', then 'Require stack:' and '- …/mw.ts?namespace=…'.
    const own = join(dir, 'readme-mw');
    mkdirSync(own, { recursive: true });
    writeFileSync(
      join(own, 'mw.ts'),
      "import { defineMiddleware } from 'tapline/middleware';\nexport default defineMiddleware((m) => m);\n",
    );
    writeFileSync(
      join(own, 'other.ts'),
      "import pad from 'tapline-no-such-package';\nexport default (m: unknown) => pad(m);\n",
    );
    const r = await run(join(own, 'mw.ts'));
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /cannot load .*mw\.ts: it imports 'tapline\/middleware', which is not installed where the module is: install tapline there \(npm install \/\S+\), or leave the import out/,
    );
    const other = await run(join(own, 'other.ts'));
    assert.equal(other.code, 1, other.stderr);
    assert.match(
      other.stderr,
      /cannot load .*other\.ts: Cannot find module 'tapline-no-such-package' imported from \/\S+other\.ts \(TAPLINE_ERR_MIDDLEWARE\)\n/,
    );
    for (const e of [r.stderr, other.stderr]) assert.doesNotMatch(e, /Require stack|namespace=/, e);
  });

  it('a promise that never settles: the run stops after --middleware-timeout, outputs flushed; exit 1 (was: exit 13, no word)', async () => {
    const r = await run(fixture('modules/never-settles.mjs'), ['--middleware-timeout', '300ms']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /never-settles\.mjs\) returned a promise for message 000000000000000000000001 \(type 2\) that did not settle in 0\.3s \(--middleware-timeout\); the run stops/,
    );
    same(r.got, [messages[0]!]);
  });

  it('odd values returned or thrown are named in words, and a list with a bad item is refused whole', async () => {
    const cases: [number, RegExp][] = [
      [0, /odd-values\.mjs\) returned bigint 5n for message 0+ \(type 1\); return the message to keep it/],
      [1, /odd-values\.mjs\) returned number 7 for message 0+1 \(type 1\)/],
      [
        2,
        /odd-values\.mjs\) threw on message 0+2 \(type 1\): \{ code: 5, why: 'not an Error' \} \(thrown, not an Error\)/,
      ],
    ];
    for (const [i, pattern] of cases) {
      const file = writeGor(join(dir, `odd-values-${i}.gor`), [request(i, '/a')]);
      const r = await run(fixture('modules/odd-values.mjs'), [], file);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, pattern);
      assert.equal(r.got.length, 0, 'nothing of a refused return is written');
    }
  });

  it('a meta that would not read back (space or LF in a field, a plain object without a real meta) is refused, naming it', async () => {
    const cases: [number, RegExp][] = [
      [0, /threw on message 0+ \(type 1\): meta id "a b" is not usable: it must be a non-empty string without spaces/],
      [1, /threw on message 0+1 \(type 1\): meta id "x\\ny" is not usable/],
      [2, /returned an object whose meta or data is not a message's \(meta, data; build one with context\.message/],
    ];
    for (const [i, pattern] of cases) {
      const file = writeGor(join(dir, `bad-meta-${i}.gor`), [request(i, '/a')]);
      const r = await run(fixture('modules/bad-meta.mjs'), [], file);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, pattern);
      assert.doesNotMatch(r.stderr, /Cannot read properties/);
      assert.equal(r.got.length, 0);
    }
  });
});
