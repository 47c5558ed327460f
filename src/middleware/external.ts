/**
 * `--middleware "cmd args"`: gor's external middleware (spec §4). Every message the inputs (and the replayed
 * responses of outputs) produce is written to the process's stdin as a hex line; every line it writes back
 * becomes a message for the modifiers and outputs.
 *
 *   pipeline merge ──batches──▶ writeLoop ──hex lines, ~1 MB writes──▶ stdin ┐
 *        ▲ (pulled only when stdin has room: a slow middleware slows the inputs)  │ child process
 *   pipeline loop ◀── yield ◀── queue (bounded) ◀── HexLineDecoder ◀── stdout ◀──┘
 *        (stdout is paused while the queue is full: memory stays bounded)     stderr ──▶ log, prefixed
 *
 * Lifecycle: the process starts when the pipeline runs. When the stream for it ends (inputs ended, replayed
 * responses drained) its stdin is closed; its stdout ending (process exit) ends the stream out. A watchdog
 * kills it when it leaves its stdin unread, or keeps running after its input ended, for --middleware-timeout
 * (time spent waiting on tapline's own outputs does not count). An exit before its input ended, a non-zero
 * status or a signal fails the run (the pipeline flushes every output first). Unreadable lines are dropped,
 * each reported with its line number, and make the run exit non-zero at the end.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { ERROR_CODES, TaplineError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { Message } from '../core/message.js';
import { preview } from '../core/meta.js';
import type { Batch, Transform } from '../core/plugin.js';
import { redactCommand } from '../core/redact.js';
import { commandHints, parseMiddlewareCommand } from './command.js';
import { type DecodeResult, encodeHexLines, HexLineDecoder } from './hex-lines.js';

export interface ExternalMiddlewareOptions {
  /** `--middleware` value: split on single spaces, no shell. */
  command: string;
  log: Logger;
  /** How long it may leave its stdin unread, or keep running after its input ended. Default 30 s. */
  timeoutMs?: number;
  /** Largest decoded message accepted from it (0 = no limit). */
  maxMessageBytes?: number;
  /** settle(): how long its output must be quiet before it is considered caught up. */
  quietMs?: number;
}

/** Messages (or bytes) decoded but not yet taken by the pipeline before stdout is paused. */
const QUEUE_HIGH_MESSAGES = 8192;
const QUEUE_HIGH_BYTES = 4 * 1024 * 1024;
/** A stderr line longer than this is passed through in pieces. */
const STDERR_LINE_MAX = 64 * 1024;
/**
 * tapline's stderr, when it is a pipe (`2>&1 | less`, a log shipper), is written asynchronously by Node: what its
 * reader has not taken yet is held in memory. A middleware that logs heavily would grow that without bound, so
 * its stderr is no longer read while tapline's holds more than this; it then blocks on its own stderr writes.
 */
const STDERR_BACKLOG_BYTES = 1024 * 1024;
/**
 * After it exits, how long its stdout may stay open. What it wrote before exiting is already in the pipe and
 * is read within milliseconds; a pipe still open after this is held by a process it started (`sleep 60 &` in
 * a script, or the child of a shell killed by the watchdog), which could hold it for ever.
 */
const EXIT_GRACE_MS = 1000;
/**
 * Starts of the process when a signal killed it before it ran. Node forks it with signals blocked, makes it
 * a session of its own (setsid), resets the signal handlers and unblocks them just before exec: a SIGINT,
 * SIGTERM or SIGHUP sent to tapline's process group in between (Ctrl-C, or `timeout` signalling its group)
 * is pending in it, and is delivered then, killing it before the program ran. No wrapper program can close
 * that window, as it opens before any program runs; but the child is then dead, or has exec'd, by the time
 * spawn returns, so such a death is seen at once and the process started again (tapline received the same
 * signal and is stopping: what the inputs read still passes through the middleware).
 */
const STARTS = 3;
/** abandon(): how long a SIGTERM'd middleware may take to die before its group gets SIGKILL. */
const ABANDON_GRACE_MS = 500;

