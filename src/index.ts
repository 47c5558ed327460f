/**
 * tapline as a library: the message model, the `.gor` codec, the plugin contracts, the pipeline, and the
 * built-in plugins. The CLI (`tapline ...`) is a thin layer over exactly these.
 */
export { mergeStreams, sleep } from './core/async.js';
export { describeError, ERROR_CODES, type ErrorCode, isTaplineError, TaplineError } from './core/errors.js';
export { encodeRecord, type GorRecord, GorRecordReader, type RecordProblem, SEPARATOR } from './core/gor-format.js';
export { createLogger, type Logger, memoryLogger } from './core/log.js';
export {
  isRequest,
  type Message,
  type Meta,
  type MetaFields,
  makeMeta,
  nowNs,
  type PayloadType,
  REPLAYED_RESPONSE,
  REQUEST,
  RESPONSE,
  randomId,
  withMeta,
} from './core/message.js';
export { parseMeta } from './core/meta.js';
export { Pipeline, type PipelineOptions, type RunSummary } from './core/pipeline.js';
export type { Batch, Input, Output, PluginContext, Processor, Transform } from './core/plugin.js';
export { type InputPluginDef, limitInput, limitOutput, type OutputPluginDef, type PluginDef } from './core/registry.js';
export { formatGoDuration, parseGoDuration, parseSize, splitLimit } from './core/values.js';
export { dummyInput } from './inputs/dummy.js';
export { type FileInputOptions, fileInput } from './inputs/file.js';
export {
  defineMiddleware,
  formatHexLine,
  HttpMessage,
  type MiddlewareContext,
  type MiddlewareFunction,
  type MiddlewareResult,
  MiddlewareRunner,
  parseHexLine,
} from './middleware/index.js';
export { type FileOutputOptions, fileOutput } from './outputs/file.js';
export { type HttpOutputOptions, httpOutput } from './outputs/http.js';
export { nullOutput } from './outputs/null.js';
export { streamOutput } from './outputs/stdout.js';
export { builtinPlugins } from './plugins.js';

import { runCli } from './cli/main.js';

/** Runs tapline with gor-style arguments, as the `tapline` command does; resolves with the exit code. */
export function run(argv: readonly string[]): Promise<number> {
  return runCli(argv);
}
