import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type FlagSpec, MAX_DURATION_MS, parseFlagValue } from './flags.js';

const duration: FlagSpec = { kind: 'duration', min: '0', help: '', section: 'General' };

test('a duration flag takes up to the longest time a Node timer holds', () => {
  assert.equal(parseFlagValue(duration, '596h31m23s'), 596 * 3600_000 + 31 * 60_000 + 23_000);
  assert.equal(parseFlagValue(duration, '2147483647ms'), MAX_DURATION_MS);
});

test('a longer duration is refused, not run after 1 ms as Node would (--exit-after 1000h)', () => {
  assert.throws(
    () => parseFlagValue(duration, '1000h'),
    /"1000h" is longer than tapline can time, 596h31m23.647s \(24.8 days\)/,
  );
  assert.throws(() => parseFlagValue(duration, '2147483648ms'), /longer than tapline can time/);
});
