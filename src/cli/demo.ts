/**
 * `tapline demo`: the whole product on one machine, in a few seconds, with nothing to set up.
 *  1. starts a demo shop ("production") and a copy of it ("staging") on 127.0.0.1;
 *  2. simulated users browse production, captured live on lo (or, without capture rights, through a recording
 *     tap in front of it); the traffic is saved to a .gor file;
 *  3. the file is replayed to staging at 2× speed with the same pipeline the CLI runs;
 *  4. prints what happened: recorded, replayed, received, how fast, and where the recorded bytes went.
 * A dashboard (--dashboard ADDR, default an ephemeral port on 127.0.0.1) shows the recording live.
 *
 * Signals (the rule of signals.ts): a first SIGINT/SIGTERM/SIGHUP while recording stops the simulated users,
 * the requests already sent are recorded and flushed, what was recorded is shown, and the demo ends without a
 * replay; while replaying, the replay's own handler stops it (main.ts) and the demo shows what staging got.
 * Either way its temporary directory is removed (a --dir is the user's: the recording is kept and named), and
 * it exits with the signal's code (130 SIGINT, 143 SIGTERM, 129 SIGHUP) as `tapline report` does for a partial
 * report. A second one exits at once (130), the temporary directory removed first.
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';
import { browsable } from '../analytics/export/listen.js';
import { createAnalytics } from '../analytics/index.js';
import { missingDirectories, mkdirProblem } from '../core/directories.js';
import { describeError, describeIoError, ERROR_CODES, isTaplineError, TaplineError } from '../core/errors.js';
import { createLogger } from '../core/log.js';
import { Pipeline } from '../core/pipeline.js';
import type { Input } from '../core/plugin.js';
import { formatBytes } from '../core/values.js';
import { type RecordingTap, startRecordingTap } from '../demo/recorder.js';
import { type DemoSite, startDemoSite } from '../demo/site.js';
import { browse } from '../demo/traffic.js';
import { openLiveInput } from '../inputs/raw/index.js';
import { fileOutput } from '../outputs/file.js';
import { startDashboard } from '../web/server.js';
import { runPipelineArgs } from './main.js';
import { parseListenAddress } from './profiling.js';
import { createSignalHandler, type SubcommandProcess, signalExitCode } from './signals.js';

const DEMO_OPTIONS = 'demo takes --requests N, --dir DIR and --dashboard ADDR';
const DEMO_USAGE = `Usage: tapline demo [--requests N] [--dir DIR] [--dashboard ADDR]

Records simulated users browsing a demo shop on 127.0.0.1 (live capture on lo when allowed), replays the
recording to a copy of the shop at 2x speed, and prints what happened and where the bytes went.

  --requests N      requests to record (default 200)
  --dir DIR         where to write the recording, recorded.gor, which must not exist yet (default: a new
                    temporary directory)
  --dashboard ADDR  where the live dashboard listens (default 127.0.0.1:0, an ephemeral port)

Ctrl-C (SIGINT, or SIGTERM/SIGHUP) stops it: the requests sent so far are recorded and shown, the temporary
directory is removed (a --dir recording is kept), exit 130 (143, 129); a second one exits at once.
`;

export async function runDemo(argv: string[], proc?: SubcommandProcess): Promise<number> {
  let requests = 200;
  let dir: string | undefined;
  let dashboardAt = '127.0.0.1:0';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const a = arg.replace(/^--?/, '');
    // At the first '=' only: split('=', 2) dropped the rest ('--dir=runs/a=b' wrote into runs/a, '--requests=5=6'
    // recorded 5).
    const eq = a.indexOf('=');
    const name = eq < 0 ? a : a.slice(0, eq);
    const inline = eq < 0 ? undefined : a.slice(eq + 1);
    if (name === 'help' || name === 'h') {
      process.stdout.write(DEMO_USAGE);
      return 0;
    }
    if (name !== 'requests' && name !== 'dir' && name !== 'dashboard') {
      throw new TaplineError(ERROR_CODES.USAGE, `unknown demo option ${JSON.stringify(arg)}; ${DEMO_OPTIONS}`, {
        where: 'tapline demo',
      });
    }
    const value = inline ?? argv[++i];
    if (value === undefined || value === '') {
      throw new TaplineError(ERROR_CODES.USAGE, 'needs a value', { where: `tapline demo --${name}` });
    }
    if (name === 'requests') {
      if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 1_000_000) {
        throw new TaplineError(
          ERROR_CODES.USAGE,
          `expected a whole number from 1 to 1000000, got ${JSON.stringify(value)}`,
          {
            where: 'tapline demo --requests',
          },
        );
      }
      requests = Number(value);
    } else if (name === 'dir') dir = value;
    else dashboardAt = value;
  }
  const out = (line = '') => process.stdout.write(`${line}\n`);
  // --dir is the demo's own: made when missing (it recorded nothing into a missing one, then went on to replay it).
  if (dir !== undefined) {
    for (const d of missingDirectories(dir)) {
      try {
        mkdirSync(d);
      } catch (cause) {
        const problem = mkdirProblem(d, cause);
        if (problem === undefined) continue;
        throw new TaplineError(ERROR_CODES.FILE_IO, `cannot make ${d}: ${problem}`, {
          where: 'tapline demo --dir',
          cause,
        });
      }
    }
    let isDirectory = false;
    try {
      isDirectory = statSync(dir).isDirectory();
    } catch {
      // a link to nothing: said below as not a directory
    }
    if (!isDirectory)
      throw new TaplineError(ERROR_CODES.FILE_IO, `cannot make ${dir}: it is a file, not a directory`, {
        where: 'tapline demo --dir',
      });
  }
  const listen = parseListenAddress(dashboardAt, 'dashboard');
  const workDir = dir ?? mkdtempSync(join(tmpdir(), 'tapline-demo-'));
  const recording = join(workDir, 'recorded.gor');
  if (dir !== undefined) claimRecording(recording);
  const signals = demoSignals(proc, dir === undefined ? workDir : undefined);
  let recordingNamed = false;
  let production: DemoSite | undefined;
  let staging: DemoSite | undefined;
  let dashboard: Awaited<ReturnType<typeof startDashboard>> | undefined;
  try {
    production = await startDemoSite('production');
    staging = await startDemoSite('staging');
    // Where the recorded bytes go: the recording pipeline feeds analytics, the dashboard shows them live.
    const analytics = createAnalytics();
    dashboard = await startDashboard(analytics, listen);
    out('tapline demo');
    out(`  dashboard (live)        ${browsable(dashboard.url)}`);
    out(`  production (recorded)   ${production.url}`);
    out(`  staging (replay target) ${staging.url}`);
    out();
    const log = createLogger({ verbose: 0 });
    const recorder = openRecorder(production.port);
    if (recorder.live) {
      out(`1. Recording: ${requests} requests from 4 simulated users, captured live on lo:${production.port}`);
      out(`   (the same capture as: tapline --input-raw lo:${production.port} --input-raw-track-response)`);
    } else {
      out(`1. Recording: ${requests} requests from 4 simulated users, through a recording tap in front of production.`);
      out(`   (live capture is not available here: ${recorder.why})`);
    }
    const input = recorder.live ? recorder.input : await startRecordingTap(production.port);
    const writer = fileOutput({ path: recording, append: true });
    // Counted by type: written / 2 said '2.5 requests + responses' when a capture lost a response.
    const seen = { requests: 0, responses: 0 };
    const observe = (msg: Parameters<typeof analytics.observe>[0]) => {
      analytics.observe(msg);
      if (msg.meta.type === '1') seen.requests++;
      else if (msg.meta.type === '2') seen.responses++;
      return msg;
    };
    const recordRun = new Pipeline({ inputs: [input], outputs: [writer], log, processors: [observe] }).run();
    const t0 = performance.now();
    const target = recorder.live ? production.port : (input as RecordingTap).port;
    try {
      await browse(target, requests, 4, signals.stop);
    } catch (cause) {
      // A network namespace whose lo is down: listening on 127.0.0.1 works, connecting does not (ENETUNREACH).
      // It crashed with a stack trace and left the recording pipeline running.
      await input.close();
      await recordRun;
      throw new TaplineError(
        ERROR_CODES.PEER,
        `the simulated users cannot reach the demo site at 127.0.0.1:${target}: ${describeError(cause)}` +
          ' (is the loopback interface, lo, up? ip link set lo up)',
        { where: 'tapline demo', cause },
      );
    }
    const recordMs = performance.now() - t0;
    // Live capture: the kernel hands packets over in 10 ms blocks; the tap: the last response is in flight.
    await new Promise((r) => setTimeout(r, recorder.live ? 200 : 50));
    await input.close();
    const recorded = await recordRun;
    const written = recorded.outputs[0]?.written ?? 0;
    if (recorded.failures.length > 0) {
      // Said above, as the run met it (a full disk, a directory made unwritable): nothing to replay.
      out(`   the recording failed (${recorded.failures.join('; ')}): the demo stops here`);
      return 1;
    }
    recordingNamed = true;
    out(
      `   recorded ${written} messages (${plural(seen.requests, 'request')}, ${plural(seen.responses, 'response')}) in ${(recordMs / 1000).toFixed(2)}s → ${recording}`,
    );
    out();
    if (signals.signalled) {
      // Stopped while recording: what was recorded is shown; nothing is replayed.
      analytics.finish();
      out('Where the recorded bytes went (the part recorded):');
      for (const line of topRoutes(analytics.snapshot())) out(`   ${line}`);
      out();
      out(
        `tapline demo: ${signals.signalled}: stopped while recording, after ${seen.requests} of ${requests} requests; not replayed`,
      );
      out(`   ${signals.leftBehind(recording)}`);
      return signalExitCode(signals.signalled);
    }
    const args = ['--input-file', `${recording}|200%`, '--output-http', staging.url];
    out('2. Replaying to staging at 2× speed:');
    out(`   tapline ${args.map((a) => (/[|%\s]/.test(a) ? `'${a}'` : a)).join(' ')}`);
    signals.phase = 'replay';
    const code = await runPipelineArgs(args, signals.stopReplay);
    signals.phase = 'done';
    out();
    const got = staging.received;
    const replayMs = got.lastAt - got.firstAt;
    const spanMs = production.received.lastAt - production.received.firstAt;
    const statuses = [...got.byStatus]
      .sort(([a], [b]) => a - b)
      .map(([s, n]) => `${s}×${n}`)
      .join(' ');
    out(`3. Staging received ${got.requests} of ${production.received.requests} requests (${statuses}).`);
    out(
      `   Original traffic spanned ${(spanMs / 1000).toFixed(2)}s; the replay spanned ${(replayMs / 1000).toFixed(2)}s ` +
        `(${replayMs > 0 ? (spanMs / replayMs).toFixed(2) : '∞'}× faster; asked for 2×).`,
    );
    out();
    analytics.finish();
    if (signals.signalled) {
      out(`tapline demo: ${signals.signalled}: the replay was stopped (staging got what is counted above)`);
      out(`   ${signals.leftBehind(recording)}`);
      return signalExitCode(signals.signalled);
    }
    // Not 'tapline report recorded.gor': run as printed, from where the demo was started, it named no file.
    out('4. Where the recorded bytes went (its report, below, shows more):');
    for (const line of topRoutes(analytics.snapshot())) out(`   ${line}`);
    out();
    const self = selfCommand(process.argv[1], process.cwd(), process.execArgv);
    out('Next: look at the recording with');
    out(`   ${self} --input-file '${recording}' --output-stdout | less`);
    out('see its report (top routes by bytes, by count and by latency) with');
    out(`   ${self} report '${recording}'`);
    out('and replay it as fast as staging takes it with');
    out(`   ${self} --input-file '${recording}|max' --output-http ${staging.url.replace(/:\d+$/, ':PORT')}`);
    if (got.requests !== production.received.requests) {
      out(`tapline demo: staging got ${got.requests} requests, expected ${production.received.requests}`);
      return 1;
    }
    return code;
  } finally {
    await Promise.all([production?.close(), staging?.close(), dashboard?.close()]);
    // Claimed but never written (the demo failed before recording): left, it would refuse the next demo.
    if (dir !== undefined) removeIfEmpty(recording);
    // A temporary directory whose recording was never named (a dashboard address in use, a failed recording).
    else if (!recordingNamed) rmSync(workDir, { recursive: true, force: true });
    signals.remove();
  }
}

/**
 * The demo's signal rule (see the top of this file). `phase` is set by the demo: while the replay runs, the
 * replay's own handler (main.ts) speaks and acts; this one only notes the signal and, when that handler exits
 * at once, removes the temporary directory first (the same rule, so both agree on what is "again").
 */