export class ExternalMiddleware {
  readonly name: string;
  readonly counters = {
    /** Messages written to its stdin. */
    sent: 0,
    sent_bytes: 0,
    /** Messages decoded from its stdout. */
    received: 0,
    received_bytes: 0,
    /** Lines that were not a message (dropped, each reported). */
    bad_lines: 0,
    /** Messages passed on whose meta line's timestamp is not a number (each reported). */
    bad_timestamps: 0,
    empty_lines: 0,
    /** Messages that could not be sent because it had exited. */
    not_sent: 0,
    stderr_lines: 0,
  };
  private readonly command;
  private readonly timeoutMs: number;
  private readonly quietMs: number;
  private readonly decoder: HexLineDecoder;
  private child: ChildProcess | undefined;
  private pid = 0;
  private queue: Message[] = [];
  private queuedBytes = 0;
  private paused = false;
  /** Its stderr is not read while tapline's own stderr is backed up (STDERR_BACKLOG_BYTES). */
  private stderrPaused = false;
  private wakeReader: (() => void) | undefined;
  private wakeWriter: (() => void) | undefined;
  private exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** The process itself has exited ('exit'); `exit` is set once its stdout and stderr are closed too. */
  private exited = false;
  /** `sent` when it closed its stdout while still running and being sent messages (they could not come back). */
  private stdoutClosedAtSent: number | undefined;
  private killedFor: string | undefined;
  private inputEnded = false;
  private waitingDrain = false;
  private lastOutputAt = 0;
  /** Last time its stdout gave data or was resumed (after it exits, a quiet open pipe is let go). */
  private lastStdoutActivity = 0;
  private lastWriteAt = 0;
  /** Time (ms) counted by the watchdog: stdin unread, or running after the input ended. */
  private stalledMs = 0;
  private afterEndMs = 0;
  private silentWarned = false;
  private firstProblem: string | undefined;
  private stderrCarry = '';

  constructor(private readonly options: ExternalMiddlewareOptions) {
    this.command = parseMiddlewareCommand(options.command);
    this.name = `middleware "${redactCommand(options.command)}"`;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.quietMs = options.quietMs ?? 1000;
    this.decoder = new HexLineDecoder(options.maxMessageBytes ?? 0);
  }

  readonly transform: Transform = (source) => this.run(source);

