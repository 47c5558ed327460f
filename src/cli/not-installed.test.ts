import assert from 'node:assert/strict';
import { test } from 'node:test';
import { notInstalledLine } from './not-installed.js';

test('a package that is not installed: one line naming it, the importer and the fix', async () => {
  // A real loader error: the same object a lazily loaded plugin meets when its dependency is missing.
  const missing = 'tapline-no-such-package-for-this-test';
  const err = await import(missing).then(
    () => assert.fail('the package was found'),
    (e: unknown) => e,
  );
  const line = notInstalledLine(err);
  assert.ok(line !== undefined);
  assert.match(line, /^cannot load tapline-no-such-package-for-this-test \(imported by \S+not-installed\.test\.ts\)/);
  assert.match(line, /a package tapline needs is not installed; run npm ci in \/\S+$/);
});

test('other failures are not taken for a missing package', () => {
  assert.equal(notInstalledLine(new Error('boom')), undefined);
  assert.equal(notInstalledLine(Object.assign(new Error('x'), { code: 'ENOENT' })), undefined);
});
