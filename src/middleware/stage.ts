/**
 * The middleware stage as the CLI builds it (its flags are in flags.ts): one object that gives the pipeline
 * its transform (and settle hook) and the summary its line. Placement is gor's: middleware first, then the
 * modifiers.
 */
import { ERROR_CODES, TaplineError } from '../core/errors.js';
import type { FlagSet } from '../core/flags.js';
import type { Logger } from '../core/log.js';
import type { Transform } from '../core/plugin.js';
import { ExternalMiddleware } from './external.js';
import { loadMiddlewareModule, ModuleMiddleware, moduleUrl } from './module.js';

export interface MiddlewareStage {
  readonly transform: Transform;
  readonly settle?: () => Promise<void>;
  stats(): Record<string, number | string>;
  /** Problems that did not stop the run but should make it exit non-zero. */
  failures(): string[];
  describe(): string;
  /** Ends a middleware process still running when tapline exits at once (synchronous; for an 'exit' handler). */
  abandon?(): void;
}

/** The stage the flags ask for, or undefined without --middleware / --middleware-module. */
export async function createMiddlewareStage(flags: FlagSet, log: Logger): Promise<MiddlewareStage | undefined> {
  const command = flags.string('middleware');
  const modulePath = flags.string('middleware-module');
  if (flags.has('middleware') && flags.has('middleware-module')) {
    throw new TaplineError(ERROR_CODES.USAGE, 'use --middleware or --middleware-module, not both', {
      where: '--middleware-module',
    });
  }
  if (flags.has('middleware')) {
    const mw = new ExternalMiddleware({
      command,
      log,
      timeoutMs: flags.number('middleware-timeout'),
      maxMessageBytes: flags.number('middleware-max-size'),
    });
    return {
      transform: mw.transform,
      settle: mw.settle,
      stats: () => mw.stats(),
      failures: () => mw.failures(),
      describe: () => mw.describe(),
      abandon: () => mw.abandon(),
    };
  }
  if (flags.has('middleware-module')) {
    if (modulePath === '') {
      throw new TaplineError(ERROR_CODES.USAGE, 'needs a module path, e.g. --middleware-module ./mw.ts', {
        where: '--middleware-module',
      });
    }
    const fn = await loadMiddlewareModule(modulePath);
    const mw = new ModuleMiddleware(
      `middleware-module(${modulePath})`,
      fn,
      log,
      flags.number('middleware-timeout'),
      moduleUrl(modulePath),
    );
    return {
      transform: mw.transform,
      stats: () => mw.stats(),
      failures: () => [],
      describe: () => mw.describe(),
    };
  }
  return undefined;
}
