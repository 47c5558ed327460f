#!/usr/bin/env node
// tapline CLI entry: runs the compiled CLI (npm ci builds dist/ through the "prepare" script).

// SIGUSR1 makes node open its debugger on 127.0.0.1:9229 unless a listener exists; the CLI's own listener
// (src/cli/signals.ts: ignored and said) comes only once its modules are loaded, so one is set first, before
// the import below, to close that window at start-up.
process.on('SIGUSR1', () => {});
const { runCli } = await import('../dist/cli/main.js');

const code = await runCli(process.argv.slice(2));
process.exitCode = code;
// Everything is flushed and closed by now. If a stray handle (a socket a peer keeps open) would keep the
// process alive, do not hang: leave anyway after a moment.
setTimeout(() => process.exit(code), 2000).unref();