  /**
   * Resolves once what was written to it has come back out (as many messages out as in), or it has
   * answered and then been quiet for `quietMs` (it filters), or it has exited, or --middleware-timeout
   * passed. The pipeline then drains the replay outputs: replayed responses to requests it emits after that
   * cannot reach it (docs/middleware.md).
   */
  readonly settle = async (): Promise<void> => {
    const start = Date.now();
    while (this.exit === undefined && Date.now() - start < this.timeoutMs) {
      const flushed = !this.waitingDrain && (this.child?.stdin?.writableLength ?? 0) === 0;
      const now = Date.now();
      const c = this.counters;
      if (flushed && c.received >= c.sent) return;
      // It filters or holds messages back: wait until it has answered at least once (a slow starter, such
      // as node --import tsx, has not read anything yet) and then been quiet for a moment.
      const quiet = now - this.lastOutputAt >= this.quietMs && now - this.lastWriteAt >= this.quietMs;
      if (flushed && c.received_bytes > 0 && quiet) return;
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  stats(): Record<string, number | string> {
    return { pid: this.pid, ...this.counters };
  }

  /** Problems that did not stop the run but must make it exit non-zero. */
  failures(): string[] {
    if (this.counters.bad_lines === 0) return [];
    return [
      `${this.name} wrote ${this.counters.bad_lines} unreadable line(s), dropped (first: ${this.firstProblem ?? '?'})`,
    ];
  }

  /** One line for the end-of-run summary. */
  describe(): string {
    const c = this.counters;
    const parts = [`${c.sent} sent`, `${c.received} received`];
    if (c.bad_lines) parts.push(`${c.bad_lines} unreadable lines dropped`);
    if (c.bad_timestamps) parts.push(`${c.bad_timestamps} with a timestamp that is not a number`);
    if (c.empty_lines) parts.push(`${c.empty_lines} empty lines`);
    if (c.not_sent) parts.push(`${c.not_sent} not sent (it had exited)`);
    const status = this.exit
      ? this.exit.signal
        ? `killed by ${this.exit.signal}`
        : `exited with status ${this.exit.code}`
      : this.pid === 0
        ? 'did not start'
        : 'running';
    return `  ${this.name} (pid ${this.pid}): ${parts.join(', ')}; ${status}`;
  }

  private async start(): Promise<ChildProcess> {
    for (const hint of commandHints(this.command)) this.options.log.warn(`${this.name}: ${hint}`);
    for (let attempt = 1; ; attempt++) {
      const child = await this.spawnOnce();
      // See STARTS: the only death this can be is one before exec; nothing was written to it yet.
      const death = attempt < STARTS ? await diedBeforeExec(child) : undefined;
      if (death === undefined) {
        this.pid = child.pid ?? 0;
        this.child = child;
        this.options.log.info(`${this.name} started (pid ${this.pid})`);
        return child;
      }
      this.options.log.warn(
        `${this.name} (pid ${child.pid}) ${death} while it was being started, before it ran ` +
          "(a signal to tapline's process group, such as Ctrl-C or timeout's, reached it then); nothing had been " +
          'sent to it: started again',
      );
    }
  }

  private async spawnOnce(): Promise<ChildProcess> {
    const { program, args } = this.command;
    // A process group of its own: Ctrl-C at a terminal signals the whole foreground group, and a middleware in
    // tapline's group died with the messages it held. tapline's own stop closes its stdin instead, and it
    // gives them back. Its kills go to the group, so a script's children go too.
    const child = spawn(program, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    child.once('close', (code, signal) => closedEarly.set(child, { code, signal }));
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    }).catch((err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'ENOENT'
          ? (missingInterpreter(program) ?? notFound(program))
          : err.code === 'EACCES'
            ? isDirectory(program)
              ? `program "${program}" is a directory (give the path of the program inside it)`
              : `program "${program}" is not executable (chmod +x, or run it through its interpreter: "python3 mw.py")`
            : err.message;
      throw new TaplineError(ERROR_CODES.MIDDLEWARE, `cannot start ${this.name}: ${why}`, {
        where: '--middleware',
        cause: err,
      });
    });
    return child;
  }

  private async *run(source: AsyncIterable<Batch>): AsyncGenerator<Batch> {
    const child = await this.start();
    const stdout = child.stdout!;
    this.lastOutputAt = Date.now();
    stdout.on('data', (chunk: Buffer) => {
      this.counters.received_bytes += chunk.length;
      this.lastOutputAt = Date.now();
      this.lastStdoutActivity = this.lastOutputAt;
      this.take(this.decoder.push(chunk));
      if (!this.paused && (this.queue.length >= QUEUE_HIGH_MESSAGES || this.queuedBytes >= QUEUE_HIGH_BYTES)) {
        this.paused = true;
        stdout.pause();
      }
    });
    // A character can be split between two reads: decoding each chunk alone printed it as two U+FFFD.
    const stderrText = new StringDecoder('utf8');
    const stderr = child.stderr!;
    stderr.on('data', (chunk: Buffer) => {
      this.passStderr(stderrText.write(chunk));
      const own = process.stderr;
      if (this.stderrPaused || own.destroyed || own.writableLength < STDERR_BACKLOG_BYTES) return;
      this.stderrPaused = true;
      stderr.pause();
      // 'close' too: a reader that went away (EPIPE) never drains it.
      const resume = () => {
        own.off('drain', resume);
        own.off('close', resume);
        this.stderrPaused = false;
        this.lastStdoutActivity = Date.now();
        stderr.resume();
      };
      own.on('drain', resume);
      own.on('close', resume);
    });
    // Its stdout ends just before it exits. If it does not exit, it closed its stdout and runs on: whatever it
    // is sent from then on is lost, so it is stopped rather than fed for as long as the inputs last. (Once its
    // input has ended it may take its time to exit: the watchdog's --middleware-timeout applies.)
    const graceMs = Math.min(EXIT_GRACE_MS, this.timeoutMs);
    stdout.on('end', () => {
      if (this.exited || this.inputEnded) return;
      this.stdoutClosedAtSent = this.counters.sent;
      setTimeout(() => {
        if (!this.exited) this.kill('closed its stdout before its input ended and kept running');
      }, graceMs).unref();
    });
    let grace: NodeJS.Timeout | undefined;
    const checkPipes = () => {
      // Only a pipe that stays open with nothing coming out of it is let go: not while tapline holds its stdout
      // paused (its own outputs are slow), nor while a helper process still writes to it.
      if (this.paused || this.stderrPaused || Date.now() - this.lastStdoutActivity < graceMs)
        grace = setTimeout(checkPipes, graceMs);
      else this.abandonPipes(child, graceMs);
    };
    const onExit = () => {
      this.exited = true;
      this.wakeWriter?.();
      grace = setTimeout(checkPipes, graceMs);
    };
    // start() may have seen it exit already (a program that ended at once; diedBeforeExec).
    if (child.exitCode !== null || child.signalCode !== null) onExit();
    else child.on('exit', onExit);
    const onClose = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(grace);
      this.take(this.decoder.end());
      const rest = stderrText.end();
      if (this.stderrCarry || rest) this.passStderr(`${rest}\n`);
      this.exit = { code, signal };
      this.wake();
    };
    // start() may also have seen it close: Node drains and closes the pipes of a process that exited, right after
    // its 'exit', if nothing reads them yet. Its 'close' was then missed, and the run waited for it for ever.
    const closed = closedEarly.get(child);
    if (closed) onClose(closed.code, closed.signal);
    else child.on('close', onClose);
    const watchdog = this.startWatchdog();
    const writer = this.writeLoop(source, child);
    try {
      for (;;) {
        if (this.queue.length > 0) {
          const batch = this.queue;
          this.queue = [];
          this.queuedBytes = 0;
          if (this.paused) {
            this.paused = false;
            this.lastStdoutActivity = Date.now();
            stdout.resume();
          }
          yield batch;
          continue;
        }
        if (this.exit) break;
        await new Promise<void>((resolve) => {
          this.wakeReader = resolve;
        });
      }
      const failure = this.exitError();
      if (failure) throw failure;
      await writer;
    } finally {
      clearInterval(watchdog);
      if (!this.exit) this.signal('SIGKILL');
    }
  }

