/** The CLI's exit codes, shared by the pipeline run (main.ts) and its subcommands (report.ts). */
export const EXIT_OK = 0;
/** A file, an input or an output failed; or `report` had nothing to judge. */
export const EXIT_FAILED = 1;
/** A command-line mistake: a flag, a value, an address. */
export const EXIT_USAGE = 2;
/** `report`: a budget is broken. */
export const EXIT_BUDGET = 3;
