// Runs the tapline CLI in this process and reports wall time, CPU time and peak RSS on the last line of
// stderr as JSON, so a benchmark can measure a real run of the built CLI.
import { runCli } from '../dist/cli/main.js';

const started = performance.now();
const code = await runCli(process.argv.slice(2));
const usage = process.resourceUsage();
process.stderr.write(
  `\nMEASURE ${JSON.stringify({ code, ms: performance.now() - started, userMs: usage.userCPUTime / 1000, systemMs: usage.systemCPUTime / 1000, maxRssKb: usage.maxRSS, minorFaults: usage.minorPageFault })}\n`,
);
process.exit(code);