  /**
   * It has exited, but a process it started still holds its stdout or stderr open: stop reading them (which
   * lets 'close' fire with its exit status) rather than wait for that process, and say so.
   */
  private abandonPipes(child: ChildProcess, graceMs: number): void {
    if (this.exit) return;
    this.options.log.warn(
      `${this.name} (pid ${this.pid}) exited, but its stdout or stderr was still open, with nothing in it, ${graceMs} ms later, ` +
        'held by a process it started (in a script, start helpers with exec or redirect their output); tapline stopped reading it',
    );
    child.stdout?.destroy();
    child.stderr?.destroy();
  }

  private take(result: DecodeResult): void {
    for (const m of result.messages) {
      this.queue.push(m);
      this.queuedBytes += m.data.length;
    }
    this.counters.received += result.messages.length;
    this.counters.empty_lines += result.empty;
    for (const { line, meta } of result.badTimestamps) {
      this.counters.bad_timestamps++;
      this.options.log.warn(
        `${this.name}: stdout line ${line}: the meta line's timestamp is not a number: ${preview(meta)} ` +
          '(expected "<type> <id> <timestamp ns> ..."); passed on as is, as gor does (it reads it as 0)',
        'middleware timestamp',
      );
    }
    for (const p of result.problems) {
      this.counters.bad_lines++;
      const text = `stdout ${p.message}; dropped`;
      this.firstProblem ??= text;
      this.options.log.warn(`${this.name}: ${text}`, 'middleware unreadable line');
    }
    if (result.messages.length > 0 || result.problems.length > 0) this.wake();
  }

  private wake(): void {
    const r = this.wakeReader;
    this.wakeReader = undefined;
    r?.();
  }

  private async writeLoop(source: AsyncIterable<Batch>, child: ChildProcess): Promise<void> {
    const stdin = child.stdin!;
    // EPIPE and friends when it exits first: the exit status tells the story.
    stdin.on('error', () => {});
    stdin.on('drain', () => this.wakeWriter?.());
    child.on('close', () => this.wakeWriter?.());
    try {
      for await (const batch of source) {
        const counts: number[] = [];
        const bufs = this.exited || stdin.destroyed ? [] : encodeHexLines(batch, counts);
        let written = 0;
        // It can exit between two writes of a batch: what was not written then is not sent, whatever the
        // batch held (the exit error and the summary must agree on "sent").
        for (let k = 0; k < bufs.length && !this.exited && !stdin.destroyed; k++) {
          this.counters.sent_bytes += bufs[k]!.length;
          this.lastWriteAt = Date.now();
          written += counts[k]!;
          this.counters.sent += counts[k]!;
          if (!stdin.write(bufs[k]!)) await this.drained(stdin);
        }
        this.counters.not_sent += batch.length - written;
      }
    } finally {
      this.inputEnded = true;
      if (!this.exited) stdin.end();
    }
  }

