/**
 * How a breach reads: the value and the limit are printed with the digits it takes to tell them apart.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exchange, snapshotOf } from '../../test/exporters/fixed-feed.js';
import { evaluateBudgets, parseShare } from './budgets.js';

// Two routes: /big 3 × 1250 B (75%), /small 1250 B (25%); 5000 B in all.
const snapshot = snapshotOf([
  exchange({ route: '/big' }),
  exchange({ route: '/big' }),
  exchange({ route: '/big' }),
  exchange({ route: '/small' }),
]);

describe('breach messages', () => {
  it('a small --max-share is printed as given, not rounded to 0.0%', () => {
    const [big, small] = evaluateBudgets(snapshot, { maxShare: parseShare('0.001%', '--max-share') });
    assert.equal(big!.message, 'max-share: /big 75.0% of all bytes > 0.001%');
    assert.equal(small!.message, 'max-share: /small 25.0% of all bytes > 0.001%');
    const [half] = evaluateBudgets(snapshot, { maxShare: parseShare('12.5', '--max-share') });
    assert.equal(half!.message, 'max-share: /big 75.0% of all bytes > 12.5%');
  });

  it('a route kilobytes long is cut in the line, its length said; the breach keeps it whole', () => {
    // A captured 10 KB path made a 10,233-character budget line (and live alert line) on the terminal.
    const long = `/${'xy/'.repeat(3400)}`;
    const s = snapshotOf([exchange({ route: long, responseBodyBytes: 9000 }), exchange({ route: '/small' })]);
    const [route] = evaluateBudgets(s, { maxRouteBytes: 5000 });
    assert.equal(route!.route, long);
    assert.equal(route!.message, `max-route: ${long.slice(0, 200)}… (10,201 characters) 9.03 KiB > 4.88 KiB`);
    const [share] = evaluateBudgets(s, { maxShare: 0.5 });
    assert.ok(share!.message.length < 300, share!.message);
    // Cut between the halves of a surrogate pair, it would end with a lone surrogate (invalid UTF-8 on stderr).
    const emoji = `/${'a'.repeat(198)}😀${'b'.repeat(50)}`;
    const s2 = snapshotOf([exchange({ route: emoji, responseBodyBytes: 9000 }), exchange({ route: '/small' })]);
    const [cut] = evaluateBudgets(s2, { maxRouteBytes: 5000 });
    assert.ok(cut!.message.startsWith(`max-route: /${'a'.repeat(198)}… (`), cut!.message);
  });

  it('a share just over its limit gets the digits that show it is over', () => {
    // /close 7501 B of 10000: 75.01%, which one decimal prints as 75.0%, the limit itself.
    const close = snapshotOf([
      exchange({ route: '/close', responseBodyBytes: 7251 }),
      exchange({ route: '/rest', responseBodyBytes: 2249 }),
    ]);
    const [over] = evaluateBudgets(close, { maxShare: parseShare('75', '--max-share') });
    assert.equal(over!.message, 'max-share: /close 75.01% of all bytes > 75.0%');
    const [clear] = evaluateBudgets(snapshot, { maxShare: parseShare('74.99', '--max-share') });
    assert.equal(clear!.message, 'max-share: /big 75.0% of all bytes > 74.99%');
  });

  it('bytes that round to the same size as the limit are given exactly as well', () => {
    const [total] = evaluateBudgets(snapshot, { maxTotalBytes: 4980 });
    assert.equal(total!.message, 'max-total: all routes 4.88 KiB > 4.86 KiB');
    const [close] = evaluateBudgets(snapshot, { maxTotalBytes: 4999 });
    assert.equal(close!.message, 'max-total: all routes 4.88 KiB (5000 B) > 4.88 KiB (4999 B)');
    const [route] = evaluateBudgets(snapshot, { maxRouteBytes: 3749 });
    assert.equal(route!.message, 'max-route: /big 3.66 KiB (3750 B) > 3.66 KiB (3749 B)');
    const [plain] = evaluateBudgets(snapshot, { maxRouteBytes: 1000 });
    assert.equal(plain!.message, 'max-route: /big 3.66 KiB > 1000 B');
  });
});
