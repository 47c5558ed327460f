#!/usr/bin/env node
// tapline CLI entry: runs the compiled CLI (npm ci builds dist/ through the "prepare" script).
import { runCli } from '../dist/cli/main.js';

const code = await runCli(process.argv.slice(2));
process.exitCode = code;
// Everything is flushed and closed by now. If a stray handle (a socket a peer keeps open) would keep the
// process alive, do not hang: leave anyway after a moment.
setTimeout(() => process.exit(code), 2000).unref();
