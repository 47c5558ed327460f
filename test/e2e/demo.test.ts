/** `tapline demo` is the README's first command: it must work on a fresh checkout. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { browsable } from '../../src/analytics/export/listen.js';
import { selfCommand } from '../../src/cli/demo.js';
import { SEPARATOR } from '../../src/core/gor-format.js';
import { cliArgv, cliShell, collect, runTapline, startTapline } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tapline-e2e-demo-'));
after(() => rmSync(dir, { recursive: true, force: true }));

it('tapline demo records traffic, replays it at 2x to staging, and every request arrives', async () => {
  // A --dir that does not exist yet is made (it recorded nothing into it, replayed nothing and exited 1).
  const demoDir = join(dir, 'runs', 'first');
  const res = await runTapline(['demo', '--requests', '60', '--dir', demoDir], { timeoutMs: 60_000 });
  assert.equal(res.code, 0, res.stderr + res.stdout.toString());
  const out = res.stdout.toString();
  // The suite runs as root in CI: the demo records by live capture on lo.
  if (process.getuid?.() === 0) assert.match(out, /captured live on lo:\d+/);
  assert.match(out, /recorded 120 messages \(60 requests, 60 responses\)/);
  assert.match(out, /Staging received 60 of 60 requests/);
  const speedup = Number(/\(([\d.]+)× faster; asked for 2×\)/.exec(out)?.[1]);
  assert.ok(speedup > 1.5 && speedup < 2.6, `replay speed-up ${speedup}`);
  const recording = readFileSync(join(demoDir, 'recorded.gor'));
  assert.equal(recording.toString('latin1').split(SEPARATOR.toString('latin1')).length - 1, 120);
  // The report it points to names the recording ('tapline report recorded.gor shows more' named no file there).
  assert.ok(out.includes(` report '${join(demoDir, 'recorded.gor')}'`), out);
  const report = await runTapline(['report', join(demoDir, 'recorded.gor')]);
  assert.equal(report.code, 0, report.stderr);
  assert.match(report.stdout.toString(), /60 requests, 60 responses/);
});

it('without capture rights the demo says so and records through its tap', {
  skip: process.getuid?.() !== 0 ? 'needs root to drop CAP_NET_RAW' : false,
}, async () => {
  const res = await new Promise<{ code: number | null; out: string }>((resolve) => {
    // A --dir of the test's: without one, each run of the suite left a /tmp/tapline-demo-XXXXXX (kept by design).
    const cmd = cliShell('demo', '--requests', '20', '--dir', join(dir, 'no-capture'));
    const child = spawn('capsh', ['--drop=cap_net_raw', '--', '-c', cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('close', (code) => resolve({ code, out }));
  });
  assert.equal(res.code, 0, res.out);
  assert.match(res.out, /live capture is not available here: capturing packets needs root or CAP_NET_RAW/);
  assert.match(res.out, /Staging received 20 of 20 requests/);
});

it('tapline demo --dir naming a file fails at start, saying so', async () => {
  const file = join(dir, 'a-file');
  writeFileSync(file, '');
  const res = await runTapline(['demo', '--dir', file]);
  assert.equal(res.code, 1, res.stderr);
  assert.match(
    res.stderr,
    /tapline demo --dir: cannot make \S+a-file: it is a file, not a directory \(TAPLINE_ERR_FILE_IO\)/,
  );
  assert.equal(res.stdout.toString(), '');
});

it('tapline demo --dir under /proc fails at start naming the directory (Node recursive mkdir looped there)', {
  timeout: 30_000,
}, async () => {
  const res = await runTapline(['demo', '--dir', '/proc/tapline-demo/out']);
  assert.equal(res.code, 1, res.stderr);
  assert.match(
    res.stderr,
    /tapline demo --dir: cannot make \/proc\/tapline-demo: \/proc exists but takes no new directories \(ENOENT/,
  );
  // A directory there that takes no file: it said '/proc/self: the directory does not exist'.
  const self = await runTapline(['demo', '--dir', '/proc/self']);
  assert.equal(self.code, 1, self.stderr);
  assert.match(
    self.stderr,
    /tapline demo --dir: cannot create \/proc\/self\/recorded\.gor: \/proc\/self takes no new files \(ENOENT; a kernel file system/,
  );
});

it('tapline demo rejects unknown options with exit 2', async () => {
  const res = await runTapline(['demo', '--bogus']);
  assert.equal(res.code, 2);
  assert.match(res.stderr, /unknown demo option "--bogus"/);
});

it('tapline demo --help prints its options (exit 0); a bad value names the option and points to demo --help', async () => {
  const help = await runTapline(['demo', '--help']);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout.toString(), /Usage: tapline demo \[--requests N\] \[--dir DIR\] \[--dashboard ADDR\]/);
  const bad = await runTapline(['demo', '--requests', 'lots']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /tapline demo --requests: expected a whole number from 1 to 1000000, got "lots"/);
  assert.match(bad.stderr, /run "tapline demo --help"/);
});

it('a usage error of tapline report points to report --help', async () => {
  const res = await runTapline(['report']);
  assert.equal(res.code, 2);
  assert.match(res.stderr, /run "tapline report --help"/);
});

it("tapline report --help gives the report's own usage and exit codes (3: a budget is broken)", async () => {
  // It printed the run's usage and examples after its own line, and the run's footer: 'Exit codes: 0 done, 1 failed
  // (an output or input broke), 2 usage error, 130 exited without flushing', leaving out 3, the code CI checks.
  const res = await runTapline(['report', '--help']);
  assert.equal(res.code, 0, res.stderr);
  const help = res.stdout.toString();
  assert.match(help, /^Usage: tapline report \[flags\] FILE\.\.\./);
  assert.doesNotMatch(help, /tapline \[flags\] +run a pipeline|exited without flushing/);
  assert.match(
    help,
    /Exit codes: 0 done, 1 a file could not be read[\s\S]*, 2 usage error, 3 a budget is broken, 130\/143\/129/,
  );
  assert.match(help, /--max-share PCT/);
});

it("the demo's next commands run tapline as it was started, not always as npx tapline", () => {
  // README: 'node bin/tapline.js demo' from a checkout. 'npx tapline' there makes npm 7+ install the checkout into
  // its cache first, running the build and the addon build again (and exiting 2 without a word if that fails).
  assert.equal(selfCommand('/src/tapline/bin/tapline.js', '/src/tapline'), 'node bin/tapline.js');
  assert.equal(selfCommand('/src/tapline/bin/tapline.js', '/home/me'), 'node /src/tapline/bin/tapline.js');
  assert.equal(selfCommand('/opt/my tap/bin/tapline.js', '/home/me'), "node '/opt/my tap/bin/tapline.js'");
  assert.equal(selfCommand('/home/me/.npm/_npx/5eec/node_modules/.bin/tapline', '/home/me'), 'npx tapline');
  assert.equal(selfCommand('/usr/local/bin/tapline', '/home/me'), 'tapline');
  assert.equal(selfCommand('/src/tapline/cli.ts', '/src/tapline', ['--import', 'tsx']), 'node --import tsx cli.ts');
});

/** Starts a demo, sends `signal` once stdout shows `when`, and returns what it printed. */
async function signalDemo(args: string[], when: RegExp, signal: NodeJS.Signals) {
  const child = startTapline(['demo', ...args]);
  let seen = '';
  let sent = false;
  child.stdout!.on('data', (d: Buffer) => {
    seen += d.toString();
    if (!sent && when.test(seen)) {
      sent = true;
      child.kill(signal);
    }
  });
  const res = await collect(child, 60_000);
  return { ...res, out: res.stdout.toString() };
}

