/**
 * A one-line live status on a terminal (records, bytes, rate, ETA), redrawn in place. Log lines are
 * printed above it. Never used when stderr is not a TTY, so pipes and CI logs stay clean; nor on a terminal
 * that cannot erase a line (TERM=dumb: Emacs shell buffers, some CI consoles), where every redraw would
 * print ESC [K and pile up.
 */
import { formatBytes, groupDigits } from '../core/values.js';

export interface Progress {
  records: number;
  bytesRead: number;
  bytesTotal: number;
}

export class StatusLine {
  private text = '';
  private timer: NodeJS.Timeout | undefined;
  private readonly started = performance.now();

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly poll: () => Progress | undefined,
    private readonly intervalMs = 250,
    private readonly term = process.env.TERM,
  ) {}

  start(): void {
    if (this.term === 'dumb') return;
    this.timer = setInterval(() => this.redraw(), this.intervalMs);
    this.timer.unref();
  }

  /** Prints a log line above the status line. */
  readonly write = (line: string): void => {
    if (this.text) this.stream.write('\r\x1b[K');
    this.stream.write(`${line}\n`);
    if (this.text) this.stream.write(this.text);
  };

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.text) this.stream.write('\r\x1b[K');
    this.text = '';
  }

  private redraw(): void {
    const p = this.poll();
    if (!p) return;
    const seconds = (performance.now() - this.started) / 1000;
    const rate = seconds > 0 ? p.records / seconds : 0;
    const byteRate = seconds > 0 ? p.bytesRead / seconds : 0;
    const left = p.bytesTotal > p.bytesRead && byteRate > 0 ? (p.bytesTotal - p.bytesRead) / byteRate : undefined;
    const pct = p.bytesTotal > 0 ? ` ${Math.min(100, (100 * p.bytesRead) / p.bytesTotal).toFixed(0)}%` : '';
    this.text =
      `tapline:${pct} ${groupDigits(p.records)} records, ${formatBytes(p.bytesRead)}, ` +
      `${groupDigits(Math.round(rate))} rec/s${left === undefined ? '' : `, ETA ${clock(left)}`}`;
    this.stream.write(`\r\x1b[K${this.text.slice(0, (this.stream.columns || 100) - 1)}`);
  }
}

function clock(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  const mm = String(m).padStart(h > 0 ? 2 : 1, '0');
  return h > 0 ? `${h}:${mm}:${String(r).padStart(2, '0')}` : `${mm}:${String(r).padStart(2, '0')}`;
}
