/**
 * The dashboard's one page. Static HTML and CSS; the chart library (uPlot) and the page script are separate
 * resources served by server.ts, so the page works offline (no CDN) and under a strict CSP.
 */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tapline — live bandwidth</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/uplot.css">
<style>
  :root { font-family: system-ui, sans-serif; color: #1d2430; background: #f6f7f9; }
  body { margin: 0 auto; max-width: 1100px; padding: 16px 20px; }
  h1 { font-size: 20px; margin: 0 0 4px; }
  h2 { font-size: 15px; margin: 20px 0 8px; }
  .muted { color: #6b7480; font-size: 13px; }
  .cards { display: flex; gap: 12px; flex-wrap: wrap; margin: 12px 0; }
  .card { background: #fff; border: 1px solid #dde1e6; border-radius: 6px; padding: 10px 14px; min-width: 150px; }
  .card .v { font-size: 22px; font-variant-numeric: tabular-nums; }
  .panel { background: #fff; border: 1px solid #dde1e6; border-radius: 6px; padding: 10px; }
  table { border-collapse: collapse; width: 100%; font-size: 13px; font-variant-numeric: tabular-nums; }
  th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eef0f3; }
  th.n, td.n { text-align: right; }
  td { overflow-wrap: anywhere; }
  td.route { font-family: ui-monospace, monospace; word-break: break-all; }
  .bar { background: #e8edf5; height: 10px; width: 140px; border-radius: 3px; overflow: hidden; display: inline-block; vertical-align: middle; }
  .bar > span { display: block; height: 100%; background: #3b6fd8; }
  .status { display: flex; height: 18px; border-radius: 4px; overflow: hidden; background: #eef0f3; }
  .status > span { height: 100%; }
  .legend span { margin-right: 12px; font-size: 13px; }
  .s1xx { background: #9aa5b1; } .s2xx { background: #3ba55c; } .s3xx { background: #3b6fd8; }
  .s4xx { background: #e0a526; } .s5xx { background: #d64545; } .snone { background: #6b7480; }
  #alerts li { margin: 4px 0; font-size: 13px; overflow-wrap: anywhere; }
  #alerts .firing { color: #b22d2d; } #alerts .resolved { color: #3b7a4c; }
  #conn { float: right; }
</style>
</head>
<body>
<span id="conn" class="muted">connecting…</span>
<h1>tapline — where the bytes go</h1>
<div class="muted">Live from this tapline run; updates every second over server-sent events.</div>
<div class="cards">
  <div class="card"><div class="muted">Bandwidth now</div><div class="v" id="bw">–</div></div>
  <div class="card"><div class="muted">Requests/s</div><div class="v" id="rps">–</div></div>
  <div class="card"><div class="muted">Requests</div><div class="v" id="requests">–</div></div>
  <div class="card"><div class="muted">Bytes (all)</div><div class="v" id="bytes">–</div></div>
  <div class="card"><div class="muted">Routes</div><div class="v" id="nroutes">–</div></div>
</div>
<h2>Bandwidth</h2>
<div class="panel"><div id="chart"></div></div>
<h2>Top routes by bytes</h2>
<div class="panel">
<table id="routes">
  <thead><tr><th>Route</th><th>Host</th><th class="n">Requests</th><th class="n">Bytes</th><th>Share</th><th class="n">p95</th><th class="n">4xx/5xx</th></tr></thead>
  <tbody></tbody>
</table>
</div>
<h2>Status mix</h2>
<div class="panel"><div class="status" id="status"></div><div class="legend" id="status-legend"></div></div>
<h2>Alerts</h2>
<div class="panel"><div id="alerts-none" class="muted">No budget given (--max-total, --max-route, --max-share, --max-latency), or none broken.</div><ul id="alerts"></ul></div>
<script src="/uplot.js"></script>
<script src="/app.js"></script>
</body>
</html>
`;

/** The page script: plain ES2017, no build step; DOM built with textContent (route names are user data). */
export const PAGE_SCRIPT = `'use strict';
(function () {
  var UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  function bytes(n) {
    var i = 0;
    while (n >= 1024 && i < UNITS.length - 1) { n /= 1024; i++; }
    return (i === 0 ? String(Math.round(n)) : n.toFixed(1)) + ' ' + UNITS[i];
  }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }
  function set(id, text) { document.getElementById(id).textContent = text; }
  // Routes and hosts come from the traffic and may be kilobytes long: shown clipped, whole in the tooltip.
  var CLIP = 200;
  function clipped(tag, text, cls) {
    var e = el(tag, text.length > CLIP ? text.slice(0, CLIP) + '…' : text, cls);
    if (text.length > CLIP) e.title = text;
    return e;
  }

  var chart = null;
  function drawChart(s) {
    var data = [s.series.t, s.series.bytes_per_s, s.series.requests_per_s];
    if (!chart) {
      var width = Math.max(300, document.getElementById('chart').clientWidth - 10);
      chart = new uPlot({
        width: width, height: 260,
        series: [
          {},
          { label: 'bytes/s', stroke: '#3b6fd8', fill: 'rgba(59,111,216,0.12)', value: function (u, v) { return v == null ? '–' : bytes(v) + '/s'; } },
          { label: 'requests/s', stroke: '#3ba55c', scale: 'rps', value: function (u, v) { return v == null ? '–' : v.toFixed(1); } }
        ],
        axes: [
          {},
          { values: function (u, vals) { return vals.map(function (v) { return bytes(v) + '/s'; }); }, size: 96 },
          { side: 1, scale: 'rps', grid: { show: false } }
        ]
      }, data, document.getElementById('chart'));
    } else {
      chart.setData(data);
    }
  }

  function drawRoutes(s) {
    var body = document.querySelector('#routes tbody');
    body.replaceChildren();
    s.routes.forEach(function (r) {
      var tr = el('tr');
      tr.appendChild(clipped('td', r.route, 'route'));
      tr.appendChild(clipped('td', r.host));
      tr.appendChild(el('td', String(r.requests), 'n'));
      tr.appendChild(el('td', bytes(r.total_bytes), 'n'));
      var share = el('td');
      var bar = el('span', undefined, 'bar');
      var fill = el('span');
      fill.style.width = (r.share * 100).toFixed(1) + '%';
      bar.appendChild(fill);
      share.appendChild(bar);
      share.appendChild(document.createTextNode(' ' + (r.share * 100).toFixed(1) + '%'));
      tr.appendChild(share);
      tr.appendChild(el('td', r.p95_ms ? r.p95_ms.toFixed(1) + ' ms' : '–', 'n'));
      tr.appendChild(el('td', String(r.errors), 'n'));
      body.appendChild(tr);
    });
  }

  function drawStatus(s) {
    var bar = document.getElementById('status');
    var legend = document.getElementById('status-legend');
    bar.replaceChildren();
    legend.replaceChildren();
    var keys = ['1xx', '2xx', '3xx', '4xx', '5xx', 'none'];
    var total = keys.reduce(function (a, k) { return a + s.status[k]; }, 0);
    keys.forEach(function (k) {
      var n = s.status[k];
      if (!n) return;
      var part = el('span', undefined, 's' + k);
      part.style.width = (100 * n / total) + '%';
      part.title = k + ': ' + n;
      bar.appendChild(part);
      var item = el('span', k + ' ' + n + ' (' + (100 * n / total).toFixed(1) + '%)');
      item.dataset.status = k;
      legend.appendChild(item);
    });
  }

  function drawAlerts(s) {
    var list = document.getElementById('alerts');
    list.replaceChildren();
    var events = s.alerts.recent.slice().reverse();
    document.getElementById('alerts-none').style.display = events.length ? 'none' : '';
    events.forEach(function (a) {
      var active = s.alerts.active.some(function (x) { return x.budget === a.budget && x.route === a.route && x.host === a.host; });
      var li = el('li', (a.state === 'firing' ? '▲ ' : '✓ ') + a.at.slice(11, 19) + '  ' + a.message + (a.state === 'resolved' ? ' (resolved)' : active ? ' (active)' : ''), a.state);
      list.appendChild(li);
    });
  }

  function render(s) {
    set('bw', bytes(s.bytes_per_s) + '/s');
    set('rps', s.requests_per_s.toFixed(1));
    set('requests', String(s.total_requests));
    set('bytes', bytes(s.total_bytes));
    set('nroutes', String(s.routes_total));
    drawChart(s);
    drawRoutes(s);
    drawStatus(s);
    drawAlerts(s);
    document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
  }

  // A dropped stream is reconnected by the browser itself. An answer that is not a stream (the 503 of a server
  // that has its 64 viewers already, a proxy's error) closes the EventSource for good: the page said
  // 'reconnecting…' for ever and never did. It now says so and opens a new one after the 503's Retry-After.
  function connect() {
    var source = new EventSource('/api/stream');
    source.addEventListener('state', function (e) {
      set('conn', 'live');
      render(JSON.parse(e.data));
    });
    source.onerror = function () {
      if (source.readyState !== EventSource.CLOSED) {
        set('conn', 'reconnecting…');
        return;
      }
      source.close();
      set('conn', 'not connected: tapline turned this page away (too many viewers?) or answered an error; trying again in 30 s');
      setTimeout(connect, 30000);
    };
  }
  connect();
})();
`;
