#!/usr/bin/env node
// tapline CLI entry: runs the compiled CLI (npm ci builds dist/ through the "prepare" script).

// SIGUSR1 makes node open its debugger on 127.0.0.1:9229 unless a listener exists; the CLI's own listener
// (src/cli/signals.ts: ignored and said) comes only once its modules are loaded, so one is set first, before
// the import below, to close that window at start-up.
process.on('SIGUSR1', () => {});
// node's loader opens the CLI's modules many at a time: under a low open-file limit (ulimit -n 30) the import
// fails before the CLI's own error handling exists, and node would print its loader's stack trace. Said in one
// line instead, as src/cli/fd-limit.ts says it for the modules a run loads later (docs/errors.md).
let runCli;
try {
  ({ runCli } = await import('../dist/cli/main.js'));
} catch (err) {
  // A checkout not built (git clone without npm ci), or a dependency not installed: one line saying what to run.
  if (err?.code === 'ERR_MODULE_NOT_FOUND') {
    const what = /dist\/cli\/main\.js'/.test(err.message)
      ? 'tapline is not built here (no dist/cli/main.js): run npm ci, or npm run build after an npm install'
      : `${err.message.split('\n')[0]}: a dependency is not installed; run npm ci`;
    process.stderr.write(`tapline: error: ${what} (TAPLINE_ERR_FILE_IO)\n`);
    process.exit(1);
  }
  if (err?.code !== 'EMFILE' && err?.code !== 'ENFILE') throw err;
  const { readFileSync } = await import('node:fs');
  // The loader's other opens may still hold the descriptors for a moment: a few tries, 20 ms apart.
  let limit = '';
  for (let i = 0; i < 5 && limit === ''; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    try {
      limit = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? '';
    } catch {}
  }
  const why =
    err.code === 'ENFILE'
      ? "the system's table of open files is full (ENFILE); try again later"
      : `too many open files (EMFILE): the open-file limit (ulimit -n) is ${limit ? `${limit}, ` : ''}too low ` +
        'for tapline to load its own code; raise it (ulimit -n 4096)';
  process.stderr.write(`tapline: error: cannot open ${err.path ?? 'a module'}: ${why} (TAPLINE_ERR_FILE_IO)\n`);
  process.exit(1);
}

const code = await runCli(process.argv.slice(2));
process.exitCode = code;
// The run has ended, its summary printed: a stop signal while the process leaves only ends it sooner, with the
// run's own exit code, not as one the signal killed (src/cli/main.ts says why).
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => process.exit(code));
// Everything is flushed and closed by now. If a stray handle (a socket a peer keeps open) would keep the
// process alive, do not hang: leave anyway after a moment.
setTimeout(() => process.exit(code), 2000).unref();
