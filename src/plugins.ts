/**
 * The built-in plugins, in gor's registration order (spec §0): dummy input, stdout, null, raw, tcp, file,
 * http, binary, kafka. Within a kind, instances keep the order their flags were given in.
 *
 * Start-up cost: the CLI reads every plugin's flags to parse the command line, but a run loads only the
 * implementations its flags name. So each plugin is a cheap declaration (`*-flags.ts`) plus a dynamic
 * import on first use (lazyPlugin); a plain file copy then loads about 40 of tapline's modules instead of
 * 200+. The three tiny test plugins (dummy, stdout, null) are imported as they are.
 */
import { lazyPlugin, type PluginDef } from './core/registry.js';
import { dummyInputPlugin } from './inputs/dummy.js';
import { fileInputDecl } from './inputs/file-flags.js';
import { kafkaInputDecl } from './inputs/kafka-flags.js';
import { rawInputDecl } from './inputs/raw/flags.js';
import { tcpInputDecl } from './inputs/tcp-flags.js';
import { binaryOutputDecl } from './outputs/binary-flags.js';
import { elasticsearchOutputDecl } from './outputs/elasticsearch-flags.js';
import { fileOutputDecl } from './outputs/file-flags.js';
import { httpOutputDecl } from './outputs/http-flags.js';
import { kafkaOutputDecl } from './outputs/kafka-flags.js';
import { nullOutputPlugin } from './outputs/null.js';
import { stdoutOutputPlugin } from './outputs/stdout.js';
import { tcpOutputDecl } from './outputs/tcp-flags.js';
import { wsOutputDecl } from './outputs/ws-flags.js';

export const builtinPlugins: readonly PluginDef[] = [
  dummyInputPlugin,
  stdoutOutputPlugin,
  nullOutputPlugin,
  lazyPlugin(rawInputDecl, async () => (await import('./inputs/raw/plugin.js')).rawInputPlugin),
  lazyPlugin(tcpInputDecl, async () => (await import('./inputs/tcp.js')).tcpInputPlugin),
  lazyPlugin(tcpOutputDecl, async () => (await import('./outputs/tcp.js')).tcpOutputPlugin),
  lazyPlugin(wsOutputDecl, async () => (await import('./outputs/ws.js')).wsOutputPlugin),
  lazyPlugin(fileInputDecl, async () => (await import('./inputs/file.js')).fileInputPlugin),
  lazyPlugin(fileOutputDecl, async () => (await import('./outputs/file.js')).fileOutputPlugin),
  lazyPlugin(httpOutputDecl, async () => (await import('./outputs/http.js')).httpOutputPlugin),
  lazyPlugin(
    elasticsearchOutputDecl,
    async () => (await import('./outputs/elasticsearch.js')).elasticsearchOutputPlugin,
  ),
  lazyPlugin(binaryOutputDecl, async () => (await import('./outputs/binary.js')).binaryOutputPlugin),
  lazyPlugin(kafkaOutputDecl, async () => (await import('./outputs/kafka.js')).kafkaOutputPlugin),
  lazyPlugin(kafkaInputDecl, async () => (await import('./inputs/kafka.js')).kafkaInputPlugin),
];