  private drained(stdin: NodeJS.WritableStream & { writableNeedDrain?: boolean }): Promise<void> {
    if (this.exited || !stdin.writableNeedDrain) return Promise.resolve();
    this.waitingDrain = true;
    return new Promise<void>((resolve) => {
      this.wakeWriter = () => {
        this.wakeWriter = undefined;
        this.waitingDrain = false;
        this.stalledMs = 0;
        resolve();
      };
    });
  }

  /**
   * Counts time the middleware holds things up while tapline is not the slow side (its stdout is not
   * paused), and kills it past --middleware-timeout. Also warns once when it has written nothing back for
   * that long although it was sent messages (it may only filter; the warning says so).
   */
  private startWatchdog(): NodeJS.Timeout {
    const step = Math.max(20, Math.min(1000, Math.floor(this.timeoutMs / 10)));
    let last = Date.now();
    let sentAtLastOutput = 0;
    let lastOutputSeen = this.lastOutputAt;
    const timer = setInterval(() => {
      const now = Date.now();
      const dt = now - last;
      last = now;
      // tapline is the slow side: its outputs do not take messages, or its own stderr is backed up.
      if (this.exit || this.paused || this.stderrPaused) return;
      const seconds = (this.timeoutMs / 1000).toString();
      if (this.waitingDrain) {
        this.stalledMs += dt;
        if (this.stalledMs >= this.timeoutMs) {
          const waiting = this.child?.stdin?.writableLength ?? 0;
          this.kill(`has not read its stdin for ${seconds}s (${waiting} bytes waiting; --middleware-timeout)`);
        }
      }
      if (this.inputEnded) {
        this.afterEndMs += dt;
        if (this.afterEndMs >= this.timeoutMs)
          this.kill(
            `was still running ${seconds}s after its input ended (stdin closed; it must exit at end of input; --middleware-timeout)`,
          );
      }
      if (this.lastOutputAt !== lastOutputSeen) {
        lastOutputSeen = this.lastOutputAt;
        sentAtLastOutput = this.counters.sent;
      }
      const unanswered = this.counters.sent - sentAtLastOutput;
      // Not once it is being killed: "still waiting" would then be wrong, and the kill says it all.
      if (!this.silentWarned && !this.killedFor && unanswered > 0 && now - this.lastOutputAt >= this.timeoutMs) {
        this.silentWarned = true;
        this.options.log.warn(
          `${this.name} (pid ${this.pid}) has written nothing for ${seconds}s although it was sent ${unanswered} message(s) since; ` +
            'a middleware must write back every message it wants to keep (still waiting)',
        );
      }
    }, step);
    timer.unref();
    return timer;
  }

  private kill(reason: string): void {
    if (this.killedFor || this.exit || !this.child) return;
    this.killedFor = reason;
    this.options.log.error(`${this.name} (pid ${this.pid}) ${reason}; killing it`);
    this.signal('SIGTERM');
    setTimeout(() => {
      if (!this.exit) this.signal('SIGKILL');
    }, 2000).unref();
  }

  /** Its process group (see start()); the process alone if the group is gone. */
  private signal(sig: NodeJS.Signals): void {
    if (this.pid === 0) return;
    try {
      process.kill(-this.pid, sig);
    } catch {
      this.child?.kill(sig);
    }
  }