it('a SIGINT while recording stops the demo: what was recorded is shown, its temporary directory removed, exit 130', {
  timeout: 90_000,
}, async () => {
  // It exited 130 without a word and left /tmp/tapline-demo-XXXXXX behind (with the partial recording).
  const res = await signalDemo(['--requests', '100000'], /1\. Recording: /, 'SIGINT');
  assert.equal(res.code, 130, res.stderr + res.out);
  assert.match(res.stderr, /tapline: SIGINT: stopping; the requests already sent are recorded/);
  assert.match(res.out, /recorded \d+ messages/);
  assert.match(res.out, /tapline demo: SIGINT: stopped while recording, after \d+ of 100000 requests; not replayed/);
  const temp = /removed the demo's temporary directory (\S+) \(give --dir DIR to keep the recording\)/.exec(res.out);
  assert.ok(temp, res.out);
  assert.equal(existsSync(temp[1]!), false, `${temp[1]} is still there`);
  assert.doesNotMatch(res.out, /2\. Replaying|Next:/);
});

it('a SIGTERM while replaying stops the replay: what staging got is shown, a --dir recording kept, exit 143', {
  timeout: 90_000,
}, async () => {
  const demoDir = join(dir, 'replay-stopped');
  const res = await signalDemo(['--requests', '400', '--dir', demoDir], /2\. Replaying to staging/, 'SIGTERM');
  assert.equal(res.code, 143, res.stderr + res.out);
  assert.match(res.stderr, /tapline: SIGTERM: stopping; flushing outputs/);
  assert.match(res.out, /3\. Staging received \d+ of 400 requests/);
  assert.match(res.out, /tapline demo: SIGTERM: the replay was stopped/);
  assert.match(res.out, /the recording so far is kept in \S+recorded\.gor/);
  assert.ok(existsSync(join(demoDir, 'recorded.gor')));
  assert.doesNotMatch(res.out, /Next:/);
});

