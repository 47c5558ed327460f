/**
 * The dashboard in a real browser: Debian's Chromium driven by playwright-core (never `playwright install`).
 * The page loads with no console errors and no request leaves the machine, the chart and the routes table
 * render, the numbers move while traffic flows, an alert shows up; a screenshot is saved to
 * test-artifacts/dashboard.png.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium } from 'playwright-core';
import { AlertMonitor } from '../../src/analytics/export/alerts.js';
import { shortName } from '../../src/analytics/export/long-names.js';
import { createLogger } from '../../src/core/log.js';
import { type Dashboard, startDashboard } from '../../src/web/server.js';
import { pollUntil } from '../exporters/external-servers.js';
import { exchange, FixedFeed } from '../exporters/fixed-feed.js';
import { REPO_ROOT } from '../support/corpus.js';

const CHROMIUM = '/usr/bin/chromium';

describe('dashboard in Chromium', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} not installed` }, () => {
  const feed = new FixedFeed();
  const alerts = new AlertMonitor({
    window: () => feed.snapshot(),
    budgets: { maxShare: 0.5 },
    windowMs: 10_000,
    log: createLogger({ write: () => {} }),
  });
  let dashboard: Dashboard;
  let browser: Browser;
  let traffic: NodeJS.Timeout;

  before(async () => {
    dashboard = await startDashboard(feed, { host: '127.0.0.1', port: 0 }, { alerts, intervalMs: 250 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'],
    });
  });
  after(async () => {
    clearInterval(traffic);
    await browser?.close();
    await dashboard?.close();
  });

  it('renders the chart, the top routes with share bars, status mix and alerts, and updates live', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 1100 } });
    const problems: string[] = [];
    const foreign: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('request', (r) => {
      if (!r.url().startsWith(dashboard.url) && !r.url().startsWith('data:')) foreign.push(r.url());
    });

    // Traffic flows while the page is open: mostly a big route, some small ones, a few errors.
    let n = 0;
    traffic = setInterval(() => {
      n++;
      feed.push(
        exchange({ route: '/videos/:id', responseBodyBytes: 50_000 }),
        exchange({ route: '/api/users/:id', responseBodyBytes: 800 }),
        exchange({ route: '/api/cart', method: 'POST', requestBodyBytes: 300, status: n % 4 === 0 ? 503 : 200 }),
      );
    }, 50);

    await page.goto(dashboard.url);
    await page.waitForSelector('#chart canvas', { timeout: 15_000 });
    await page.waitForSelector('#routes tbody tr', { timeout: 15_000 });
    const requests = async () => Number(await page.textContent('#requests'));
    const first = await requests();
    // Counted from the update `first` came from (on a loaded machine the page may have had several already).
    // Browser-side code as strings: the project compiles without the DOM lib.
    const seen = Number(await page.evaluate('document.body.dataset.updates'));
    await page.waitForFunction(`Number(document.body.dataset.updates) >= ${seen + 3}`, undefined, { timeout: 15_000 });
    const later = await requests();
    assert.ok(later > first, `requests shown went from ${first} to ${later}`);

    const rows = (await page.evaluate(`[...document.querySelectorAll('#routes tbody tr')].map((tr) => ({
      route: tr.querySelector('td').textContent,
      bar: tr.querySelector('.bar > span').style.width,
    }))`)) as { route: string; bar: string }[];
    assert.equal(rows[0]!.route, '/videos/:id', 'largest route first');
    assert.ok(Number.parseFloat(rows[0]!.bar) > 90, `share bar ${rows[0]!.bar}`);
    assert.equal(rows.length, 3);
    assert.match((await page.textContent('#status-legend')) ?? '', /2xx \d+.*5xx \d+/);
    const points = (await page.evaluate(
      `(() => { const c = document.querySelector('#chart canvas'); return { width: c.width, height: c.height }; })()`,
    )) as { width: number; height: number };
    assert.ok(points.width > 300 && points.height > 100, JSON.stringify(points));
    const bw = (await page.textContent('#bw')) ?? '';
    assert.match(bw, /(KiB|MiB)\/s$/);

    // /videos/:id takes > 50 % of the bytes: the max-share alert fires and the page shows it.
    assert.equal(alerts.check().length, 1);
    await page.waitForSelector('#alerts li.firing', { timeout: 10_000 });
    assert.match((await page.textContent('#alerts')) ?? '', /max-share: \/videos\/:id .*% of all bytes > 50\.0%/);

    await pollUntil('one viewer', async () => (dashboard.viewers() === 1 ? true : undefined), 5000);
    const dir = join(REPO_ROOT, 'test-artifacts');
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: join(dir, 'dashboard.png'), fullPage: true });
    assert.deepEqual(problems, []);
    assert.deepEqual(foreign, []);
  });

  it('routes from hostile traffic are text, and a 10 KB route neither widens the page nor fills it', async () => {
    // A 10 KB path (and an alert naming it) made the page 67,000 px wide: the alert line did not wrap, and the
    // table cell held the whole route.
    const long = `/${'xy/'.repeat(3400)}`;
    const html = '/<img src=x onerror="document.body.dataset.owned=1">';
    feed.push(exchange({ route: long, host: 'h'.repeat(5000), responseBodyBytes: 50_000_000 }));
    feed.push(exchange({ route: html, host: '<b>host</b>' }));
    alerts.check();
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    await page.goto(dashboard.url);
    await page.waitForFunction(
      `[...document.querySelectorAll('#routes td.route')].some((td) => td.title.length > 1000)`,
    );
    await page.waitForFunction(
      `[...document.querySelectorAll('#alerts li')].some((li) => li.textContent.includes('xy/xy/'))`,
    );
    const seen = (await page.evaluate(`(() => {
      const cells = [...document.querySelectorAll('#routes tbody tr')].map((tr) => [...tr.children].map((td) => [td.textContent, td.title]));
      return {
        cells,
        width: document.documentElement.scrollWidth,
        viewport: innerWidth,
        owned: document.body.dataset.owned ?? null,
        injected: document.querySelectorAll('#routes img, #routes b, #alerts img').length,
      };
    })()`)) as { cells: [string, string][][]; width: number; viewport: number; owned: string | null; injected: number };
    // The tooltip holds the name as the exporters label it: 1,000 characters, '…' and a hash of the whole.
    const longRow = seen.cells.find((c) => c[0]![1] === shortName(long))!;
    assert.equal(longRow[0]![0], `${long.slice(0, 200)}…`);
    assert.equal(longRow[1]![0], `${'h'.repeat(200)}…`);
    assert.equal(longRow[1]![1], shortName('h'.repeat(5000)));
    assert.ok(
      seen.cells.some((c) => c[0]![0] === html && c[1]![0] === '<b>host</b>'),
      'shown as text',
    );
    assert.equal(seen.injected, 0);
    assert.equal(seen.owned, null);
    assert.ok(seen.width <= seen.viewport, `page ${seen.width} px wide in a ${seen.viewport} px window`);
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('a page turned away (the viewers are all taken) says so and connects once a place is free', async () => {
    // The 503 closes an EventSource for good: the page said 'reconnecting…' for ever and never reconnected.
    const small = await startDashboard(feed, { host: '127.0.0.1', port: 0 }, { intervalMs: 250, maxViewers: 1 });
    const first = await browser.newPage();
    const second = await browser.newPage();
    try {
      await first.goto(small.url);
      await first.waitForFunction('Number(document.body.dataset.updates) >= 1', undefined, { timeout: 15_000 });
      await second.clock.install();
      await second.goto(small.url);
      await second.waitForFunction(
        `document.getElementById('conn').textContent.includes('trying again in 30 s')`,
        undefined,
        { timeout: 15_000 },
      );
      assert.equal(small.stats().viewers_refused, 1);
      await first.close();
      await pollUntil('the first viewer gone', async () => (small.viewers() === 0 ? true : undefined));
      await second.clock.runFor(31_000);
      await second.waitForFunction('Number(document.body.dataset.updates) >= 1', undefined, { timeout: 15_000 });
      assert.equal(await second.textContent('#conn'), 'live');
      assert.equal(small.viewers(), 1);
    } finally {
      await second.close();
      await small.close();
    }
  });

  it('serves the snapshot as JSON and 404s unknown paths', async () => {
    const res = await fetch(`${dashboard.url}/api/snapshot`);
    const state = (await res.json()) as { total_requests: number; routes: unknown[] };
    assert.ok(state.total_requests > 0);
    assert.equal((await fetch(`${dashboard.url}/nope`)).status, 404);
    assert.equal((await fetch(dashboard.url, { method: 'POST' })).status, 405);
  });
});
