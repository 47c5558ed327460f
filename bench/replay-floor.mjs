// Two reference points for the replay benchmark, each in its own process, printing one JSON line on stdout:
//   node bench/replay-floor.mjs output FILE URL N CONNECTIONS
//     the built --output-http (dist/outputs/http.js) fed the first N requests of FILE from memory: the output's
//     own CPU per request, without start-up, the file input or the pipeline;
//   node bench/replay-floor.mjs bare FILE URL N CONNECTIONS
//     a few lines of Node on raw sockets (write the next request from a 'data' handler, nothing else): the floor
//     for Node and this kernel against the same server.
// CPU is counted from the first request (after parsing the file) to the last answer.
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';

const [mode, file, url, countText, connectionsText] = process.argv.slice(2);
const count = Number(countText);
const connections = Number(connectionsText);
const { hostname, port } = new URL(url);
const SEPARATOR = Buffer.from('\n🐵🙈🙉\n');

/** [meta line, payload] of the first `count` records. */
function records() {
  const gor = readFileSync(file);
  const out = [];
  for (let at = 0; out.length < count && at < gor.length; ) {
    const end = gor.indexOf(SEPARATOR, at);
    const record = gor.subarray(at, end < 0 ? gor.length : end);
    const nl = record.indexOf(0x0a);
    out.push([record.toString('latin1', 0, nl), record.subarray(nl + 1)]);
    if (end < 0) break;
    at = end + SEPARATOR.length;
  }
  return out;
}

function report(started, cpu, n) {
  const used = process.cpuUsage(cpu);
  console.log(
    JSON.stringify({ mode, requests: n, cpuUs: (used.user + used.system) / n, ms: performance.now() - started }),
  );
}

async function output() {
  const { httpOutput } = await import('../dist/outputs/http.js');
  const { makeMeta } = await import('../dist/core/message.js');
  const messages = records().map(([line, data]) => {
    const [type, id, ts] = line.split(' ');
    return { meta: makeMeta({ type, id, timestampNs: BigInt(ts) }), data };
  });
  const out = httpOutput(url, { workers: connections, workersMin: connections });
  const started = performance.now();
  const cpu = process.cpuUsage();
  for (const msg of messages) {
    const pending = out.write(msg);
    if (pending) await pending;
  }
  await out.drain();
  report(started, cpu, messages.length);
  const stats = out.stats();
  await out.close();
  if (stats.status_2xx !== messages.length) throw new Error(`only ${stats.status_2xx} 2xx answers`);
}

function bare() {
  // Host as tapline sets it, so the server sees the same bytes.
  const requests = records().map(([, data]) =>
    Buffer.from(data.toString('latin1').replace(/\r\nHost: [^\r]*\r\n/, `\r\nHost: ${hostname}:${port}\r\n`), 'latin1'),
  );
  let sent = 0;
  let answered = 0;
  const started = performance.now();
  const cpu = process.cpuUsage();
  return new Promise((resolve, reject) => {
    for (let i = 0; i < connections; i++) {
      const socket = connect(Number(port), hostname);
      socket.setNoDelay(true);
      const next = () => {
        if (sent < requests.length) socket.write(requests[sent++]);
        else socket.end();
      };
      socket.on('connect', next);
      socket.on('error', reject);
      // One answer per read: nginx's answers are small and this client sends one request at a time.
      socket.on('data', () => {
        if (++answered === requests.length) {
          report(started, cpu, answered);
          resolve();
        }
        next();
      });
    }
  });
}

if (mode === 'output') await output();
else if (mode === 'bare') await bare();
else throw new Error(`mode must be output or bare, got ${mode}`);
process.exit(0);