function demoSignals(proc: SubcommandProcess | undefined, tempDir: string | undefined) {
  const stop = new AbortController();
  // The replay's handler stops it once in; a signal while the replay is still starting stops it through this.
  const replayStop = new AbortController();
  const state = {
    stop: stop.signal,
    stopReplay: replayStop.signal,
    phase: 'recording' as 'recording' | 'replay' | 'done',
    signalled: undefined as NodeJS.Signals | undefined,
    /** Where the recording is after a stop: a temporary directory is removed, a --dir kept. */
    leftBehind(recording: string): string {
      if (tempDir === undefined) return `the recording so far is kept in ${recording}`;
      return removeTemp()
        ? `removed the demo's temporary directory ${tempDir} (give --dir DIR to keep the recording)`
        : `could not remove the demo's temporary directory ${tempDir}`;
    },
    remove: () => {},
  };
  let removed = false;
  const removeTemp = (): boolean => {
    if (tempDir === undefined || removed) return removed;
    try {
      rmSync(tempDir, { recursive: true, force: true });
      removed = true;
    } catch {
      // said by the caller
    }
    return removed;
  };
  // Lines of its own (the ignored SIGUSR1 too) are not said while the replay's handler says them.
  const log = createLogger({
    verbose: 0,
    write: (line) => {
      if (state.phase !== 'replay') process.stderr.write(`${line}\n`);
    },
  });
  // Once the demo has ended, its directory holds the recording its last lines name: kept.
  const leave = () => {
    if (state.phase !== 'done' && tempDir !== undefined && removeTemp())
      log.write(`tapline demo: removed its temporary directory ${tempDir}`);
    proc?.exit(130);
  };
  const own = createSignalHandler({
    isStopping: () => stop.signal.aborted,
    stop: () => stop.abort(),
    exitNow: leave,
    get stopping() {
      return state.phase === 'done'
        ? 'the demo has ended, its results follow'
        : 'the requests already sent are recorded, then the demo shows what it has';
    },
    abandoning: 'finishing the recording',
    log,
  });
  // The replay's handler exits at once on a second signal; this copy of the rule removes the directory first.
  let replayStopping = false;
  const duringReplay = createSignalHandler({
    isStopping: () => replayStopping,
    stop: () => {
      replayStopping = true;
    },
    exitNow: () => removeTemp(),
    log: createLogger({ verbose: 0, write: () => {} }),
  });
  const routed = proc?.onStopSignals((signal) => {
    if (state.phase !== 'done') state.signalled ??= signal;
    if (state.phase === 'replay') {
      // After every listener has had the signal: the replay's own handler, once in, takes it first (stopped
      // before it, the handler took the signal for a second one and exited at once).
      setImmediate(() => replayStop.abort(signal));
      duringReplay(signal);
    } else own(signal);
  }, log);
  state.remove = () => routed?.remove();
  return state;
}

