/**
 * The composition root: the only code that reads process.argv, handles signals and decides exit codes.
 *
 *   argv ─▶ parseArgv ─▶ plugins (one per flag occurrence, gor order) ─▶ Pipeline.run() ─▶ summary, exit code
 *                                  signals / --exit-after ─▶ pipeline.stop()  (flush, then exit)
 *
 * Exit codes: 0 done; 1 something failed at run time (an output or input broke); 2 usage error.
 */
import { closeSync, openSync, readFileSync } from 'node:fs';
import { isatty } from 'node:tty';
import { liveConsumerFlags } from '../analytics/export/flags.js';
import { analyticsFlags } from '../analytics/flags.js';
import { describeError, ERROR_CODES, isTaplineError, TaplineError } from '../core/errors.js';
import type { FlagSet, FlagSpec } from '../core/flags.js';
import { createLogger, type Logger } from '../core/log.js';
import { Pipeline, type RunSummary } from '../core/pipeline.js';
import type { Input, Output, PluginContext, Processor } from '../core/plugin.js';
import { limitInput, limitOutput, zeroLimitWarning } from '../core/registry.js';
import { splitLimit } from '../core/values.js';
import { middlewareFlags } from '../middleware/flags.js';
import { modifierFlags } from '../modifiers/flags.js';
import type { Modifiers } from '../modifiers/index.js';
import { builtinPlugins } from '../plugins.js';
import type { LiveConsumers } from '../web/live-consumers.js';
import { parseArgv } from './argv.js';
import { exitAtOnce } from './exit-at-once.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from './exit-codes.js';
import { tooManyOpenFiles } from './fd-limit.js';
import { globalFlags, idleQueueStatsWarnings, refuseIdleGlobalFlags } from './global-flags.js';
import { renderHelp } from './help.js';
import { notInstalledLine } from './not-installed.js';
import { plannedFlags } from './planned-flags.js';
import {
  createSignalHandler,
  IGNORED_SIGNALS,
  ignoredSignalLine,
  STOP_SIGNALS,
  type SubcommandProcess,
} from './signals.js';
import type { StatusLine } from './status-line.js';
import { formatSummary, givenUpAtOnceLine, statsObject, undeliveredLines } from './summary.js';

/** Every flag tapline knows: built ones first, then gor's not-yet-built ones. */
export function allFlags(): Map<string, FlagSpec> {
  const specs = new Map<string, FlagSpec>(Object.entries(globalFlags));
  for (const [name, spec] of Object.entries(middlewareFlags)) specs.set(name, spec);
  for (const [name, spec] of Object.entries(modifierFlags)) specs.set(name, spec);
  for (const [name, spec] of Object.entries(analyticsFlags)) specs.set(name, spec);
  for (const [name, spec] of Object.entries(liveConsumerFlags)) specs.set(name, spec);
  for (const plugin of builtinPlugins) for (const [name, spec] of Object.entries(plugin.flags)) specs.set(name, spec);
  for (const [name, spec] of plannedFlags) if (!specs.has(name)) specs.set(name, spec);
  return specs;
}

const subcommandProcess: SubcommandProcess = {
  onStopSignals: routeSignals,
  exit: (code) => leaveAtOnce(code),
};

const SUBCOMMANDS: Record<string, () => Promise<(argv: string[], proc: SubcommandProcess) => Promise<number>>> = {
  demo: async () => (await import('./demo.js')).runDemo,
  report: async () => (await import('./report.js')).runReport,
};

export async function runCli(argv: readonly string[]): Promise<number> {
  // The AWS SDK (s3:// addresses) warns on Node 20 that its releases after January 2027 need Node 22; tapline
  // pins its version, so the warning only confuses. Setting the variable to false shows it again.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const log = createLogger({ verbose: 0 });
  guardStdio();
  try {
    const sub = argv[0] !== undefined ? SUBCOMMANDS[argv[0]] : undefined;
    if (sub) {
      try {
        return await (await sub())(argv.slice(1), subcommandProcess);
      } catch (err) {
        return await reportFatal(err, log, `tapline ${argv[0]} --help`);
      }
    }
    if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-version')) {
      return await printStdout(`tapline ${packageVersion()}\n`, log);
    }
    return await runPipelineArgs(argv);
  } catch (err) {
    return await reportFatal(err, log);
  }
}

let stdioGuarded = false;