  /**
   * For a process that exits without its stop (a second SIGINT): in its own group, the middleware would not
   * get the terminal's signal, so it is ended here. Synchronous, for an 'exit' handler: SIGTERM, a short wait
   * for it to die, then SIGKILL to its group, so that one that ignores SIGTERM (or a process its script
   * started that does) is not left running after tapline.
   */
  abandon(): void {
    if (this.exit || this.pid === 0) return;
    this.signal('SIGTERM');
    const pause = new Int32Array(new SharedArrayBuffer(4));
    for (const until = Date.now() + ABANDON_GRACE_MS; Date.now() < until && !hasEnded(this.pid); )
      Atomics.wait(pause, 0, 0, 10);
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      // the group is gone
    }
  }

  private exitError(): TaplineError | undefined {
    const exit = this.exit!;
    const who = `${this.name} (pid ${this.pid})`;
    const counts = `after it was sent ${this.counters.sent} message(s) and wrote back ${this.counters.received}`;
    const lostAfterClose = this.stdoutClosedAtSent === undefined ? 0 : this.counters.sent - this.stdoutClosedAtSent;
    let what: string | undefined;
    if (this.killedFor) what = `${this.killedFor}; killed (${exit.signal ?? `status ${exit.code}`})`;
    else if (exit.signal) what = `was killed by ${exit.signal}`;
    else if (exit.code !== 0) what = `exited with status ${exit.code}`;
    else if (!this.inputEnded) what = 'exited (status 0) before its input ended';
    else if (lostAfterClose > 0) what = 'closed its stdout before its input ended';
    if (what === undefined) return undefined;
    const lost =
      lostAfterClose > 0
        ? `; the ${lostAfterClose} message(s) sent to it after it closed its stdout could not come back`
        : '';
    return new TaplineError(ERROR_CODES.MIDDLEWARE, `${who} ${what}, ${counts}${lost}; the run stops`, {
      where: '--middleware',
    });
  }

  private passStderr(text: string): void {
    let s = this.stderrCarry + text;
    let nl = s.indexOf('\n');
    while (nl !== -1) {
      this.counters.stderr_lines++;
      this.options.log.write(`[middleware] ${s.slice(0, nl)}`);
      s = s.slice(nl + 1);
      nl = s.indexOf('\n');
    }
    if (s.length > STDERR_LINE_MAX) {
      this.options.log.write(`[middleware] ${s}`);
      s = '';
    }
    this.stderrCarry = s;
  }
}

/**
 * For the ENOENT message only: spawn says ENOENT too when the program exists but the interpreter of its #!
 * line does not, which "not found" misreports. A #! line ending in CR (a script saved with Windows line
 * endings) is the common case: the kernel looks for "/bin/bash\r".
 */
