/**
 * Plugin definitions: one object per plugin declares its flags, its help and how to build it. The CLI turns
 * every occurrence of a plugin's main flag into one instance (gor registers one plugin per occurrence,
 * spec §0), in the declared order of `builtinPlugins` (src/plugins.ts).
 */
import type { FlagSet, FlagSpec } from './flags.js';
import { LimitGate } from './limiter.js';
import type { Input, Output, PluginContext } from './plugin.js';
import type { Limit } from './values.js';

export interface PluginArgs {
  /** The flag value without its `|limit` suffix. */
  address: string;
  limit: Limit;
  flags: FlagSet;
  ctx: PluginContext;
}

interface PluginDefBase {
  /** Main flag: `input-file`. Its other flags share the prefix (`input-file-loop`). */
  readonly flag: string;
  readonly summary: string;
  /** Every flag of the plugin, the main one included. */
  readonly flags: Readonly<Record<string, FlagSpec>>;
  /**
   * True when the plugin reads `|limit` itself (input-file treats `|200%` as a speed). Otherwise the
   * registry wraps the plugin in a LimitGate.
   */
  readonly ownsLimit?: boolean;
  /**
   * Imports the implementation ahead of `create` (lazy plugins only). The CLI preloads every plugin a run
   * uses before it creates the first, so no plugin is already listening or dialling while another loads.
   */
  readonly preload?: () => Promise<unknown>;
}

export interface InputPluginDef extends PluginDefBase {
  readonly role: 'input';
  create(args: PluginArgs): Input | Promise<Input>;
}

export interface OutputPluginDef extends PluginDefBase {
  readonly role: 'output';
  create(args: PluginArgs): Output | Promise<Output>;
}

export type PluginDef = InputPluginDef | OutputPluginDef;

/**
 * A plugin as parsing, `--help` and the docs see it: everything but `create`. Each plugin keeps its
 * declaration in a module of its own (`http-flags.ts` beside `http.ts`) that imports nothing heavy, so the
 * CLI can know every flag without loading every implementation (start-up time: docs/benchmarks.md).
 */
export type InputPluginDecl = Omit<InputPluginDef, 'create'>;
export type OutputPluginDecl = Omit<OutputPluginDef, 'create'>;

/**
 * A plugin whose implementation module is imported on first `create`, i.e. only when its flag is given.
 * `load` resolves to the full definition, whose `create` does the work.
 */
export function lazyPlugin(decl: InputPluginDecl, load: () => Promise<InputPluginDef>): InputPluginDef;
export function lazyPlugin(decl: OutputPluginDecl, load: () => Promise<OutputPluginDef>): OutputPluginDef;
export function lazyPlugin(
  decl: InputPluginDecl | OutputPluginDecl,
  load: () => Promise<InputPluginDef | OutputPluginDef>,
): PluginDef {
  let loading: Promise<InputPluginDef | OutputPluginDef> | undefined;
  const preload = () => {
    loading ??= load();
    return loading;
  };
  return { ...decl, preload, create: async (args: PluginArgs) => (await preload()).create(args) } as PluginDef;
}

/**
 * `|0` and `|0%` let nothing through (gor's rule, kept): said at start, naming the flag and value, since `|0` is
 * easily written for "no limit" and the run would otherwise only show it in the summary's `limit dropped`.
 */
export function zeroLimitWarning(flag: string, value: string, limit: Limit): string | null {
  const what =
    limit.kind === 'rate' && limit.perSecond === 0
      ? 'a limit of 0 requests a second'
      : limit.kind === 'percent' && limit.percent === 0
        ? 'a sample of 0%'
        : null;
  if (what === null) return null;
  return (
    `--${flag} ${value}: ${what} lets nothing through: every message is dropped, as in gor (counted as ` +
    `'limit dropped'); for no limit leave out ${JSON.stringify(value.slice(value.indexOf('|')))}`
  );
}

/**
 * Wraps an input so that `|N` / `|N%` sample it (requests decide, responses follow). `onFirstDrop` is called
 * once, when the gate first drops a message.
 */
export function limitInput(input: Input, limit: Limit, onFirstDrop?: () => void): Input {
  if (limit.kind === 'none' || limit.kind === 'max') return input;
  const gate = new LimitGate(limit);
  let dropSaid = onFirstDrop === undefined;
  return {
    name: input.name,
    async *read() {
      for await (const batch of input.read()) {
        const kept = batch.filter((m) => gate.admit(m));
        if (!dropSaid && gate.counters.dropped > 0) {
          dropSaid = true;
          onFirstDrop!();
        }
        if (kept.length > 0) yield kept;
      }
    },
    close: () => input.close(),
    stats: () => ({ ...input.stats?.(), limit_admitted: gate.counters.admitted, limit_dropped: gate.counters.dropped }),
  };
}

/** Wraps an output so that `|N` / `|N%` limit what it receives. */
export function limitOutput(output: Output, limit: Limit): Output {
  if (limit.kind === 'none' || limit.kind === 'max') return output;
  const gate = new LimitGate(limit);
  const wrapped: Output = {
    name: output.name,
    write: (msg) => (gate.admit(msg) ? output.write(msg) : undefined),
    close: () => output.close(),
    stats: () => ({
      ...output.stats?.(),
      limit_admitted: gate.counters.admitted,
      limit_dropped: gate.counters.dropped,
    }),
  };
  // Every optional member but writeRun/runFits (the gate must see each message): without stopping(), a stop
  // with a limited output whose peer reads nothing waited for room for ever.
  if (output.responses) Object.assign(wrapped, { responses: output.responses });
  if (output.drain) Object.assign(wrapped, { drain: () => output.drain!() });
  if (output.stopping) Object.assign(wrapped, { stopping: () => output.stopping!() });
  return wrapped;
}
