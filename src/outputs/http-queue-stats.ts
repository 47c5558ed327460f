/**
 * gor's queue statistics (`--stats --output-http-stats`, spec §9.5): one sample per write (the queue length
 * after it), printed every `--output-http-stats-ms` as
 *
 *   [DEBUG][elapsed 5s]: \n output_http:latest,mean,max,count,count/second,gcount
 *
 * mean is gor's running integer mean over non-zero samples; count/second is count over the period. gcount
 * (Go's goroutine count) is the output's open connections here. Values reset after each line. As in gor, the
 * first values line comes right after the header, and `elapsed` is the time since the previous such line of
 * any reporter (gor's debug logger keeps one clock for all), the first one's since the process started.
 */
import { formatGoDuration } from '../core/values.js';

/** performance.now() of the last [DEBUG] line any reporter wrote (0: the process start). */
let lastLineAt = 0;

function sinceLastLine(): string {
  const now = performance.now();
  const elapsed = now - lastLineAt;
  lastLineAt = now;
  return formatGoDuration(elapsed);
}

export class QueueStats {
  private latest = 0;
  private mean = 0;
  private meanCount = 0;
  private max = 0;
  private count = 0;

  constructor(
    private readonly name: string,
    private readonly periodMs: number,
  ) {}

  sample(queueLength: number): void {
    this.latest = queueLength;
    if (queueLength > this.max) this.max = queueLength;
    this.count++;
    if (queueLength !== 0) {
      this.mean = Math.trunc((this.mean * this.meanCount + queueLength) / (this.meanCount + 1));
      this.meanCount++;
    }
  }

  /** The header line gor prints once at start. */
  header(): string {
    return `[DEBUG][elapsed ${sinceLastLine()}]: \n ${this.name}:latest,mean,max,count,count/second,gcount`;
  }

  /** The line for the period just ended (at start: all zero); resets the values. */
  line(gcount: number): string {
    // gor divides by whole seconds (and panics below 1000 ms); tapline uses the real period.
    const perSecond = Math.trunc((this.count * 1000) / Math.max(1, this.periodMs));
    const text =
      `[DEBUG][elapsed ${sinceLastLine()}]: \n ${this.name}:` +
      `${this.latest},${this.mean},${this.max},${this.count},${perSecond},${gcount}`;
    this.latest = 0;
    this.mean = 0;
    this.meanCount = 0;
    this.max = 0;
    this.count = 0;
    return text;
  }
}
