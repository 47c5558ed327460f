/**
 * The bound on an --output-http stop (http.ts uses it): how long the requests already taken are waited for.
 */
import { formatGoDuration } from '../core/values.js';

/**
 * How long a stop may wait for the requests already taken: about one --output-http-timeout, whatever the queue.
 * Without a bound, a target that never answers made the stop wait each queued request's timeout in turn
 * (queue × timeout over the connections).
 *
 * - 'signal' (SIGINT/SIGTERM, --exit-after: the output's stopping()): one timeout from the stop. The requests
 *   in flight get their timeout; queued ones are still sent and may be answered within it.
 * - 'end' (the input ended, the output drains): one timeout without any answer. A slow target that still
 *   answers is waited for (each answer moves the bound on); one that no longer answers is given up after one
 *   timeout. A signal during that wait turns it into the first kind.
 *
 * Once the bound has passed, `onExpired` gives up what is left (http.ts giveUp), or says there is nothing to
 * give up (false: asked again at the next check, so that a request written later is bounded too).
 */
export class StopBound {
  private mode: 'signal' | 'end' | undefined;
  private deadline = 0;
  private answers = -1;
  private timer: NodeJS.Timeout | undefined;
  /** What ran out, for the warning. */
  cause = '';

  constructor(
    private readonly timeoutMs: number,
    /** Answers so far (any change is progress). */
    private readonly progress: () => number,
    private readonly onExpired: () => boolean,
  ) {}

  start(mode: 'signal' | 'end'): void {
    if (this.mode === 'signal' || this.mode === mode) return;
    this.mode = mode;
    // The requests in flight get their whole timeout (swept up to 50 ms late) before the stop gives them up.
    this.deadline = performance.now() + this.timeoutMs + 100;
    this.answers = this.progress();
    this.timer ??= setInterval(() => this.check(), Math.min(250, Math.max(10, this.timeoutMs / 4)));
    this.timer.unref();
  }

  end(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** What the stop waits for, for the close-wait notice. */
  describe(): string {
    const t = `--output-http-timeout ${formatGoDuration(this.timeoutMs)}`;
    return this.mode === 'signal'
      ? `waiting up to ${t} from the stop`
      : `waiting while answers come, up to ${t} without one`;
  }

  private check(): void {
    const now = performance.now();
    if (this.mode === 'end') {
      const answers = this.progress();
      if (answers !== this.answers) {
        this.answers = answers;
        this.deadline = now + this.timeoutMs + 100;
      }
    }
    if (now < this.deadline) return;
    this.cause =
      this.mode === 'signal'
        ? `--output-http-timeout ${formatGoDuration(this.timeoutMs)} has passed since the stop`
        : `no answer within --output-http-timeout ${formatGoDuration(this.timeoutMs)} after the end of the input`;
    if (this.onExpired()) this.end();
  }
}