/**
 * A reader that went away (`2>&1 | head`, `--help | grep -q`, a terminal closed under the run) makes writes to
 * stdout or stderr fail, and Node turns an unhandled stream error into a crash: a stack trace, exit 1, and
 * outputs never flushed. Lines nobody can read are dropped instead; the run goes on and ends as it would
 * have (--output-stdout has a listener of its own, which stops that output).
 */
function guardStdio(): void {
  if (stdioGuarded) return;
  stdioGuarded = true;
  process.stderr.on('error', () => {});
  process.stdout.on('error', () => {});
}

/** --help, --version: a reader that left early is no failure (as for `| head`); a full disk is. */
function printStdout(text: string, log: Logger): Promise<number> {
  return new Promise((resolve) => {
    process.stdout.write(text, (err?: NodeJS.ErrnoException | null) => {
      if (err && err.code !== 'EPIPE') {
        log.error(`cannot write to stdout: ${err.message}`);
        resolve(EXIT_FAILED);
      } else resolve(EXIT_OK);
    });
  });
}

/** The package's version; package.json is two levels up from both src/cli and dist/cli. */
function packageVersion(): string {
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

async function reportFatal(err: unknown, log: Logger, helpCommand = 'tapline --help'): Promise<number> {
  if (isTaplineError(err)) {
    log.error(err.describe());
    // A plugin address that cannot be understood is a mistake on the command line too (`--output-http
    // http://:80`) when it stops the run before it starts; the same code from a running input (an interface
    // that is gone) ends the run through its summary instead, with exit 1.
    if (
      err.code === ERROR_CODES.USAGE ||
      err.code === ERROR_CODES.NOT_IMPLEMENTED ||
      err.code === ERROR_CODES.BAD_ADDRESS
    ) {
      log.write(`tapline: run "${helpCommand}" for the list of flags`);
      return EXIT_USAGE;
    }
    return EXIT_FAILED;
  }
  const fdLine = (await tooManyOpenFiles(err)) ?? notInstalledLine(err);
  if (fdLine !== undefined) {
    log.error(`${fdLine} (${ERROR_CODES.FILE_IO})`);
    return EXIT_FAILED;
  }
  log.error(`unexpected failure: ${describeError(err)} (TAPLINE_ERR_INTERNAL; please report it with this trace)`);
  if (err instanceof Error && err.stack) log.write(err.stack);
  return EXIT_FAILED;
}

/**
 * Start-up time: a run imports only the code its flags use. Flag declarations are cheap modules; the
 * modifiers, middleware, analytics, live consumers (dashboard, metrics, InfluxDB), profiling and each plugin's
 * implementation (src/plugins.ts) are imported when one of their flags is given.
 */
function givenAny(flags: FlagSet, specs: Readonly<Record<string, FlagSpec>>): boolean {
  return Object.keys(specs).some((name) => flags.has(name));
}

const NO_MODIFIERS: Pick<Modifiers, 'processors' | 'stats' | 'beforeMiddleware'> = {
  processors: [] as Processor[],
  stats: () => undefined,
  beforeMiddleware: undefined,
};

/**
 * Runs a pipeline from gor-style arguments (no subcommand). Throws TaplineError for usage problems.
 * `callerStop` (tapline demo's replay): when it aborts, the run stops as on a first signal, also when that
 * came while the run was still starting, before its own signal handlers were in.
 */
export async function runPipelineArgs(argv: readonly string[], callerStop?: AbortSignal): Promise<number> {
  const specs = allFlags();
  const parsed = parseArgv(argv, specs);
  if (parsed.help) {
    return await printStdout(renderHelp(specs), createLogger({ verbose: 0 }));
  }
  if (parsed.rest.length > 0) {
    // gor stops reading flags at a lone -- and ignores what follows without a word: flags put there are lost.
    throw new TaplineError(
      ERROR_CODES.USAGE,
      `unexpected arguments after --: ${parsed.rest.join(' ')} (tapline takes no arguments after a lone --, and ` +
        'gor ignores them without a word; to use them as flags, remove the --)',
      { where: '--' },
    );
  }
  const flags = parsed.flags;
  refuseIdleGlobalFlags(flags, givenAny(flags, analyticsFlags) || givenAny(flags, liveConsumerFlags));
  for (const name of flags.given()) {
    const spec = specs.get(name)!;
    if (spec.notBuilt) {
      throw new TaplineError(
        ERROR_CODES.NOT_IMPLEMENTED,
        `gor's --${name} is ${spec.notBuilt} in tapline${spec.gorNote ? ` (${spec.gorNote})` : ''}; remove it, or see docs/compat.md`,
        { where: `--${name}` },
      );
    }
  }

  const profiling =
    flags.string('cpuprofile') || flags.string('http-pprof') || flags.string('memprofile')
      ? await import('./profiling.js')
      : undefined;
  // Before anything starts (servers, captures): a profile that cannot be written fails now, not after the run.
  profiling?.checkProfileFiles(flags.string('cpuprofile'), flags.string('memprofile'));

  // Not when --output-stdout writes to the same terminal: its redraws would land inside the records shown.
  const useStatus =
    flags.bool('progress') &&
    process.stderr.isTTY === true &&
    flags.list('input-file').length > 0 &&
    !(flags.bool('output-stdout') && process.stdout.isTTY === true);
  let status: StatusLine | undefined;
  const log = createLogger({
    verbose: flags.number('verbose'),
    write: (line) => (status ? status.write(line) : process.stderr.write(`${line}\n`)),
  });
  for (const line of idleQueueStatsWarnings(flags)) log.warn(line, 'idle queue stats');
  const stop = new AbortController();
  const ctx: PluginContext = { log, signal: stop.signal };
  const modifierModule = givenAny(flags, modifierFlags) ? await import('../modifiers/index.js') : undefined;
  // Before anything starts: a bad --http-* value is a usage error.
  const modifiers = modifierModule ? modifierModule.buildModifiers(flags, log) : NO_MODIFIERS;
  const middleware = givenAny(flags, middlewareFlags)
    ? await (await import('../middleware/stage.js')).createMiddlewareStage(flags, log)
    : undefined;
  const { inputs, outputs } = await buildPlugins(flags, ctx);
  if (inputs.length === 0 || outputs.length === 0) {
    await Promise.allSettled([...inputs.map((i) => i.close()), ...outputs.map((o) => o.close())]);
    throw new TaplineError(
      ERROR_CODES.USAGE,
      `at least 1 input and 1 output are required (got ${inputs.length} input(s), ${outputs.length} output(s)); ` +
        'e.g. --input-file requests.gor --output-stdout',
      { where: 'command line' },
    );
  }

  // Analytics for --stats and the live consumers (--metrics, --output-influxdb, --dashboard, alerts on --max-*):
  // observed after the filters, so dropped requests are not counted.
  // Without --stats or a flag of theirs, analytics are off (liveAnalytics would return undefined): not loaded.
  const analyticsWanted = flags.bool('stats') || givenAny(flags, analyticsFlags) || givenAny(flags, liveConsumerFlags);
  // The live consumers' module (exporters, dashboard: node:http and more, ~15 ms of CPU to load) only when a flag
  // of theirs or a budget flag is given: without one, wantsLiveConsumers() is false (a plain --stats run).
  const consumerFlags = givenAny(flags, analyticsFlags) || givenAny(flags, liveConsumerFlags);
  const liveConsumers = analyticsWanted && consumerFlags ? await import('../web/live-consumers.js') : undefined;
  const wantsConsumers = liveConsumers?.wantsLiveConsumers(flags) ?? false;
  const live = analyticsWanted
    ? (await import('../analytics/live.js')).liveAnalytics(flags, wantsConsumers, undefined, log)
    : undefined;
  const analytics = live?.analytics;
  let consumers: LiveConsumers | undefined;
  if (analytics && liveConsumers && wantsConsumers) {
    try {
      const { parseListenAddress } = await import('./profiling.js');
      consumers = await liveConsumers.startLiveConsumers(flags, analytics, log, parseListenAddress);
    } catch (err) {
      await Promise.allSettled([...inputs.map((i) => i.close()), ...outputs.map((o) => o.close())]);
      throw err;
    }
  }
  const observe = live ? [live.processor] : [];
  const beforeMiddleware = modifiers.beforeMiddleware;

  const pipeline = new Pipeline({
    inputs,
    outputs,
    split: flags.bool('split-output'),
    copyBufferSize: flags.number('copy-buffer-size'),
    processors: [...modifiers.processors, ...observe],
    log,
    ...(middleware
      ? {
          // gor prettifies messages on their way into the middleware as well as after it (spec §4.2).
          transform: beforeMiddleware
            ? (source) => middleware.transform(beforeMiddleware(source))
            : middleware.transform,
        }
      : {}),
    // Once every input has ended (its end, a signal, --exit-after): alerts stop judging a window that only
    // empties from then on (live-consumers.ts), then the middleware settles.
    ...(middleware?.settle || consumers
      ? {
          settle: async () => {
            consumers?.inputsEnded();
            await middleware?.settle?.();
          },
        }
      : {}),
  });

  const cpuProfile = profiling && flags.string('cpuprofile') ? await profiling.startCpuProfile() : undefined;
  if (profiling && flags.string('http-pprof')) {
    const debug = await profiling.startDebugServer(flags.string('http-pprof'), () => statsObject(pipeline.snapshot()));
    // Always said, as --metrics and --dashboard say theirs: with :0 the port is known only from this line.
    log.write(`tapline: debug endpoints on ${debug.url}/debug/vars and ${debug.url}/debug/pprof/`);
    stop.signal.addEventListener('abort', () => debug.server.close(), { once: true });
  }
  if (useStatus) {
    const { StatusLine } = await import('./status-line.js');
    status = new StatusLine(process.stderr, () => progressOf(pipeline.snapshot()));
    status.start();
  }

  const timers: NodeJS.Timeout[] = [];
  const exitAfter = flags.number('exit-after');
  if (exitAfter > 0) {
    log.info(`running for ${flags.string('exit-after') || exitAfter}ms (--exit-after)`);
    timers.push(setTimeout(() => void pipeline.stop(), exitAfter));
  }
  if (flags.bool('stats')) {
    const interval = flags.number('stats-interval'); // at least 10ms (the flag's min)
    const timer = setInterval(() => {
      const snapshot = analytics?.snapshot();
      const exporters = consumers ? { exporters: consumers.stats() } : {};
      log.write(
        JSON.stringify({ ...statsObject(pipeline.snapshot(), snapshot), filters: modifiers.stats(), ...exporters }),
      );
    }, interval);
    timer.unref();
    timers.push(timer);
  }
  // At once (the second signal), the middleware's counts too: what it was sent and gave back as they stand.
  const signals = installSignalHandlers(pipeline, log, middleware !== undefined, () => [
    ...(middleware ? [middleware.describe()] : []),
    ...(consumers?.describe() ?? []),
  ]);
  const crashes = installCrashGuard(pipeline, log);
  // Said as a first signal is when the run's own handler did not say it (the stop came as the run started).
  const callerStopped = () => {
    if (!pipeline.isStopping) log.write(`tapline: ${String(callerStop?.reason)}: stopping; flushing outputs`);
    void pipeline.stop();
  };
  if (callerStop?.aborted) callerStopped();
  else callerStop?.addEventListener('abort', callerStopped, { once: true });
  // --output-stdout alone: a reader that left (`| head`) ends the run when the pipe fails, not at the next
  // message an input brings (--input-dummy: one a second). The output says why as it closes.
  const readerLeft = () => void pipeline.stop();
  if (outputs.length === 1 && flags.bool('output-stdout')) process.stdout.once('error', readerLeft);
  // The middleware runs in a process group of its own (external.ts): an exit without the stop (a second
  // SIGINT, exit 130) ends it here, since the terminal's signal no longer reaches it.
  const abandonMiddleware = () => middleware?.abandon?.();
  process.on('exit', abandonMiddleware);

  let summary: RunSummary;
  try {
    summary = await pipeline.run();
  } finally {
    process.off('exit', abandonMiddleware);
    callerStop?.removeEventListener('abort', callerStopped);
    process.stdout.off('error', readerLeft);
    stop.abort();
    for (const t of timers) clearTimeout(t);
    crashes.remove();
    status?.stop();
    analytics?.finish();
    // The last InfluxDB write and pending webhooks (5 s at most), with the signal handlers still in: removed
    // before it, a second Ctrl-C there killed the process by the signal, with no summary and no word.
    await consumers?.close();
    signals.remove();
  }
  // The run has ended, its outputs flushed: a stop signal from here has nothing to stop. Left to its default
  // action it killed the process while the summary was printed, so the exit status said 'interrupted' for a run
  // that had completed. It is said; a second one leaves at once.
  const ending = routeSignals(endedRunHandler(log), log);
  try {
    if (middleware) summary.failures.push(...middleware.failures());
    summary.failures.push(...crashes.failures);
    for (const line of [...undeliveredLines(summary), ...(consumers?.undelivered() ?? [])]) {
      log.error(line);
      summary.failures.push(line);
    }
    const finalSnapshot = analytics?.snapshot();
    if (flags.bool('stats'))
      log.write(
        JSON.stringify({
          ...statsObject(summary, finalSnapshot),
          ...(middleware ? { middleware: middleware.stats() } : {}),
          filters: modifiers.stats(),
          ...(consumers ? { exporters: consumers.stats() } : {}),
        }),
      );
    log.write(formatSummary(summary, log));
    const modifierStats = modifiers.stats();
    if (modifierStats && modifierModule) log.write(`  ${modifierModule.describeModifierStats(modifierStats)}`);
    if (middleware) log.write(middleware.describe());
    for (const line of consumers?.describe() ?? []) log.write(line);
    for (const line of finalSnapshot && live ? live.budgetLines(finalSnapshot) : []) log.write(line);
    if (profiling && cpuProfile) await profiling.writeCpuProfile(flags.string('cpuprofile'), await cpuProfile.stop());
    if (profiling && flags.string('memprofile')) profiling.writeHeapProfile(flags.string('memprofile'));
    if (signals.hungUp()) releaseTerminal();
    return summary.failures.length > 0 ? EXIT_FAILED : EXIT_OK;
  } finally {
    ending.remove();
  }
}

/** A stop signal after the run ended (see runPipelineArgs): said; a second one leaves at once (130). */
function endedRunHandler(log: Logger): (signal: NodeJS.Signals) => void {
  let said = false;
  return createSignalHandler({
    isStopping: () => said,
    stop: () => {
      said = true;
    },
    exitNow: () => leaveAtOnce(130),
    stopping: 'the run has already ended, its summary follows',
    abandoning: 'printing the rest of its summary',
    log,
  });
}

/** One plugin instance per occurrence of its main flag, in gor's registration order. */
export async function buildPlugins(
  flags: FlagSet,
  ctx: PluginContext,
): Promise<{ inputs: Input[]; outputs: Output[] }> {
  const inputs: Input[] = [];
  const outputs: Output[] = [];
  const used = builtinPlugins.map((def) => {
    const main = def.flags[def.flag]!;
    return { def, values: main.kind === 'bool' ? (flags.bool(def.flag) ? [''] : []) : flags.list(def.flag) };
  });
  // Every implementation in use is imported before the first plugin starts (see PluginDef.preload).
  await Promise.all(used.map(({ def, values }) => (values.length > 0 ? def.preload?.() : undefined)));
  try {
    for (const { def, values } of used) {
      for (const value of values) {
        let address: string;
        let limit: ReturnType<typeof splitLimit>['limit'];
        try {
          ({ address, limit } = splitLimit(value));
          // gor reads `max` as 0 (drop everything); a limiter would ignore it: neither is what was meant.
          if (limit.kind === 'max' && !def.ownsLimit)
            throw new Error('|max (no waiting) is for --input-file only; use |N or |N% here');
        } catch (err) {
          throw new TaplineError(ERROR_CODES.USAGE, (err as Error).message, { where: `--${def.flag} ${value}` });
        }
        const zero = def.ownsLimit ? null : zeroLimitWarning(def.flag, value, limit);
        if (zero) ctx.log.warn(zero, 'zero limit');
        const args = { address, limit, flags, ctx };
        if (def.role === 'input') {
          const input = await def.create(args);
          inputs.push(def.ownsLimit ? input : limitInput(input, limit));
        } else {
          const output = await def.create(args);
          outputs.push(def.ownsLimit ? output : limitOutput(output, limit));
        }
      }
    }
  } catch (err) {
    await Promise.allSettled([...inputs.map((i) => i.close()), ...outputs.map((o) => o.close())]);
    throw err;
  }
  return { inputs, outputs };
}

/** Leaves without waiting (the second signal): exit-at-once.ts, the 'exit' listeners run as process.exit() would. */
function leaveAtOnce(code: number): never {
  return exitAtOnce(code, process.exit, (c) => {
    process.exitCode = c;
    process.emit('exit', c);
  });
}

/** Signals stop the run (signals.ts says which and how); a second one leaves at once. */
function installSignalHandlers(
  pipeline: Pipeline,
  log: Logger,
  /** Middleware stands between inputs and outputs: the records read no longer add up to messages. */
  transformed: boolean,
  consumerLines: () => string[],
): { remove(): void; hungUp(): boolean } {
  let hungUp = false;
  const handler = createSignalHandler({
    isStopping: () => pipeline.isStopping,
    stop: () => void pipeline.stop(),
    exitNow: () => {
      // The counts as they stand: what was read and what each output had written, so what is lost shows.
      const snapshot = pipeline.snapshot();
      log.write(formatSummary(snapshot, log));
      const givenUp = givenUpAtOnceLine(snapshot, transformed);
      if (givenUp) log.write(givenUp);
      for (const line of consumerLines()) log.write(line); // alerts, webhooks, InfluxDB: as they stand too
      if (hungUp) releaseTerminal();
      leaveAtOnce(130);
    },
    log,
  });
  const routed = routeSignals((signal) => {
    if (signal === 'SIGHUP') hungUp = true;
    handler(signal);
  }, log);
  return { remove: routed.remove, hungUp: () => hungUp };
}

/** The stop signals to `onSignal`, the ignored ones to a line saying so (signals.ts); remove() undoes it. */
function routeSignals(onSignal: (signal: NodeJS.Signals) => void, log: Logger): { remove(): void } {
  const onIgnored = (signal: NodeJS.Signals) => log.write(ignoredSignalLine(signal));
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  for (const signal of IGNORED_SIGNALS) process.on(signal, onIgnored);
  return {
    remove() {
      for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
      for (const signal of IGNORED_SIGNALS) process.off(signal, onIgnored);
    },
  };
}

/**
 * An error no code caught (a `--middleware-module` that leaves a promise rejected or throws from a timer; a bug
 * of tapline's own) would crash node: a stack trace, exit 1, and outputs never flushed (a 0-byte file). During
 * a run it is said in one line, with where it came from, and the run stops as on SIGTERM: what was read is
 * flushed, then exit 1.
 */
function installCrashGuard(pipeline: Pipeline, log: Logger): { remove(): void; readonly failures: string[] } {
  const failures: string[] = [];
  const onCrash = (err: unknown) => {
    const line = `an error nobody caught stopped the run: ${describeError(err)}${whereThrown(err)}`;
    // The same error again (a module that leaves one rejected promise per message, until the stop): said once.
    if (failures.includes(line)) return;
    log.error(line);
    failures.push(line);
    void pipeline.stop();
  };
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  return {
    remove() {
      process.off('uncaughtException', onCrash);
      process.off('unhandledRejection', onCrash);
    },
    failures,
  };
}

/** ` (at file:line:col)` for the first frame outside node itself; tapline's own frames say it is a bug. */
function whereThrown(err: unknown): string {
  const stack = err instanceof Error && typeof err.stack === 'string' ? err.stack : '';
  for (const frame of stack.split('\n').slice(1)) {
    const at = /\(?((?:file:\/\/)?\/[^()\s]+:\d+:\d+)\)?\s*$/.exec(frame)?.[1];
    if (!at) continue;
    const file = at.replace(/^file:\/\//, '');
    if (file.startsWith(TAPLINE_CODE)) {
      return ' (in tapline itself: a bug, please report it with this line)';
    }
    return ` (at ${file})`;
  }
  return '';
}

/**
 * Where tapline's own code is: the tree this module is in, src/ or dist/ of the checkout or package (or the copy
 * `npm test` transpiles src/ into).
 */
const TAPLINE_CODE = new URL('../', import.meta.url).pathname;

/** The stdio fds that are a terminal, as node saw them at start (a terminal that hung up is no tty any more). */
const terminalFds = [0, 1, 2].filter((fd) => isatty(fd));

/**
 * After a hangup, node's own exit aborts: it restores the terminal's settings on every stdio fd that was a
 * terminal, and asserts that this works, which it does not on a terminal that is gone (node::ResetStdio,
 * tcsetattr: EIO). A run that had flushed everything then died of SIGABRT with a native stack trace at the end of
 * a redirected log. Everything is written by now: those fds are pointed at /dev/null, which node leaves alone.
 */
function releaseTerminal(): void {
  for (const fd of terminalFds) {
    try {
      closeSync(fd);
      openSync('/dev/null', fd === 0 ? 'r' : 'w'); // the lowest free fd: this one
    } catch {
      // A closed fd is left alone by node's exit as well.
    }
  }
}

function progressOf(summary: RunSummary): { records: number; bytesRead: number; bytesTotal: number } | undefined {
  let records = 0;
  let bytesRead = 0;
  let bytesTotal = 0;
  let any = false;
  for (const input of summary.inputs) {
    const s = input.stats;
    if (!s || s.bytes_total === undefined) continue;
    any = true;
    records += Number(s.records ?? 0);
    bytesRead += Number(s.bytes_read ?? 0);
    bytesTotal += Number(s.bytes_total ?? 0);
  }
  return any ? { records, bytesRead, bytesTotal } : undefined;
}
