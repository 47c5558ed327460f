// The CLI entry used by tests: the same as bin/tapline.js, but from source.
import { runCli } from '../../src/cli/main.js';

const code = await runCli(process.argv.slice(2));
process.exitCode = code;
setTimeout(() => process.exit(code), 2000).unref();
