/**
 * Flags of the live consumers of analytics: exporters, the dashboard and alerts. Declared once here; the CLI
 * merges them into its flag table (`--help` and docs/flags.md are generated from these declarations). The
 * budgets the alerts judge (--max-*) are declared with the analytics flags (../flags.ts).
 */
import type { FlagSpec } from '../../core/flags.js';

const SECTION = 'Analytics: live exporters, dashboard, alerts';

export const liveConsumerFlags: Readonly<Record<string, FlagSpec>> = {
  metrics: {
    kind: 'string',
    once: 'tapline serves one Prometheus endpoint; give one address',
    section: SECTION,
    value: 'ADDR',
    help: 'Serve Prometheus metrics at http://ADDR/metrics: per-route byte counters (direction, header/body), request counters by status class, latency histograms. A bare :port listens on 127.0.0.1 only.',
  },
  'output-influxdb': {
    kind: 'string',
    once: 'tapline writes to one InfluxDB database; give one URL',
    section: SECTION,
    value: 'URL',
    help: 'Write per-route totals to InfluxDB 1.x every --output-influxdb-interval, as line protocol POSTed to /write, e.g. http://127.0.0.1:8086?db=tapline (the database is created when missing).',
  },
  'output-influxdb-interval': {
    kind: 'duration',
    default: '10s',
    section: SECTION,
    value: 'DURATION',
    help: 'How often --output-influxdb writes (and once more at exit).',
  },
  dashboard: {
    kind: 'string',
    once: 'tapline serves one dashboard; give one address',
    section: SECTION,
    value: 'ADDR',
    help: 'Serve a live dashboard at http://ADDR/: bandwidth chart, top routes by bytes, status mix, alerts (works offline). A bare :port listens on 127.0.0.1 only.',
  },
  'alert-window': {
    kind: 'duration',
    default: '1m',
    section: SECTION,
    value: 'DURATION',
    help: 'On live runs, the --max-* budgets are judged every second over the traffic of this sliding window; a breach prints an alert line, again every hour while it lasts, and another when it resolves (the budget held for 30s).',
  },
  'alert-webhook': {
    kind: 'string',
    once: 'tapline POSTs alerts to one receiver; give one URL (a receiver that fans out, such as Alertmanager, reaches several)',
    section: SECTION,
    value: 'URL',
    help: 'POST each alert (fired, hourly reminder, resolved) as JSON to URL. Failures are counted and reported; the run goes on and exits 1 when some were not delivered.',
  },
};
