/**
 * Analytics flags, shared by live runs (with --stats) and `tapline report`: route rules, the route limit and
 * the budgets. Declared once here; the CLI's global flags and the report command both read this table.
 */
import type { FlagSpec } from '../core/flags.js';

const SECTION = 'Analytics';

export const analyticsFlags: Readonly<Record<string, FlagSpec>> = {
  route: {
    kind: 'string',
    multi: true,
    section: SECTION,
    value: 'PATTERN',
    help: "File matching paths under this route, e.g. '/users/:id/orders' (:name = one segment, a last * = the rest). Repeatable; the first match wins; other paths are templated automatically (docs/analytics.md).",
  },
  'route-limit': {
    kind: 'int',
    min: '1',
    default: '1000',
    section: SECTION,
    value: 'N',
    help: 'Distinct routes kept; exchanges of later routes are counted under "(other)" (routes_overflowed), so memory stays flat.',
  },
  'max-total': {
    kind: 'size',
    min: '0',
    section: SECTION,
    value: 'SIZE',
    help: 'Budget: all wire bytes (requests and responses, headers and bodies). A breach is printed; report exits 3.',
  },
  'max-route': {
    kind: 'size',
    min: '0',
    section: SECTION,
    value: 'SIZE',
    help: "Budget: any one route's wire bytes.",
  },
  'max-share': {
    kind: 'string',
    section: SECTION,
    value: 'PCT',
    help: "Budget: any one route's share of all wire bytes, e.g. 30%.",
  },
  'max-latency': {
    kind: 'duration',
    min: '0',
    section: SECTION,
    value: 'DURATION',
    help: "Budget: any one route's p95 latency (request first byte to response last byte), e.g. 250ms.",
  },
};
