/** `tapline demo` opens with its dashboard's address and ends with where the recorded bytes went. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { runTapline } from '../support/cli.js';

it('demo prints the dashboard address first and a top-routes table at the end', async () => {
  const res = await runTapline(['demo', '--requests', '30', '--dashboard', '127.0.0.1:0'], { timeoutMs: 60_000 });
  const out = res.stdout.toString();
  assert.equal(res.code, 0, res.stderr + out);
  const lines = out.split('\n');
  assert.match(lines[1]!, /^ {2}dashboard \(live\) +http:\/\/127\.0\.0\.1:\d+\/$/);
  const at = lines.findIndex((l) => l.startsWith('4. Where the recorded bytes went'));
  assert.ok(at > 0, out);
  assert.match(lines[at + 1]!, /route +requests +bytes +share/);
  const rows = lines.slice(at + 2, at + 7).filter((l) => /^ {3}\/\S* +\d+ +[\d.]+ (B|KiB|MiB) +[\d.]+%$/.test(l));
  assert.ok(rows.length >= 3, out);
  assert.match(out, /\d+ of \d+ routes; 30 requests, [\d.]+ (KiB|MiB) in all/);
});

it('demo refuses a bad --dashboard address with exit 2', async () => {
  const res = await runTapline(['demo', '--dashboard', 'nowhere']);
  assert.equal(res.code, 2, res.stderr);
  assert.match(res.stderr, /--dashboard: expected host:port or :port, got "nowhere"/);
});
