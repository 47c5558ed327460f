/** The end-of-run summary (always, on stderr) and the --stats JSON object. */
import type { AnalyticsSnapshot } from '../analytics/types.js';
import type { Logger } from '../core/log.js';
import type { RunSummary } from '../core/pipeline.js';
import { formatBytes, groupDigits } from '../core/values.js';

/**
 * The --stats object: one JSON line. Field names are stable (documented in docs/observability.md; the
 * analytics fields — total_requests, avg_request_size, top_endpoints, routes… — in docs/analytics.md).
 * The pipeline's counters come first; the analytics snapshot, when accounting runs, is merged in after them
 * (its elapsed_s is the same wall-clock run time).
 */
export function statsObject(summary: RunSummary, analytics?: AnalyticsSnapshot): Record<string, unknown> {
  const c = summary.counters;
  const seconds = summary.durationMs / 1000;
  return {
    elapsed_s: round(seconds),
    messages: c.messages,
    bytes: c.bytes,
    messages_per_s: seconds > 0 ? round(c.messages / seconds) : 0,
    filtered: c.filtered,
    empty_skipped: c.empty,
    truncated: c.truncated,
    // Only when some were: a run that stops normally passes on everything it read.
    ...(c.not_passed_on ? { not_passed_on: c.not_passed_on } : {}),
    inputs: Object.fromEntries(
      summary.inputs.map((i) => [i.name, { ...i.stats, ...(i.error ? { error: i.error } : {}) }]),
    ),
    outputs: Object.fromEntries(
      summary.outputs.map((o) => [
        o.name,
        // `error`, as for inputs: an output's own `failed` counter (Kafka, Elasticsearch, binary) keeps its name.
        {
          written: writtenPast(o),
          lost: o.lost,
          ...o.stats,
          ...(o.failed ? { error: o.failed } : {}),
          ...(o.stopped ? { stopped: o.stopped } : {}),
        },
      ]),
    ),
    ...(analytics ? { ...analytics, elapsed_s: round(seconds) } : {}),
  };
}

export function formatSummary(summary: RunSummary, log: Logger & { suppressed?: () => Map<string, number> }): string {
  const c = summary.counters;
  const seconds = summary.durationMs / 1000;
  const rate = seconds > 0 ? Math.round(c.messages / seconds) : 0;
  const lines = [
    `tapline: ${summary.stopped ? 'stopped' : 'done'} after ${seconds.toFixed(2)}s: ${c.messages} messages ` +
      `(${formatBytes(c.bytes)}, ${groupDigits(rate)}/s)` +
      (c.filtered ? `, ${c.filtered} filtered` : '') +
      (c.truncated ? `, ${c.truncated} cut by --copy-buffer-size` : '') +
      (c.empty ? `, ${c.empty} empty skipped` : '') +
      (c.not_passed_on ? `, ${c.not_passed_on} read but not passed on: the run stopped` : ''),
  ];
  // Parts are joined only when present, so an input that failed before reading says just that.
  for (const i of summary.inputs) {
    const parts = [describeCounters(i.stats), i.error ? `failed: ${i.error}` : ''];
    lines.push(`  ${i.name}: ${parts.filter(Boolean).join('; ') || 'nothing read'}`);
  }
  for (const o of summary.outputs) {
    const written = `${writtenPast(o)} written${o.lost ? `, ${o.lost} not written (output out of service)` : ''}`;
    const ended = o.failed ? `failed: ${o.failed}` : o.stopped ? `stopped: ${o.stopped}` : '';
    const parts = [written, describeCounters(o.stats), ended];
    lines.push(`  ${o.name}: ${parts.filter(Boolean).join('; ')}`);
  }
  const suppressed = log.suppressed?.();
  if (suppressed && suppressed.size > 0) {
    lines.push(`  warnings not shown: ${[...suppressed].map(([k, n]) => `${n} × ${k}`).join(', ')}`);
  }
  return lines.join('\n');
}

