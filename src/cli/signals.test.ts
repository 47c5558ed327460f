import assert from 'node:assert/strict';
import { test } from 'node:test';
import { memoryLogger } from '../core/log.js';
import { createSignalHandler, SAME_REQUEST_MS, STOP_SIGNALS } from './signals.js';

function harness() {
  let clock = 0;
  let stopping = false;
  const calls = { stops: 0, exits: [] as string[] };
  const log = memoryLogger();
  const onSignal = createSignalHandler({
    isStopping: () => stopping,
    stop: () => {
      calls.stops++;
      stopping = true;
    },
    exitNow: (signal) => calls.exits.push(signal),
    log,
    now: () => clock,
  });
  return { onSignal, calls, log, advance: (ms: number) => (clock += ms) };
}

test('SIGHUP stops and flushes like SIGINT and SIGTERM', () => {
  assert.deepEqual([...STOP_SIGNALS].sort(), ['SIGHUP', 'SIGINT', 'SIGTERM']);
  const h = harness();
  h.onSignal('SIGHUP');
  assert.equal(h.calls.stops, 1);
  assert.deepEqual(h.calls.exits, []);
  assert.match(h.log.lines[0]!, /SIGHUP: stopping; flushing outputs/);
});

test('the same signal delivered twice at once (timeout, npm) is one request: the flush goes on', () => {
  const h = harness();
  h.onSignal('SIGTERM');
  h.advance(5);
  h.onSignal('SIGTERM');
  h.advance(SAME_REQUEST_MS - 10);
  h.onSignal('SIGTERM');
  assert.equal(h.calls.stops, 1);
  assert.deepEqual(h.calls.exits, [], 'no exit without the flush');
  assert.match(
    h.log.lines.at(-1)!,
    /SIGTERM again within 500ms: taken as the same request \(once more to exit at once\)/,
  );
});

test('a second signal later, or a different one, exits at once', () => {
  const later = harness();
  later.onSignal('SIGINT');
  later.advance(SAME_REQUEST_MS + 1);
  later.onSignal('SIGINT');
  assert.deepEqual(later.calls.exits, ['SIGINT']);
  assert.match(later.log.lines.at(-1)!, /SIGINT again: exiting without waiting/);

  const other = harness();
  other.onSignal('SIGINT');
  other.advance(5);
  other.onSignal('SIGTERM');
  assert.deepEqual(other.calls.exits, ['SIGTERM']);
});

test('a signal while a stop is already under way (--exit-after) exits at once', () => {
  let clock = 0;
  const exits: string[] = [];
  const onSignal = createSignalHandler({
    isStopping: () => true,
    stop: () => assert.fail('already stopping'),
    exitNow: (s) => exits.push(s),
    log: memoryLogger(),
    now: () => clock++,
  });
  onSignal('SIGINT');
  assert.deepEqual(exits, ['SIGINT']);
});