it('tapline demo --dir holding an earlier recorded.gor refuses it, the old file untouched (it was appended to and replayed)', async () => {
  // The second demo into one --dir said 'Staging received 20 of 10 requests' and 'staging got 20 requests, expected
  // 10', exit 1: the new recording was appended to the old one, and the replay waited out the time between them.
  const demoDir = join(dir, 'again');
  mkdirSync(demoDir);
  writeFileSync(join(demoDir, 'recorded.gor'), 'an earlier recording');
  const res = await runTapline(['demo', '--requests', '10', '--dir', demoDir]);
  assert.equal(res.code, 1, res.stderr);
  assert.match(
    res.stderr,
    /tapline demo --dir: \S+recorded\.gor already exists \(an earlier or a running demo's recording\): the demo neither appends to it nor replaces it; move it away or give another --dir \(TAPLINE_ERR_FILE_IO\)/,
  );
  assert.equal(res.stdout.toString(), '');
  assert.equal(readFileSync(join(demoDir, 'recorded.gor'), 'utf8'), 'an earlier recording');
});

it('a demo that cannot start (its dashboard port in use) leaves no directory and no empty recorded.gor behind', async () => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const port = (taken.address() as AddressInfo).port;
  try {
    const temp = join(dir, 'tmp-in-use');
    mkdirSync(temp);
    const [node, ...args] = cliArgv('demo', '--dashboard', `127.0.0.1:${port}`);
    const child = spawn(node!, args, { env: { ...process.env, TMPDIR: temp }, stdio: ['pipe', 'pipe', 'pipe'] });
    const res = await collect(child, 30_000);
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /--dashboard: cannot listen on 127\.0\.0\.1:\d+: the port is in use/);
    assert.deepEqual(readdirSync(temp), []); // a tapline-demo-XXXXXX was left
    const demoDir = join(dir, 'in-use');
    const withDir = await runTapline(['demo', '--dir', demoDir, '--dashboard', `127.0.0.1:${port}`]);
    assert.equal(withDir.code, 2, withDir.stderr);
    assert.deepEqual(readdirSync(demoDir), []); // an empty recorded.gor would refuse the next demo
  } finally {
    taken.close();
  }
});

it("'--opt=value' keeps every '=' of the value, and a dashboard on 0.0.0.0 is given as an address to open", {
  timeout: 90_000,
}, async () => {
  // '--dir=runs/a=b' wrote into runs/a and '--requests=5=6' recorded 5 (split('=', 2)); '--dashboard 0.0.0.0:0'
  // printed 'http://0.0.0.0:PORT/' as the address to open.
  const demoDir = join(dir, 'a=b');
  const child = startTapline(['demo', `--dir=${demoDir}`, '--requests=40', '--dashboard=0.0.0.0:0']);
  let seen = '';
  let snapshot: Promise<number> | undefined;
  child.stdout!.on('data', (d: Buffer) => {
    seen += d.toString();
    const url = /dashboard \(live\) +(http:\/\/\S+\/)/.exec(seen)?.[1];
    if (url && !snapshot) snapshot = fetch(`${url}api/snapshot`).then((r) => r.status);
  });
  const res = await collect(child, 60_000);
  assert.equal(res.code, 0, res.stderr + seen);
  assert.match(seen, /dashboard \(live\) +http:\/\/127\.0\.0\.1:\d+\/ \(listening on every address, 0\.0\.0\.0: open/);
  assert.equal(await snapshot, 200);
  assert.ok(existsSync(join(demoDir, 'recorded.gor')));
  const bad = await runTapline(['demo', '--requests=5=6']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /tapline demo --requests: expected a whole number from 1 to 1000000, got "5=6"/);
  assert.equal(
    browsable('http://[::]:81'),
    'http://[::1]:81/ (listening on every address, [::]: open to the network, no login)',
  );
  assert.equal(browsable('http://127.0.0.1:81'), 'http://127.0.0.1:81/');
});

it('a demo where 127.0.0.1 cannot be reached (lo down) says so in one line, no stack trace', {
  skip: process.getuid?.() !== 0 ? 'needs root for a network namespace (unshare -n)' : false,
  timeout: 60_000,
}, async () => {
  // In a new network namespace lo is down: listening on 127.0.0.1 works, connecting fails with ENETUNREACH. It
  // printed 'unexpected failure: connect ENETUNREACH … (TAPLINE_ERR_INTERNAL; please report it with this trace)'.
  const [node, ...args] = cliArgv('demo', '--requests', '3', '--dir', join(dir, 'lo-down'));
  const child = spawn('unshare', ['-n', node!, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const res = await collect(child, 50_000);
  assert.equal(res.code, 1, res.stderr);
  assert.match(
    res.stderr,
    /tapline demo: the simulated users cannot reach the demo site at 127\.0\.0\.1:\d+: connect ENETUNREACH[^\n]*\(is the loopback interface, lo, up\? ip link set lo up\) \(TAPLINE_ERR_PEER\)/,
  );
  assert.doesNotMatch(res.stderr, /TAPLINE_ERR_INTERNAL|\n {4}at /);
});