/**
 * Outputs that did not deliver messages they had taken: forwarding outputs (--output-tcp, --output-ws,
 * --output-binary) whose peer was away while their queue was full, or that still held some when they closed, or
 * whose peer's TCP never acknowledged some the kernel took before their connection ended (`not_acknowledged`);
 * Kafka and Elasticsearch outputs whose broker or cluster refused or never acknowledged some (`failed`);
 * --output-http requests given up when a stop's time ran out (`not_sent_at_stop`, `unanswered_at_stop`);
 * --output-file records written to a file someone removed meanwhile (`lost_in_removed_file`). Said
 * during the run; a run that lost what it accepted does not exit 0.
 */
export function undeliveredLines(summary: RunSummary): string[] {
  const lines: string[] = [];
  for (const o of summary.outputs) {
    const away = Number(o.stats?.dropped_while_away ?? 0);
    const atClose = Number(o.stats?.lost_at_close ?? 0);
    const failed = Number(o.stats?.failed ?? 0);
    const unacked = Number(o.stats?.not_acknowledged ?? 0);
    const notSent = Number(o.stats?.not_sent_at_stop ?? 0);
    const cutOff = Number(o.stats?.unanswered_at_stop ?? 0);
    const removed = Number(o.stats?.lost_in_removed_file ?? 0);
    if (away + atClose + failed + unacked + notSent + cutOff + removed === 0) continue;
    const parts = [
      away > 0 ? `${away} dropped while the peer was away` : '',
      atClose > 0 ? `${atClose} at close` : '',
      failed > 0 ? `${failed} failed` : '',
      unacked > 0 ? `${unacked} not acknowledged by the peer before its connection ended: lost, or possibly lost` : '',
      notSent > 0 ? `${notSent} never sent: the stop's time ran out` : '',
      cutOff > 0 ? `${cutOff} sent and not answered when the stop's time ran out` : '',
      removed > 0 ? `${removed} written to a file that was then removed` : '',
    ];
    const all = away + atClose + failed + unacked + notSent + cutOff + removed;
    lines.push(`${o.name}: ${all} message(s) not delivered (${parts.filter(Boolean).join(', ')})`);
  }
  return lines;
}

/**
 * At an exit without waiting (the second signal): the records the inputs had read that no output took yet,
 * given up. Only where the counts say it exactly: every input counts its records (--input-file does), and no
 * middleware stands between, which may drop or add messages. Records an input limiter let fall were never
 * going anywhere, and those the run had already counted (empty, not passed on) are named elsewhere.
 */
export function givenUpAtOnceLine(summary: RunSummary, transformed: boolean): string | undefined {
  if (transformed || summary.inputs.length === 0) return undefined;
  let read = 0;
  for (const i of summary.inputs) {
    const records = i.stats?.records;
    if (typeof records !== 'number') return undefined;
    const dropped = i.stats?.limit_dropped;
    read += records - (typeof dropped === 'number' ? dropped : 0);
  }
  const c = summary.counters;
  const gap = read - c.messages - c.empty - c.not_passed_on;
  if (gap <= 0) return undefined;
  return (
    `tapline: exited at once: ${groupDigits(gap)} record(s) read from the input(s) had not reached an output ` +
    'and are lost, as is what the outputs had taken and not yet sent (one SIGINT, and the flush it waits for, keeps both)'
  );
}

/**
 * What went past the output's `|N` / `|N%` limiter: the pipeline counts what it handed to the limited output,
 * and the limiter's own `limit_dropped` says how many of those it let fall (shown beside, in the counters).
 */
function writtenPast(o: RunSummary['outputs'][number]): number {
  const dropped = o.stats?.limit_dropped;
  return typeof dropped === 'number' ? o.written - dropped : o.written;
}

function describeCounters(stats: Record<string, number | string> | undefined): string {
  if (!stats) return '';
  return Object.entries(stats)
    .filter(([, v]) => v !== 0 && v !== '')
    .map(([k, v]) => `${k.replace(/_/g, ' ')} ${typeof v === 'number' && k.includes('bytes') ? formatBytes(v) : v}`)
    .join(', ');
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
