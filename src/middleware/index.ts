/**
 * Middleware: gor's external hex-line protocol (`--middleware`), in-process modules (`--middleware-module`),
 * and the helper library for external middleware written in Node. See docs/middleware.md.
 *
 *   // mw.ts, run with: tapline --input-file in.gor --middleware-module ./mw.ts --output-http http://staging
 *   import { defineMiddleware } from 'tapline/middleware';
 *   export default defineMiddleware((m) => (m.isRequest ? m.setHeader('X-Replayed', '1') : m));
 */
export { type CallbackResult, Correlator } from './correlator.js';
export { ExternalMiddleware, type ExternalMiddlewareOptions } from './external.js';
export {
  type HelperCallback,
  type MessageKind,
  MiddlewareRunner,
  type MiddlewareRunnerOptions,
  parseHexLine,
} from './helper.js';
export { encodeHexLines, formatHexLine, HexLineDecoder, type LineProblem } from './hex-lines.js';
export { HttpMessage } from './http-message.js';
export {
  defineMiddleware,
  type MiddlewareContext,
  type MiddlewareFunction,
  type MiddlewareResult,
  ModuleMiddleware,
} from './module.js';
