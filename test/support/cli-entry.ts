// The CLI entry used by tests: the same as bin/tapline.js, but from source.
import { runCli } from '../../src/cli/main.js';

const code = await runCli(process.argv.slice(2));
process.exitCode = code;
// The run has ended, its summary printed: a stop signal while the process leaves only ends it sooner, with the
// run's own exit code, not as one the signal killed (src/cli/main.ts says why).
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => process.exit(code));
setTimeout(() => process.exit(code), 2000).unref();