/**
 * A --dir's recorded.gor is made here, empty, and must be new: the recording is appended to it (the file output
 * never truncates), so an earlier demo's was replayed again ('Staging received 20 of 10 requests', exit 1, and a
 * pause as long as the time between the two demos), and two demos sharing a --dir wrote into one file.
 */
function claimRecording(recording: string): void {
  try {
    closeSync(openSync(recording, 'wx', 0o660)); // the file output's mode (file-sink.ts)
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    // ENOENT in a directory that is there (/proc/self): describeIoError's 'does not exist' misled.
    const why =
      code === 'ENOENT'
        ? `${dirname(recording)} takes no new files (ENOENT; a kernel file system such as /proc or /sys?)`
        : describeIoError(cause);
    throw new TaplineError(
      ERROR_CODES.FILE_IO,
      code === 'EEXIST'
        ? `${recording} already exists (an earlier or a running demo's recording): the demo neither appends to it nor replaces it; move it away or give another --dir`
        : `cannot create ${recording}: ${why}`,
      { where: 'tapline demo --dir', cause },
    );
  }
}

function removeIfEmpty(file: string): void {
  try {
    if (statSync(file).size === 0) rmSync(file);
  } catch {
    // gone already, or not ours to remove: nothing to say
  }
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The five largest routes by bytes, one line each. */
function topRoutes(snapshot: ReturnType<ReturnType<typeof createAnalytics>['snapshot']>): string[] {
  const routes = [...snapshot.routes].sort((a, b) => b.total_bytes - a.total_bytes).slice(0, 5);
  const width = Math.max(5, ...routes.map((r) => r.route.length));
  return [
    `${'route'.padEnd(width)}  ${'requests'.padStart(8)}  ${'bytes'.padStart(10)}  share`,
    ...routes.map(
      (r) =>
        `${r.route.padEnd(width)}  ${String(r.requests).padStart(8)}  ${formatBytes(r.total_bytes).padStart(10)}  ${(r.share * 100).toFixed(1)}%`,
    ),
    `${routes.length} of ${snapshot.routes.length} routes; ${snapshot.total_requests} requests, ${formatBytes(snapshot.total_bytes)} in all`,
  ];
}

/** Live capture of the production port when this process may capture; otherwise why not. */
function openRecorder(port: number): { live: true; input: Input } | { live: false; why: string } {
  try {
    return { live: true, input: openLiveInput(`lo:${port}`) };
  } catch (err) {
    const denied = isTaplineError(err) && err.code === ERROR_CODES.CAPTURE_PERMISSION;
    return { live: false, why: denied ? 'capturing packets needs root or CAP_NET_RAW' : describeError(err) };
  }
}

/**
 * How to run tapline again the way this process was started, for the commands the demo suggests: `tapline` when
 * it is on the PATH (npm link, a global install), `npx tapline` from an npx cache or a project's node_modules,
 * else `node` and the script (relative to the working directory when under it), as README's
 * `node bin/tapline.js demo` runs it. Not always `npx tapline`: from a checkout, npm 7+ first installs the
 * checkout into its cache, running its build and the addon build again.
 */
export function selfCommand(script: string | undefined, cwd: string, execArgv: readonly string[] = []): string {
  if (!script) return 'tapline';
  if (script.includes(`${sep}node_modules${sep}`)) return 'npx tapline';
  if (basename(script) === 'tapline') return 'tapline';
  const rel = relative(cwd, script);
  const path = rel === '' || rel.startsWith('..') || isAbsolute(rel) ? script : rel;
  const loader = execArgv.includes('tsx') ? '--import tsx ' : '';
  return `node ${loader}${/[\s'"$]/.test(path) ? `'${path}'` : path}`;
}
