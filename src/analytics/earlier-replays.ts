/**
 * A run that replays with `--output-http-track-response` accounts the responses its own replay gets (tracker.ts,
 * preferReplayed). An input can bring replayed responses of its own: `replayed.gor`, written by an earlier replay
 * with `--output-file`, holds type-3 records. Their ids are this run's request ids, and they come first (right
 * after their request in the file, long before this run's replay answers), so the routes were given the earlier
 * replay's status, bytes and latency while this run's responses went to `(no request)` as duplicates.
 *
 * A replayed response older than the run is from an earlier replay (this run's are timed when sent, after it
 * started): it is left out of the analytics, and said once. Outputs still get it.
 */
import type { Logger } from '../core/log.js';
import type { Message } from '../core/message.js';
import type { Analytics } from './index.js';

/** Wraps `analytics.observe` so that replayed responses timed before `sinceNs` are not accounted. */
export function leaveOutEarlierReplays(analytics: Analytics, sinceNs: bigint, log?: Logger): void {
  const observe = analytics.observe.bind(analytics);
  let said = false;
  analytics.observe = (msg: Message) => {
    if (msg.meta.type !== '3' || msg.meta.timestampNs >= sinceNs) return observe(msg);
    if (said) return;
    said = true;
    log?.warn(
      `--stats: replayed responses from before this run (the first: ${msg.meta.id}, type 3) come from an ` +
        "input, a file an earlier replay wrote: they are left out of the run's analytics, which account this " +
        "run's replayed responses (the outputs still get them)",
    );
  };
}