function missingInterpreter(program: string): string | undefined {
  const path = program.includes('/')
    ? program
    : (process.env.PATH ?? '')
        .split(delimiter)
        .map((dir) => join(dir || '.', program))
        .find((p) => existsSync(p));
  if (path === undefined) return undefined;
  let first: string;
  try {
    const fd = openSync(path, 'r');
    try {
      const head = Buffer.alloc(256);
      first = head.toString('latin1', 0, readSync(fd, head, 0, head.length, 0)).split('\n')[0]!;
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  if (!first.startsWith('#!')) return undefined;
  if (first.endsWith('\r'))
    return `program "${program}" has a #! line that ends in CR (the script has Windows line endings; convert it with dos2unix or sed -i 's/\\r$//')`;
  return `the interpreter of program "${program}" was not found: its #! line is ${JSON.stringify(first)}`;
}

/**
 * Whether `child` died before it exec'd (see STARTS): resolves with how ("was killed by SIGTERM"), or undefined
 * when it ran the program. Asked at once after spawn, when the process has either exec'd or is dead or
 * dying: on Linux, /proc/PID/cmdline is then the program's command line (no wait, no turn of the event loop),
 * still tapline's own (it never exec'd), or empty (it is exiting, or still in its exec). Exiting, it may also
 * be a program that ran and ended at once (`exit 0`): if its name is not tapline's it did run. If it is, it
 * may also be a program named as tapline ("node": `node mw.js`, a `#!/usr/bin/env node` script) caught in
 * its exec, past the point where spawn returns: the kernel gives the new program its name before its command
 * line, which stays empty for that moment. So it is watched until it shows a command line (it ran) or exits,
 * whichever comes first; waiting for the exit alone stalled such a start for as long as the middleware ran (it
 * waits for its stdin to end), about one start in twelve of a `#!/usr/bin/env node` script. Of an exit, only a
 * stop signal (SIGINT, SIGTERM, SIGHUP), which cannot reach a process in its own session, counts as a death
 * before exec; anything else is its own exit, left for the caller, which sees it has already exited.
 * Elsewhere, or when /proc cannot tell, it is taken as running, as before: a death is then reported as such.
 */
async function diedBeforeExec(child: ChildProcess): Promise<string | undefined> {
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${child.pid}/cmdline`, 'latin1');
  } catch (err) {
    // Not Linux (no /proc), or not allowed to look.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !existsSync('/proc/self/cmdline')) return undefined;
    cmdline = '';
  }
  const neverRan = cmdline === ownCommandLine();
  if (cmdline !== '' && !neverRan) return undefined;
  // Exiting: its name (kept until it is reaped) is the program's once it exec'd, tapline's before.
  if (!neverRan && processName(`/proc/${child.pid}/stat`) !== processName('/proc/self/stat')) return undefined;
  const outcome = await exitOrCommandLine(child);
  if (outcome === 'ran') return undefined;
  const signal = outcome.signal;
  if (!neverRan && (signal === null || !STOP_SIGNALS.includes(signal))) return undefined;
  child.on('error', () => {});
  for (const stream of [child.stdin, child.stdout, child.stderr]) stream?.destroy();
  return signal === null ? 'ended' : `was killed by ${signal}`;
}

/** How long exitOrCommandLine() looks for a command line before taking the process as running. */
const EXEC_WAIT_MS = 5000;

/**
 * For diedBeforeExec(): 'ran' once `child` shows a command line other than tapline's, or its exit (and the
 * signal that ended it) if that comes first. Looked at every millisecond (an exec takes less); after
 * EXEC_WAIT_MS without either it is taken as running.
 */
function exitOrCommandLine(child: ChildProcess): Promise<'ran' | { signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve({ signal: child.signalCode });
    const until = Date.now() + EXEC_WAIT_MS;
    let timer: NodeJS.Timeout | undefined;
    // Node reaps it and emits 'exit' in the same callback: its pid cannot be another process's by the next look.
    const onExit = (_code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      resolve({ signal });
    };
    const look = () => {
      const cmdline = commandLine(child.pid!);
      if ((cmdline !== '' && cmdline !== ownCommandLine()) || Date.now() > until) {
        child.off('exit', onExit);
        resolve('ran');
      } else timer = setTimeout(look, 1);
    };
    child.once('exit', onExit);
    look();
  });
}

/** /proc/PID/cmdline; '' when it cannot be read (the process is gone). */
function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1');
  } catch {
    return '';
  }
}

/** How each process started closed ('close': exited, and its stdout and stderr closed), for run(). */
const closedEarly = new WeakMap<ChildProcess, { code: number | null; signal: NodeJS.Signals | null }>();

/** Signals that stop a run, which a terminal or `timeout` sends to a whole process group. */
const STOP_SIGNALS: readonly string[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Whether process `pid` (a child) has died: gone, or a zombie not yet reaped (Node reaps in its event loop, which
 * does not turn while abandon() waits). Without /proc it cannot tell: false.
 */
function hasEnded(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' && existsSync('/proc/self/stat');
  }
}

/** The name (comm) in a /proc/PID/stat file; '' when it cannot be read. */
function processName(statPath: string): string {
  try {
    const stat = readFileSync(statPath, 'latin1');
    return stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
  } catch {
    return '';
  }
}

let ownCmdline: string | undefined;
function ownCommandLine(): string {
  ownCmdline ??= readFileSync('/proc/self/cmdline', 'latin1');
  return ownCmdline;
}

/**
 * Why `program` was not found. A relative path is taken from tapline's working directory (as gor does), not
 * from where the command or a script that runs tapline lives: the message names that directory.
 */
function notFound(program: string): string {
  if (!program.includes('/'))
    return `program "${program}" not found on PATH (it is run without a shell: give a path like ./mw.sh or a program on PATH)`;
  if (isAbsolute(program)) return `program "${program}" not found: there is no such file`;
  return (
    `program "${program}" not found: there is no ${resolve(program)} (a relative path is taken from the directory ` +
    `tapline runs in, ${process.cwd()}; give an absolute path, or run tapline from the directory it is relative to)`
  );
}

/** For the EACCES message only (spawn gives the same code for a directory and a file without +x). */
function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
