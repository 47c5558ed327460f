/** `tapline demo` is the README's first command: it must work on a fresh checkout. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { SEPARATOR } from '../../src/core/gor-format.js';
import { runTapline } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tapline-e2e-demo-'));
after(() => rmSync(dir, { recursive: true, force: true }));

it('tapline demo records traffic, replays it at 2x to staging, and every request arrives', async () => {
  const res = await runTapline(['demo', '--requests', '60', '--dir', dir], { timeoutMs: 60_000 });
  assert.equal(res.code, 0, res.stderr + res.stdout.toString());
  const out = res.stdout.toString();
  assert.match(out, /recorded 120 messages/);
  assert.match(out, /Staging received 60 of 60 requests/);
  const speedup = Number(/\(([\d.]+)× faster; asked for 2×\)/.exec(out)?.[1]);
  assert.ok(speedup > 1.5 && speedup < 2.6, `replay speed-up ${speedup}`);
  const recording = readFileSync(join(dir, 'recorded.gor'));
  assert.equal(recording.toString('latin1').split(SEPARATOR.toString('latin1')).length - 1, 120);
});

it('tapline demo rejects unknown options with exit 2', async () => {
  const res = await runTapline(['demo', '--bogus']);
  assert.equal(res.code, 2);
  assert.match(res.stderr, /unknown demo option "--bogus"/);
});
